"""XLSX through xlsxwriter (`constant_memory`): the long-trusted fallback for `xlsx`.

Same workbook as `xlsx.py` (same cells, replacements, sheet split; see there) except that floats
keep 16 significant digits (xlsxwriter's `%.16g`; Excel shows 15) and a CR in text is written
as OOXML's `_x000D_`. xlsxwriter can only finish a workbook into a file: it is built in a
temporary file on disk (flat memory) and streamed from there, so the first byte leaves only when
the last row is written, and it is about five times slower. It serves `xlsx` only if the
streaming writer is taken out of the registry.
"""

import math
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from importlib.util import find_spec
from typing import Any

from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.writers import Row, WriterOptions
from noisebank.exports.engine.writers.xlsx import (
    _ILLEGAL_XML,
    MAX_CELL_CHARS,
    REPLACEMENT,
    XLSX_ALTERATIONS,
    header_label,
    sheet_name,
)

COPY_CHUNK = 1 << 20


def spreadsheet_text(value: str) -> str:
    """XML-illegal characters replaced, Excel's length limit."""
    if _ILLEGAL_XML.search(value):
        value = _ILLEGAL_XML.sub(REPLACEMENT, value)
    return value[:MAX_CELL_CHARS]


class XlsxWriterFallback:
    format = "xlsx"
    extension = "xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def is_available(self) -> bool:
        return find_spec("xlsxwriter") is not None

    def alterations(self, options: WriterOptions) -> list[str]:
        return [
            *XLSX_ALTERATIONS,
            "float: 16 significant digits",
            "text: a CR is written as _x000D_, which Excel reads as a CR and openpyxl does not",
        ]

    def stream(
        self, columns: Sequence[Column], rows: Iterable[Row], options: WriterOptions
    ) -> Iterator[bytes]:
        import xlsxwriter

        with tempfile.TemporaryFile(prefix="noisebank-xlsx-") as out:
            book = xlsxwriter.Workbook(
                out,
                {
                    "constant_memory": True,
                    "strings_to_numbers": False,
                    "strings_to_formulas": False,
                    "strings_to_urls": False,
                },
            )
            # A 1,000,000-row sheet passes 2 GiB of XML: xlsxwriter then needs Zip64 (its docs
            # warn Excel may offer to repair such a file; xlsx.py splits sheets instead).
            book.use_zip64()
            when = (options.timestamp or datetime.now(UTC)).astimezone(UTC)
            book.set_properties({"created": when.replace(tzinfo=None)})
            bold = book.add_format({"bold": True})
            date_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
            writers = [_cell_writer(c, date_format) for c in columns]
            labels = [header_label(c) for c in columns]

            sheet: Any = None
            sheets = 0
            row_number = options.sheet_rows
            for row in rows:
                if row_number == options.sheet_rows:
                    sheets += 1
                    sheet = book.add_worksheet(sheet_name(sheets))
                    sheet.freeze_panes(1, 0)
                    sheet.write_row(0, 0, labels, bold)
                    row_number = 0
                row_number += 1
                for col, (write, value) in enumerate(zip(writers, row, strict=True)):
                    if value is not None:
                        write(sheet, row_number, col, value)
            if sheets == 0:
                sheet = book.add_worksheet(sheet_name(1))
                sheet.freeze_panes(1, 0)
                sheet.write_row(0, 0, labels, bold)
            book.close()
            out.seek(0)
            while block := out.read(COPY_CHUNK):
                yield block


def _cell_writer(column: Column, date_format: Any) -> Callable[[Any, int, int, Any], None]:
    if column.type == "text":
        return lambda s, r, c, v: s.write_string(r, c, spreadsheet_text(v))
    if column.type == "datetime":
        return lambda s, r, c, v: s.write_datetime(r, c, _naive_utc(v), date_format)
    if column.type == "boolean":
        return lambda s, r, c, v: s.write_boolean(r, c, v)

    def number(sheet: Any, r: int, c: int, value: float) -> None:
        if math.isfinite(value):
            sheet.write_number(r, c, value)

    return number


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value
