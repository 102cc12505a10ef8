"""XLSX written as it streams: the sheet XML is produced here and deflated into a zip on the fly,
so the first bytes leave at once and memory stays flat whatever the row count.

What a reader of the workbook gets:

- a header row (bold, frozen) of column names; datetime columns say `(UTC)`: `recorded_at (UTC)`;
- numbers as numbers (integers are exact up to 2**53, as everywhere in Excel);
- datetimes as real Excel dates in UTC (`yyyy-mm-dd hh:mm:ss`), to the millisecond (Excel
  keeps days as a float);
- booleans as Excel booleans; NULL as an empty cell; NaN and ±infinity, which Excel cannot hold,
  as empty cells too;
- text as string cells, exactly as stored (a string cell is never run as a formula, whatever it
  starts with, so `=HYPERLINK(…)` is read back as that text), except what XLSX cannot hold:
  - characters XML 1.0 cannot carry (control characters other than tab, LF and CR; U+FFFE,
    U+FFFF) become U+FFFD, the Unicode replacement character;
  - text longer than 32,767 characters (Excel's limit for a cell) is cut to 32,767;
- a new sheet (`data`, `data 2`, …, each with the header) every 1,048,575 data rows, Excel's
  limit (`WriterOptions.sheet_rows`), or earlier if the sheet's XML would pass 2 GiB (about
  1,000,000 rows of 44 typical columns take 1.3 GB), so that every zip member stays without
  Zip64 extensions, which make Excel offer to "repair" a file.
"""

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pyarrow as pa

from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.writers import Row, WriterOptions
from noisebank.exports.engine.writers.ziparchive import MEMBER_LIMIT, StreamingZip

CHUNK_ROWS = 1_000
MAX_CELL_CHARS = 32_767
EXCEL_EPOCH = 25_569.0  # 1970-01-01 as an Excel serial day number
_UTC_MICROS = pa.timestamp("us", tz="UTC")
REPLACEMENT = "\ufffd"  # for characters XML 1.0 cannot carry
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Style indexes in styles.xml below.
_HEADER_STYLE = 1
_DATETIME_STYLE = 2

_TEXT_OPEN = '<c t="inlineStr"><is><t>'
_TEXT_OPEN_SPACED = '<c t="inlineStr"><is><t xml:space="preserve">'
_TEXT_CLOSE = "</t></is></c>"
_EMPTY_CELL = "<c/>"
_EMPTY_TEXT = '<c t="inlineStr"><is><t></t></is></c>'

# Numbers go into the row template with %r (C speed, shortest round-trip for floats); the few
# values that are not numbers to Excel are then fixed over the whole chunk at once. The
# guards look for a last letter no number ends with (None, nan, inf), one scan each.
_NUMBER_FIXES = (
    ("e</v>", "<c><v>None</v></c>", _EMPTY_CELL),
    ("n</v>", "<c><v>nan</v></c>", _EMPTY_CELL),
    ("f</v>", "<c><v>inf</v></c>", _EMPTY_CELL),
    ("f</v>", "<c><v>-inf</v></c>", _EMPTY_CELL),
    ("n</v>", f'<c s="{_DATETIME_STYLE}"><v>nan</v></c>', _EMPTY_CELL),  # a NULL datetime
)
_BOOL_CELLS = {True: '<c t="b"><v>1</v></c>', False: '<c t="b"><v>0</v></c>', None: _EMPTY_CELL}
_CELL_TEMPLATES = {
    "integer": "<c><v>%r</v></c>",
    "float": "<c><v>%r</v></c>",
    "boolean": "%s",
    "text": "%s",
    "datetime": f'<c s="{_DATETIME_STYLE}"><v>%r</v></c>',
}
# Text cells are remembered per column while a column repeats itself (category, region, …),
# which turns most text cells into one dict lookup; a column of unique values (noise_id) stops
# being remembered after its first chunk.
_CACHE_LIMIT = 4_096


def escape_text(value: str) -> str:
    """The cell text for a value: Excel's length limit, XML escaping."""
    if len(value) > MAX_CELL_CHARS:
        value = value[:MAX_CELL_CHARS]
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    if "\r" in value:  # XML readers turn a raw CR into LF; a character reference survives
        value = value.replace("\r", "&#13;")
    return value


def _text_cell(value: str | None) -> str:
    if value is None:
        return _EMPTY_CELL
    if not value:
        return _EMPTY_TEXT
    text = escape_text(value)
    # Excel trims leading and trailing spaces of text unless told to keep them (the original
    # value's end: an escaped CR ends in ";").
    if text[0] <= " " or value[-1] <= " ":
        return _TEXT_OPEN_SPACED + text + _TEXT_CLOSE
    return _TEXT_OPEN + text + _TEXT_CLOSE


