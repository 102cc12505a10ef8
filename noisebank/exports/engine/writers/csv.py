"""CSV: UTF-8, RFC 4180 quoting, CRLF line ends, optional BOM; values exactly as stored."""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import islice

from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.writers import Row, WriterOptions

CHUNK_ROWS = 2_000


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second unless it has a fraction."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class CsvWriter:
    format = "csv"
    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    def is_available(self) -> bool:
        return True

    def stream(
        self, columns: Sequence[Column], rows: Iterable[Row], options: WriterOptions
    ) -> Iterator[bytes]:
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\r\n")
        out.writerow([c.name for c in columns])
        head = buffer.getvalue().encode()
        yield (b"\xef\xbb\xbf" + head) if options.bom else head
        datetimes = [i for i, c in enumerate(columns) if c.type == "datetime"]
        it = iter(rows)
        while chunk := list(islice(it, CHUNK_ROWS)):
            buffer.seek(0)
            buffer.truncate()
            if datetimes:
                chunk = [_with_iso_dates(row, datetimes) for row in chunk]
            out.writerows(chunk)
            yield buffer.getvalue().encode()


def _with_iso_dates(row: Row, positions: list[int]) -> Row:
    values = list(row)
    for i in positions:
        if values[i] is not None:
            values[i] = format_datetime(values[i])
    return tuple(values)
