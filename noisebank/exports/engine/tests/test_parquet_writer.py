import io
import math
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from noisebank.exports.engine.tests.data import (
    COLUMNS,
    NASTY_ROWS,
    check_golden,
    parquet_dump,
    read_parquet,
)
from noisebank.exports.engine.writers import Row, WriterOptions
from noisebank.exports.engine.writers.parquet import ParquetWriter

GOLDEN_ROWS = [r for r in NASTY_ROWS if r[0] != 0]


def write(rows: list[Row], **options: Any) -> bytes:
    return b"".join(ParquetWriter().stream(COLUMNS, iter(rows), WriterOptions(**options)))


def test_parquet_matches_its_golden_dump() -> None:
    check_golden("nasty.parquet.txt", parquet_dump(write(GOLDEN_ROWS)))


def test_columns_have_real_types_and_carry_label_unit_and_description() -> None:
    schema = pq.read_schema(io.BytesIO(write(GOLDEN_ROWS)))
    assert [f.type for f in schema] == [
        pa.int64(),
        pa.string(),
        pa.float64(),
        pa.bool_(),
        pa.timestamp("us", tz="UTC"),
        pa.string(),
    ]
    level = schema.field("level")
    assert level.metadata == {b"label": b"Level", b"unit": b"dB", b"description": b""}
    assert schema.field("note").metadata[b"description"] == b"free text"


def test_each_batch_becomes_a_row_group() -> None:
    rows = [(n, "x", n / 3, True, None, None) for n in range(10)]
    data = write(rows, row_group_rows=3)
    assert pq.ParquetFile(io.BytesIO(data)).metadata.num_row_groups == 4
    assert read_parquet(data) == rows


def test_non_finite_floats_are_kept() -> None:
    levels = [r[2] for r in read_parquet(write(GOLDEN_ROWS))]
    assert math.isnan(levels[7]) and levels[8] == math.inf and levels[9] == -math.inf


def test_zero_rows_keep_the_schema() -> None:
    table = pq.read_table(io.BytesIO(write([])))
    assert table.num_rows == 0 and table.column_names == [c.name for c in COLUMNS]
