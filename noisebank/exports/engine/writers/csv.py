"""CSV: UTF-8, RFC 4180 quoting, CRLF line ends, optional BOM; values exactly as stored.

NULL, quoting and floats are what PostgreSQL's `COPY … (FORMAT csv, HEADER)` writes (checked
against the server in the tests), so the COPY path gives the same bytes once its query spells
booleans and datetimes as below and its LF record ends become CRLF (COPY ends records with LF;
a CR or LF inside a quoted value stays as it is):

- header: the column names;
- NULL: nothing between the commas; the empty string: `""`;
- text: as is, quoted only when it holds a comma, a double quote, CR or LF (NUL characters,
  which PostgreSQL text cannot hold, are dropped);
- integer: decimal; boolean: `true` / `false`;
- float: PostgreSQL 15's float8 output (shortest text that reads back to the same double):
  `0.1`, `1` (not `1.0`), `-0`, `1e-05`, `1e+15`, `NaN`, `Infinity`, `-Infinity`;
- datetime: ISO 8601 in UTC with a `Z`, with microseconds only when there are any
  (`2026-11-28T12:00:00Z`, `2026-11-28T12:00:00.250000Z`).

With `WriterOptions.excel_safe`, text starting with `=`, `+`, `-`, `@`, a tab or a CR gets a
leading `'` (engine/text.py): asked for by name, never the default on its own.
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import numpy as np

from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.text import excel_safe
from noisebank.exports.engine.writers import Row, WriterOptions

CHUNK_ROWS = 2_000
BOM = b"\xef\xbb\xbf"

# Python 3.11's csv module writes None and "" alike (nothing), and has no QUOTE_NOTNULL: empty
# strings go in as this marker and come out as "" by one replace over the chunk. The marker is
# never quoted by csv (no comma, quote or line break), and a real NUL in the data is caught by
# counting (PostgreSQL text cannot hold NUL at all).
_EMPTY = "\x00"
_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def format_datetime(value: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second unless it has a fraction."""
    text = value.isoformat()
    if text.endswith("+00:00"):
        return text[:-6] + "Z"
    if value.tzinfo is None:  # the row source promises aware UTC; naive is taken as UTC
        return text + "Z"
    return value.astimezone(UTC).isoformat()[:-6] + "Z"


def format_float(value: float) -> str:
    """PostgreSQL 15 float8 text: Python's shortest repr, spelt as PostgreSQL spells it."""
    if -1e15 < value < 1e15:  # False for NaN and the infinities too
        text = repr(value)
        return text[:-2] if text[-2:] == ".0" else text
    text = repr(value)
    if text in _NON_FINITE:
        return _NON_FINITE[text]
    if text[-2:] == ".0":
        text = text[:-2]
    if "e" in text:  # |value| >= 1e16: already `1e+16`, `1.5e+300`
        return text
    # 1e15 <= |value| < 1e16: Python writes it out, PostgreSQL switches to an exponent here.
    sign = "-" if text[0] == "-" else ""
    digits = text.lstrip("-").replace(".", "").rstrip("0")
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e+15"


def format_bool(value: bool) -> str:
    return "true" if value else "false"


# One call per value: these run for every float, datetime and boolean cell of an export.
def _float_cell(value: float | None) -> str | None:
    if value is None:
        return None
    if -1e15 < value < 1e15:
        text = repr(value)
        return text[:-2] if text[-2:] == ".0" else text
    return format_float(value)


