from typing import Any

import pytest
from django.db import connection

from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.tests.data import (
    COLUMNS,
    NASTY_ROWS,
    check_golden,
    read_csv,
    read_csv_plain,
)
from noisebank.exports.engine.writers import Row, WriterOptions
from noisebank.exports.engine.writers.csv import CsvWriter, format_float

GOLDEN_ROWS = [r for r in NASTY_ROWS if r[0] != 0]  # all but the 40,000-character text


def write(rows: list[Row], columns: list[Column] = COLUMNS, **options: Any) -> bytes:
    return b"".join(CsvWriter().stream(columns, iter(rows), WriterOptions(**options)))


def test_csv_matches_its_golden_file() -> None:
    check_golden("nasty.csv", write(GOLDEN_ROWS))


def test_header_is_the_column_names_and_lines_end_in_crlf() -> None:
    data = write([(1, "a", 1.5, True, None, "b")])
    assert data == b"id,note,level,ok,recorded_at,place\r\n1,a,1.5,true,,b\r\n"


def test_null_is_nothing_and_empty_text_is_two_quotes() -> None:
    data = write([(1, None, None, None, None, ""), (2, "", 0.0, False, None, None)])
    assert data.split(b"\r\n")[1:] == [b'1,,,,,""', b'2,"",0,false,,', b""]


def test_bom_on_request_only() -> None:
    assert write([], bom=True) == b"\xef\xbb\xbfid,note,level,ok,recorded_at,place\r\n"
    assert write([]).startswith(b"id,")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.1, "0.1"),
        (1.0, "1"),
        (-0.0, "-0"),
        (100.0, "100"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e-05, "1e-05"),
        (0.0001, "0.0001"),
        (123456789012345.6, "123456789012345.6"),
        (1e15, "1e+15"),
        (-1234567890123456.5, "-1.2345678901234565e+15"),
        (1e16, "1e+16"),
        (1e22, "1e+22"),
        (5e-324, "5e-324"),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_floats_are_spelt_as_postgresql_spells_float8(value: float, text: str) -> None:
    assert format_float(value) == text
    assert float(text) == value or value != value


def test_datetimes_are_iso_utc_with_z_and_microseconds_only_when_there_are_any() -> None:
    lines = write([r for r in NASTY_ROWS if r[0] in (2, 3)]).decode().split("\r\n")
    assert lines[1].split(",")[4] == "2026-01-01T00:00:00Z"
    assert lines[2].split(",")[4] == "2025-06-30T23:59:59.123456Z"


def test_one_column_tells_null_from_empty_too() -> None:
    columns = [Column("note", "Note", "text")]
    data = write([(None,), ("",), ("a,b",), ("x",)], columns)
    assert data == b'note\r\n\r\n""\r\n"a,b"\r\nx\r\n'


def test_nul_characters_are_dropped_and_the_rest_kept() -> None:
    data = write([(1, "a\x00b", None, None, None, ""), (2, "", None, None, None, "\x00")])
    assert read_csv(data) == [(1, "ab", None, None, None, ""), (2, "", None, None, None, "")]


def test_rows_quoted_with_line_breaks_parse_back_with_the_csv_module() -> None:
    rows = read_csv_plain(write(GOLDEN_ROWS))
    assert rows[0] == [c.name for c in COLUMNS]
    assert rows[5][1] == "line1\nline2\r\nline3\rend"
    assert rows[4][5] == 'say "hi"'


def _copy(sql: str) -> bytes:
    raw = connection.connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        return b"".join(bytes(block) for block in copy)


@pytest.mark.django_db
def test_values_are_the_bytes_postgresql_copy_writes() -> None:
    """The COPY path must produce this writer's bytes: check floats, text quoting and NULL
    against the real server (PostgreSQL writes LF where this file has CRLF)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: in the PostgreSQL pass (TEST_DATABASE_URL)")
    floats = [0.1, 1.0, -0.0, 1e15, -1234567890123456.5, 1e16, 1e-05, 5e-324, 0.1 + 0.2]
    floats += [123456789012345.6, 1.7976931348623157e308, 2.5e-7, 42.0, -7.25]
    texts = ["", "a,b", 'say "hi"', "x\ny", "x\ry", " lead", "trail ", "\tTab", "\\.", "Zoë"]
    columns = [Column("f", "f", "float"), Column("t", "t", "text")]
    for value in [*floats, float("nan"), float("inf"), float("-inf")]:
        ours = write([(value, "x")], columns).split(b"\r\n")[1]
        theirs = _copy(f"COPY (SELECT '{value!r}'::float8, 'x') TO STDOUT (FORMAT csv)")
        assert ours + b"\n" == theirs, value
    for text in [*texts, None]:
        ours = write([(1.5, text)], columns).split(b"\r\n", 1)[1][:-2]
        literal = "NULL" if text is None else "'" + text.replace("'", "''") + "'"
        theirs = _copy(f"COPY (SELECT 1.5::float8, {literal}::text) TO STDOUT (FORMAT csv)")
        assert ours + b"\n" == theirs, text