def excel_serial(value: datetime) -> float:
    """Days since Excel's 1900 epoch, in UTC (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp() / 86_400.0 + EXCEL_EPOCH


def excel_serials(values: Sequence[datetime | None]) -> list[float]:
    """excel_serial for a column at once (Arrow and numpy, no Python call a value); NaN for
    NULL."""
    micros = pa.array(values, type=_UTC_MICROS).cast(pa.int64()).to_numpy(zero_copy_only=False)
    result: list[float] = (micros / 86_400_000_000.0 + EXCEL_EPOCH).tolist()
    return result


def header_label(column: Column) -> str:
    return f"{column.name} (UTC)" if column.type == "datetime" else column.name


_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "integer": (int,),
    "float": (float, int),
    "boolean": (bool, int),
    "datetime": (datetime,),
}


def check_types(columns: Sequence[Column], rows: list[Row]) -> None:
    """Numbers go into the XML by their repr, so a Decimal or a numpy float would make a broken
    cell: refuse them on the first rows with an error naming the column."""
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            wanted = _PYTHON_TYPES[column.type]
            if value is not None and (
                not isinstance(value, wanted)
                or (column.type == "integer" and isinstance(value, bool))
                or (column.type == "float" and type(value) not in (float, int))
            ):
                raise TypeError(
                    f"column {column.name} ({column.type}) holds a {type(value).__name__}: "
                    f"{value!r}"
                )


XLSX_ALTERATIONS = [
    "text: characters XML 1.0 cannot carry (control characters other than tab, LF and CR; "
    "U+FFFE, U+FFFF) become U+FFFD",
    f"text: cut to {MAX_CELL_CHARS:,} characters, Excel's limit for a cell",
    "float: NaN and ±Infinity, which Excel cannot hold, are empty cells",
    "datetime: Excel dates without a time zone, in UTC, to the millisecond",
]


class XlsxWriter:
    format = "xlsx"
    extension = "xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def is_available(self) -> bool:
        return True

    def alterations(self, options: WriterOptions) -> list[str]:
        return XLSX_ALTERATIONS

    def stream(
        self, columns: Sequence[Column], rows: Iterable[Row], options: WriterOptions
    ) -> Iterator[bytes]:
        archive = StreamingZip(options.timestamp, compresslevel=1)
        head = _sheet_head(columns)
        rows_xml = _RowFormatter(columns)
        it = iter(rows)
        pending = list(islice(it, CHUNK_ROWS))
        check_types(columns, pending)
        sheets = 0
        while sheets == 0 or pending:
            sheets += 1
            in_sheet, size = 0, len(head) + len(_SHEET_TAIL)
            with archive.open(f"xl/worksheets/sheet{sheets}.xml") as sheet:
                sheet.write(head)
                while pending and in_sheet < options.sheet_rows:
                    take = pending[: options.sheet_rows - in_sheet]
                    data = rows_xml(take)
                    if in_sheet and size + len(data) > MEMBER_LIMIT:
                        break  # the next sheet starts with these rows (formatted again)
                    sheet.write(data)
                    size += len(data)
                    in_sheet += len(take)
                    pending = pending[len(take) :] or list(islice(it, CHUNK_ROWS))
                    yield archive.drain()
                sheet.write(_SHEET_TAIL)
            yield archive.drain()
        with archive.open("xl/sharedStrings.xml") as member:
            for data in rows_xml.shared.xml():
                member.write(data)
                yield archive.drain()
        for name, text in _package_parts(sheets):
            yield archive.add_bytes(name, text.encode())
        yield archive.close()


class SharedStrings:
    """Text that repeats (category, region, …) is stored once in xl/sharedStrings.xml, written
    after the sheets, and its cells refer to it: smaller sheets, less to deflate. Bounded: past
    MAX_STRINGS strings or MAX_CHARS characters, new text goes inline in the cell."""

    MAX_STRINGS = 65_536
    MAX_CHARS = 8_000_000

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.chars = 0

    def cell(self, value: str | None) -> str:
        if not value:
            return _EMPTY_CELL if value is None else _EMPTY_TEXT
        number = self.index.get(value)
        if number is None:
            if len(self.index) >= self.MAX_STRINGS or self.chars + len(value) > self.MAX_CHARS:
                return _text_cell(value)
            number = self.index[value] = len(self.index)
            self.chars += len(value)
        return f'<c t="s"><v>{number}</v></c>'

    def xml(self) -> Iterator[bytes]:
        yield (f'{_XML_HEAD}<sst xmlns="{_MAIN_NS}" uniqueCount="{len(self.index)}">').encode()
        items = []
        for value in self.index:  # in index order: dicts keep insertion order
            text = escape_text(value)
            space = ' xml:space="preserve"' if text[0] <= " " or value[-1] <= " " else ""
            items.append(f"<si><t{space}>{text}</t></si>")
            if len(items) == 1_000:
                yield "".join(items).encode()
                items = []
        items.append("</sst>")
        yield "".join(items).encode()


class _TextCells(dict[str | None, str]):
    """Cell XML by value for one text column, remembered while the column repeats itself."""

    def __init__(self, shared: SharedStrings) -> None:
        super().__init__()
        self.shared = shared

    def __missing__(self, value: str | None) -> str:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        cell = self[value] = self.shared.cell(value)
        return cell


class _RowFormatter:
    def __init__(self, columns: Sequence[Column]) -> None:
        self.template = "<row>" + "".join(_CELL_TEMPLATES[c.type] for c in columns) + "</row>"
        self.shared = SharedStrings()
        self.texts: dict[int, _TextCells | None] = {
            i: _TextCells(self.shared) for i, c in enumerate(columns) if c.type == "text"
        }
        self.datetimes = [i for i, c in enumerate(columns) if c.type == "datetime"]
        self.booleans = [i for i, c in enumerate(columns) if c.type == "boolean"]
        self.numbers = any(c.type in ("integer", "float") for c in columns)

    def __call__(self, chunk: list[Row]) -> bytes:
        cols: list[Iterable[Any]] = list(zip(*chunk, strict=True))
        for i, cache in self.texts.items():
            values: Sequence[str | None] = cols[i]  # type: ignore[assignment]
            # Characters XML cannot carry are rare: look for them in the column's text at once.
            if _ILLEGAL_XML.search("".join(filter(None, values))):
                values = [_ILLEGAL_XML.sub(REPLACEMENT, v) if v else v for v in values]
            if cache is None:  # a column of unique text: inline, not worth remembering
                cols[i] = map(_text_cell, values)
                continue
            cols[i] = list(map(cache.__getitem__, values))
            if len(cache) > len(chunk) // 2:
                self.texts[i] = None
        for i in self.datetimes:
            cols[i] = excel_serials(cols[i])  # type: ignore[arg-type]
        for i in self.booleans:
            cols[i] = map(_BOOL_CELLS.__getitem__, cols[i])
        xml = "".join([self.template % values for values in zip(*cols, strict=True)])
        if self.numbers:
            for guard, bad, good in _NUMBER_FIXES:
                if guard in xml:
                    xml = xml.replace(bad, good)
        return xml.encode()


_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_TAIL = b"</sheetData></worksheet>"


def _sheet_head(columns: Sequence[Column]) -> bytes:
    header = "".join(
        f'<c t="inlineStr" s="{_HEADER_STYLE}"><is><t>{escape(header_label(c))}</t></is></c>'
        for c in columns
    )
    return (
        f'{_XML_HEAD}<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft"/>'
        "</sheetView></sheetViews>"
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"<sheetData><row>{header}</row>"
    ).encode()


def sheet_name(number: int) -> str:
    return "data" if number == 1 else f"data {number}"


_STYLES = (
    f'{_XML_HEAD}<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _package_parts(sheets: int) -> list[tuple[str, str]]:
    """The parts that name the sheets, written after them (readers use the zip directory)."""
    numbers = range(1, sheets + 1)
    sheet_types = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for n in numbers
    )
    content_types = (
        f"{_XML_HEAD}<Types "
        'xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        f"{sheet_types}</Types>"
    )
    root_rels = (
        f'{_XML_HEAD}<Relationships xmlns="{_PKG_REL_NS}">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    )
    sheet_list = "".join(
        f'<sheet name={quoteattr(sheet_name(n))} sheetId="{n}" r:id="rId{n}"/>' for n in numbers
    )
    workbook = (
        f'{_XML_HEAD}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        f"<bookViews><workbookView/></bookViews><sheets>{sheet_list}</sheets></workbook>"
    )
    workbook_rels = (
        f'{_XML_HEAD}<Relationships xmlns="{_PKG_REL_NS}">'
        + "".join(
            f'<Relationship Id="rId{n}" Type="{_REL_NS}/worksheet" '
            f'Target="worksheets/sheet{n}.xml"/>'
            for n in numbers
        )
        + f'<Relationship Id="rId{sheets + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
        + f'<Relationship Id="rId{sheets + 2}" Type="{_REL_NS}/sharedStrings" '
        'Target="sharedStrings.xml"/>'
        "</Relationships>"
    )
    return [
        ("xl/styles.xml", _STYLES),
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", workbook_rels),
        ("_rels/.rels", root_rels),
        ("[Content_Types].xml", content_types),
    ]
