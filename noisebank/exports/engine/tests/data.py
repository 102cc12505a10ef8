"""Rows that break careless writers, how each format reads back, and golden-file helpers."""

import csv
import io
import json
import math
import os
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.writers import Row
from noisebank.exports.engine.writers.parquet import ARROW_TYPES

GOLDEN = Path(__file__).parent / "golden"
FIXED_TIME = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)

COLUMNS = [
    Column("id", "Id", "integer"),
    Column("note", "Note", "text", description="free text"),
    Column("level", "Level", "float", "dB"),
    Column("ok", "OK", "boolean"),
    Column("recorded_at", "Recorded at", "datetime"),
    Column("place", "Place", "text"),
]

MIDNIGHT = datetime(2026, 1, 1, tzinfo=UTC)
PRECISE = datetime(2025, 6, 30, 23, 59, 59, 123456, tzinfo=UTC)

NASTY_ROWS: list[Row] = [
    (1, None, None, None, None, None),
    (2, "", 0.0, False, MIDNIGHT, ""),
    (3, "Zoë Müller", -3.5, True, PRECISE, "Île-de-France"),
    (4, "中文, with a comma", 1e300, True, MIDNIGHT + timedelta(days=1), 'say "hi"'),
    (5, "line1\nline2\r\nline3\rend", 5e-324, False, PRECISE, "tab\tinside"),
    (6, "=SUM(A1)", -0.0, True, PRECISE, "+233"),
    (7, "-3 dB", 123456789012345.6, False, PRECISE, "@x"),
    (8, "\tleading tab", float("nan"), True, PRECISE, "\rleading CR"),
    (9, "  spaces  ", float("inf"), False, PRECISE, "None"),
    (10, "NaN", float("-inf"), True, PRECISE, 'a:NaN,"level":NaN'),
    (-9_007_199_254_740_991, "bell\x07char", 1e15, False, PRECISE, "<tag> & </tag>"),
    (0, "x" * 40_000, 0.1 + 0.2, None, PRECISE, "-"),
    (12, "1.0", 1.0, True, PRECISE, "0"),
]


# --- read back: each returns rows of Python values in the COLUMNS' types -----------------------


def read_csv(data: bytes, columns: list[Column] = COLUMNS) -> list[Row]:
    """With pyarrow, which (unlike Python's csv) tells an unquoted empty field (NULL) from ""."""
    types = {c.name: ARROW_TYPES[c.type] for c in columns}
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(use_threads=False),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["true"],
            false_values=["false"],
        ),
    )
    assert table.column_names == [c.name for c in columns]
    return [tuple(r.values()) for r in table.to_pylist()]


