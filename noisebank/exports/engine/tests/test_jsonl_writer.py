import json

from noisebank.exports.engine.tests.data import COLUMNS, NASTY_ROWS, check_golden
from noisebank.exports.engine.writers import Row, WriterOptions
from noisebank.exports.engine.writers.jsonl import JsonLinesWriter

GOLDEN_ROWS = [r for r in NASTY_ROWS if r[0] != 0]


def write(rows: list[Row]) -> bytes:
    return b"".join(JsonLinesWriter().stream(COLUMNS, iter(rows), WriterOptions()))


def test_jsonl_matches_its_golden_file() -> None:
    check_golden("nasty.jsonl", write(GOLDEN_ROWS))


def test_one_object_a_line_keys_in_column_order() -> None:
    lines = write(GOLDEN_ROWS[:3]).decode().split("\n")
    assert lines[-1] == "" and len(lines) == 4
    assert lines[0] == '{"id":1,"note":null,"level":null,"ok":null,"recorded_at":null,"place":null}'
    assert json.loads(lines[2])["note"] == "Zoë Müller"
    assert '"recorded_at":"2025-06-30T23:59:59.123456Z"' in lines[2]


def test_non_finite_floats_become_null_and_text_that_looks_like_them_does_not() -> None:
    rows = [json.loads(line) for line in write(GOLDEN_ROWS).splitlines()]
    assert [r["level"] for r in rows[7:10]] == [None, None, None]
    assert rows[9]["note"] == "NaN"
    assert rows[9]["place"] == 'a:NaN,"level":NaN'
