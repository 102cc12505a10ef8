"""What every writer must do: read back to the rows it was given (modulo each format's
documented changes), give a valid file for zero rows, and stream before the rows run out."""

from collections.abc import Callable, Iterator
from itertools import count

import pytest

from noisebank.exports.engine.tests.data import (
    COLUMNS,
    NASTY_ROWS,
    as_json,
    as_xlsx,
    assert_same_rows,
    read_csv,
    read_geojson,
    read_jsonl,
    read_parquet,
    read_xlsx,
    read_xlsx_unescaped,
)
from noisebank.exports.engine.writers import ALL_WRITERS, WRITERS, Row, WriterOptions

ReadBack = Callable[[bytes], list[Row]]
Expect = Callable[[list[Row]], list[Row]]

FORMATS: dict[str, tuple[ReadBack, Expect]] = {
    "csv": (read_csv, list),
    "xlsx": (read_xlsx, as_xlsx),
    "xlsx-xlsxwriter": (read_xlsx_unescaped, as_xlsx),
    "parquet": (read_parquet, list),
    "jsonl": (read_jsonl, as_json),
    "geojson": (read_geojson, as_json),
}


def write(name: str, rows: list[Row], **options: object) -> bytes:
    return b"".join(ALL_WRITERS[name].stream(COLUMNS, iter(rows), WriterOptions(**options)))


def test_every_format_is_served_by_its_first_available_writer() -> None:
    assert set(WRITERS) == {"csv", "xlsx", "parquet", "jsonl", "geojson", "zip"}
    assert WRITERS["xlsx"] is ALL_WRITERS["xlsx"]
    for name, writer in ALL_WRITERS.items():
        assert writer.is_available(), name
        assert name.startswith(writer.format)


@pytest.mark.parametrize("name", FORMATS)
def test_nasty_rows_read_back_as_written(name: str) -> None:
    read_back, expect = FORMATS[name]
    got = read_back(write(name, NASTY_ROWS))
    assert_same_rows(got, expect(NASTY_ROWS), strict_types=name != "xlsx-xlsxwriter")


@pytest.mark.parametrize("name", FORMATS)
def test_zero_rows_make_a_valid_file_with_just_the_header(name: str) -> None:
    read_back, _ = FORMATS[name]
    data = write(name, [])
    if name == "jsonl":
        assert data == b""
    else:
        assert read_back(data) == []


@pytest.mark.parametrize("name", ["csv", "xlsx", "parquet", "jsonl", "geojson", "zip"])
def test_first_bytes_leave_before_the_rows_run_out(name: str) -> None:
    produced = count()
    total = 200_000

    def rows() -> Iterator[Row]:
        for n in range(total):
            next(produced)
            yield (n, "text", 1.5, True, None, None)

    chunks = WRITERS[name].stream(COLUMNS, rows(), WriterOptions(folder_template="{id}.{ext}"))
    first = next(chunk for chunk in chunks if chunk)
    made = next(produced)
    assert first
    assert made < total / 2
    chunks.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("option", ["sheet_rows", "row_group_rows"])
def test_sizes_below_one_are_refused(option: str) -> None:
    with pytest.raises(ValueError, match=f"{option} must be at least 1, not 0"):
        WriterOptions(**{option: 0})