def _datetime_cell(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text[-6:] == "+00:00" else format_datetime(value)


def _bool_cell(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


_ROW_CONVERTED = ("datetime", "boolean")  # floats go column-wise: _floats_as_postgresql
_CONVERTERS: dict[str, Callable[[Any], str | None]] = {
    "float": _float_cell,
    "datetime": _datetime_cell,
    "boolean": _bool_cell,
}


class CsvWriter:
    format = "csv"
    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    def is_available(self) -> bool:
        return True

    def alterations(self, options: WriterOptions) -> list[str]:
        notes = ["text: NUL characters are dropped (PostgreSQL cannot store them)"]
        if options.excel_safe:
            notes.append(
                "text starting with =, +, -, @, a tab or a CR: a ' is put in front (excel_safe), "
                "so that a spreadsheet shows it as text instead of running it as a formula"
            )
        return notes

    def stream(
        self, columns: Sequence[Column], rows: Iterable[Row], options: WriterOptions
    ) -> Iterator[bytes]:
        buffer = io.StringIO()
        out = csv.writer(buffer, lineterminator="\r\n")
        out.writerow([c.name for c in columns])
        head = buffer.getvalue().encode()
        yield (BOM + head) if options.bom else head
        if len(columns) == 1:
            # csv writes a lone empty field as "" whatever it was; PostgreSQL writes NULL as an
            # empty line. One column is rare: the simple way is fine.
            yield from _single_column(columns[0], rows, options)
            return
        converters = [
            (i, _CONVERTERS[c.type]) for i, c in enumerate(columns) if c.type in _ROW_CONVERTED
        ]
        floats = [i for i, c in enumerate(columns) if c.type == "float"]
        texts = [i for i, c in enumerate(columns) if c.type == "text"]
        it = iter(rows)
        while chunk := list(islice(it, CHUNK_ROWS)):
            buffer.seek(0)
            buffer.truncate()
            cols: list[Sequence[Any]] = list(zip(*chunk, strict=True))
            for i, convert in converters:
                cols[i] = tuple(map(convert, cols[i]))
            for i in floats:
                cols[i] = _floats_as_postgresql(cols[i])
            empties = 0
            for i in texts:
                if options.excel_safe:
                    cols[i] = tuple(map(excel_safe, cols[i]))
                if "" in cols[i]:
                    empties += cols[i].count("")
                    cols[i] = tuple(_EMPTY if v == "" else v for v in cols[i])
            out.writerows(zip(*cols, strict=True))
            text = buffer.getvalue()
            if empties or _EMPTY in text:
                text = _quote_empties(text, empties, chunk, columns, options)
            yield text.encode()


def _floats_as_postgresql(values: Sequence[float | None]) -> Sequence[float | str | None]:
    """csv writes floats with repr (in C); only the values whose repr PostgreSQL spells
    differently (integral, |x| >= 1e15, NaN, ±inf) are found with numpy and converted here."""
    array = np.array(values, dtype=np.float64)  # None becomes NaN: converted, stays None
    with np.errstate(invalid="ignore"):
        odd = np.flatnonzero(~(np.abs(array) < 1e15) | (array == np.floor(array)))
    if not len(odd):
        return values
    fixed: list[float | str | None] = list(values)
    for j in odd.tolist():
        fixed[j] = _float_cell(values[j])
    return fixed


def _quote_empties(
    text: str, empties: int, chunk: list[Row], columns: Sequence[Column], options: WriterOptions
) -> str:
    if text.count(_EMPTY) == empties:
        return text.replace(_EMPTY, '""')
    # The data itself holds NUL characters, which PostgreSQL text cannot: drop them, as the
    # spreadsheet formats do, and write the chunk again.
    texts = {i for i, c in enumerate(columns) if c.type == "text"}
    clean = [
        tuple(v.replace(_EMPTY, "") if i in texts and v else v for i, v in enumerate(row))
        for row in chunk
    ]
    again = CsvWriter().stream(columns, clean, replace(options, bom=False))
    return b"".join(again).decode().split("\r\n", 1)[1]


def _single_column(column: Column, rows: Iterable[Row], options: WriterOptions) -> Iterator[bytes]:
    convert = _CONVERTERS.get(column.type)
    if column.type == "text" and options.excel_safe:
        convert = excel_safe
    lines = []
    for (value,) in rows:
        if value is None:
            lines.append("")
            continue
        text = convert(value) if convert else str(value)
        assert text is not None
        if column.type == "text":
            text = text.replace(_EMPTY, "")
        if text == "" or any(ch in text for ch in ',"\r\n'):
            text = '"' + text.replace('"', '""') + '"'
        lines.append(text)
        if len(lines) >= CHUNK_ROWS:
            yield ("\r\n".join(lines) + "\r\n").encode()
            lines = []
    if lines:
        yield ("\r\n".join(lines) + "\r\n").encode()