def read_csv_plain(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(data: bytes) -> list[Row]:
    """All sheets' data rows, headers checked to be the same on every sheet."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    rows: list[Row] = []
    header = None
    for sheet in book.worksheets:
        values = list(sheet.iter_rows(values_only=True))
        header = header or values[0]
        assert values[0] == header
        rows += values[1:]
    return [tuple(_utc(v) for v in row) for row in rows]


def read_xlsx_unescaped(data: bytes) -> list[Row]:
    """As read_xlsx, decoding OOXML's `_x000D_` escapes (xlsxwriter writes a CR so; Excel and
    calamine decode it, openpyxl does not)."""
    return [
        tuple(
            re.sub(r"_x([0-9A-F]{4})_", lambda m: chr(int(m[1], 16)), v)
            if isinstance(v, str)
            else v
            for v in row
        )
        for row in read_xlsx(data)
    ]


def _utc(value: Any) -> Any:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) else value


def read_parquet(data: bytes) -> list[Row]:
    return [tuple(r.values()) for r in pq.read_table(io.BytesIO(data)).to_pylist()]


def read_jsonl(data: bytes, columns: list[Column] = COLUMNS) -> list[Row]:
    return [json_row(json.loads(line), columns) for line in data.decode().splitlines()]


def read_geojson(data: bytes, columns: list[Column] = COLUMNS) -> list[Row]:
    """The features' properties as rows (JSON Lines' rules); geometries are checked apart."""
    collection = json.loads(data)
    assert collection["type"] == "FeatureCollection"
    assert all(f["type"] == "Feature" for f in collection["features"])
    return [json_row(f["properties"], columns) for f in collection["features"]]


def json_row(obj: dict[str, Any], columns: list[Column]) -> Row:
    assert list(obj) == [c.name for c in columns]
    return tuple(
        datetime.fromisoformat(v) if c.type == "datetime" and v is not None else v
        for c, v in zip(columns, obj.values(), strict=True)
    )


# --- the documented transformations -----------------------------------------------------------


def as_xlsx(rows: list[Row], columns: list[Column] = COLUMNS) -> list[Row]:
    from noisebank.exports.engine.writers.xlsx_xlsxwriter import spreadsheet_text

    def cell(column: Column, value: Any) -> Any:
        if value is None:
            return None
        if column.type == "text":
            return spreadsheet_text(value)
        if column.type == "float" and not math.isfinite(value):
            return None
        if column.type == "datetime":  # Excel keeps milliseconds
            return value.replace(microsecond=round(value.microsecond, -3))
        return value

    return [tuple(cell(c, v) for c, v in zip(columns, row, strict=True)) for row in rows]


def as_json(rows: list[Row], columns: list[Column] = COLUMNS) -> list[Row]:
    return [
        tuple(
            None if c.type == "float" and v is not None and not math.isfinite(v) else v
            for c, v in zip(columns, row, strict=True)
        )
        for row in rows
    ]


def assert_same_rows(got: list[Row], expected: list[Row], strict_types: bool = True) -> None:
    """Equal row by row, NaN equal to NaN; with strict_types off a number may come back as an
    int or a float and to 16 significant digits (xlsxwriter writes 0.0 as 0, floats as %.16g)."""
    assert len(got) == len(expected)
    for n, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert len(g) == len(e), f"row {n}"
        for i, (a, b) in enumerate(zip(g, e, strict=True)):
            if isinstance(b, float) and math.isnan(b):
                assert isinstance(a, float) and math.isnan(a), f"row {n} col {i}: {a!r} != nan"
            else:
                same_type = type(a) is type(b) or (
                    not strict_types and {type(a), type(b)} <= {int, float}
                )
                close = a == b or (
                    not strict_types and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-15)
                )
                assert close and same_type, f"row {n} col {i}: {a!r} != {b!r}"


# --- golden files ------------------------------------------------------------------------------


def zip_dump(data: bytes) -> bytes:
    """A zip as text: each member's name, time, compression and content (binary as a digest),
    so a golden file does not depend on the zlib build that deflated it."""
    import hashlib

    out = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            content = archive.read(info)
            kind = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
            head = f"== {info.filename} {info.date_time} {kind[info.compress_type]} {len(content)}"
            if info.filename.endswith((".xml", ".rels", ".json", ".csv")):
                body = content.decode()
            else:
                body = "sha256 " + hashlib.sha256(content).hexdigest()
            out.append(f"{head}\n{body}\n")
    return "".join(out).encode()


def parquet_dump(data: bytes) -> bytes:
    file = pq.ParquetFile(io.BytesIO(data))
    table = file.read()
    lines = [str(table.schema), f"row groups: {file.metadata.num_row_groups}"]
    lines += [repr(row) for row in table.to_pylist()]
    return ("\n".join(lines) + "\n").encode()


def check_golden(name: str, data: bytes) -> None:
    """Compare with golden/NAME; NOISEBANK_UPDATE_GOLDEN=1 rewrites it (review the diff)."""
    path = GOLDEN / name
    if os.environ.get("NOISEBANK_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"no golden file {path}: run with NOISEBANK_UPDATE_GOLDEN=1"
    assert data == path.read_bytes(), f"output differs from {path}"
