"""Parquet through pyarrow's ParquetWriter, one row group at a time.

Real types: text -> string, integer -> int64, float -> float64 (NaN and ±infinity kept as
they are), boolean -> bool, datetime -> timestamp[us, tz=UTC]; NULL -> null. Each field carries
the column's label, unit and description as field metadata (`label`, `unit`, `description`).
Row groups of `WriterOptions.row_group_rows` rows (64 Ki) are written as the rows arrive and
their bytes leave at once. Rows are turned into Arrow arrays 8,192 at a time, so memory holds
one row group in Arrow's compact form, not as Python objects. Snappy compression, which every
Parquet reader reads.
"""

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

import pyarrow as pa
import pyarrow.parquet as pq

from noisebank.exports.engine.columns import Column, ColumnType
from noisebank.exports.engine.writers import Row, WriterOptions
from noisebank.exports.engine.writers.sink import ChunkSink

SLICE_ROWS = 8_192

ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    "text": pa.string(),
    "integer": pa.int64(),
    "float": pa.float64(),
    "boolean": pa.bool_(),
    "datetime": pa.timestamp("us", tz="UTC"),
}


def arrow_schema(columns: Sequence[Column]) -> pa.Schema:
    return pa.schema(
        [
            pa.field(
                c.name,
                ARROW_TYPES[c.type],
                metadata={"label": c.label, "unit": c.unit, "description": c.description},
            )
            for c in columns
        ]
    )


class ParquetWriter:
    format = "parquet"
    extension = "parquet"
    content_type = "application/vnd.apache.parquet"

    def is_available(self) -> bool:
        return True

    def alterations(self, options: WriterOptions) -> list[str]:
        return []

    def stream(
        self, columns: Sequence[Column], rows: Iterable[Row], options: WriterOptions
    ) -> Iterator[bytes]:
        schema = arrow_schema(columns)
        sink = ChunkSink()
        writer = pq.ParquetWriter(sink, schema, compression="snappy")
        try:
            yield sink.drain()
            for batches in _row_groups(schema, iter(rows), options.row_group_rows):
                table = pa.Table.from_batches(batches, schema=schema)
                writer.write_table(table, row_group_size=table.num_rows)
                del table, batches
                yield sink.drain()
        finally:
            writer.close()
        yield sink.drain()


def _row_groups(
    schema: pa.Schema, rows: Iterator[Row], group_rows: int
) -> Iterator[list[pa.RecordBatch]]:
    """Record batches making one row group each time, built a slice of rows at a time."""
    batches: list[pa.RecordBatch] = []
    held = 0
    while chunk := list(islice(rows, min(SLICE_ROWS, group_rows - held))):
        arrays = [
            pa.array(values, type=field.type)
            for values, field in zip(zip(*chunk, strict=True), schema, strict=True)
        ]
        batches.append(pa.record_batch(arrays, schema=schema))
        held += len(chunk)
        if held == group_rows:
            yield batches
            batches, held = [], 0
    if batches:
        yield batches
