"""Every format gives back exactly the stored values, read by the tools researchers use.

Hostile text (formulas, `@ + - tab CR` starts, quotes, line breaks, control characters, NUL
where the database can hold it) goes out through the real download endpoint and comes back
through pyarrow, openpyxl, json, pandas and, where installed, LibreOffice. The only differences
allowed are the ones each format documents in the manifest's `alterations`.
"""

import io
import json
import math
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from noisebank.catalog import models as m
from noisebank.exports.engine.text import FORMULA_START
from noisebank.exports.engine.writers.xlsx import REPLACEMENT
from noisebank.testing import make_recording

HOSTILE = [
    '=HYPERLINK("http://example.com","click")',
    "=1+1",
    "+41 79 000 00 00",
    "-3 dB drop",
    "@SUM(A1:A9)",
    "\tTab first",
    "\rCR first",
    'Quote "inside", and a comma',
    "Line one\nline two\r\nline three\rend",
    "  padded  ",
    "bell\x07 escape\x1b delete\x7f vertical\x0b",
    "Zürich HB — 東京 🚆",
    "\\.",
    "'already quoted",
    "",
]
# PostgreSQL text cannot hold NUL at all; SQLite can, and CSV drops it (documented).
NUL_TEXT = "nul\x00inside"
COLUMNS = "noise_id,name,description,recording_date,audio_size,laeq"
XML_ILLEGAL = {"\x07", "\x1b", "\x0b", "\x00"}

# Exports read their own snapshot on a connection of their own: the rows must be committed.
pytestmark = pytest.mark.usefixtures("transactional_db")


@pytest.fixture
def stored(alice: User) -> list[m.Recording]:
    texts = [*HOSTILE, NUL_TEXT] if connection.vendor == "sqlite" else HOSTILE
    recs = [
        make_recording(
            collector=alice,
            name=text,
            description=texts[-1 - i],
            recorded_at=datetime(2026, 1, 2, 3, 4, 5, 678_000 * (i % 2), tzinfo=UTC),
            analysis={"laeq": -12.5 + i / 3},
            size_bytes=2**40 + i,
        )
        for i, text in enumerate(texts)
    ]
    recs.append(make_recording(collector=alice, name="no time, no level", with_measurements=False))
    m.Recording.objects.filter(pk=recs[-1].pk).update(description="", size_bytes=None)
    return list(m.Recording.objects.select_related("analysis").order_by("id"))


def download(client: Client, fmt: str, **params: str) -> tuple[bytes, dict[str, Any]]:
    response = client.get(f"/api/v1/recordings/export.{fmt}", {"columns": COLUMNS, **params})
    assert response.status_code == 200, response.content
    manifest = json.loads(response["X-Noisebank-Manifest"])
    return b"".join(response.streaming_content), manifest  # type: ignore[attr-defined]


def level(rec: m.Recording) -> float | None:
    analysis = getattr(rec, "analysis", None)
    return analysis.laeq if analysis is not None else None


def expected(recs: list[m.Recording], text: Any = lambda t: t) -> list[tuple[Any, ...]]:
    return [
        (
            r.noise_id,
            text(r.name),
            text(r.description),
            r.recorded_at,
            r.size_bytes,
            level(r),
        )
        for r in recs
    ]


def xlsx_text(value: str) -> str:
    return "".join(REPLACEMENT if ch in XML_ILLEGAL else ch for ch in value)


def with_quote(value: str | None) -> str | None:
    return "'" + value if value and value[0] in FORMULA_START else value


def read_csv_exactly(data: bytes) -> list[tuple[Any, ...]]:
    """pyarrow tells a NULL (nothing) from an empty text ("")."""
    table = pacsv.read_csv(
        io.BytesIO(data),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={
                "noise_id": pa.string(),
                "name": pa.string(),
                "description": pa.string(),
                "recording_date": pa.timestamp("us", tz="UTC"),
                "audio_size": pa.int64(),
                "laeq": pa.float64(),
            },
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return [tuple(row.values()) for row in table.to_pylist()]


def test_csv_gives_back_every_stored_text_exactly(
    alice_client: Client, stored: list[m.Recording]
) -> None:
    data, manifest = download(alice_client, "csv")
    assert read_csv_exactly(data) == expected(stored, lambda t: t and t.replace("\x00", ""))
    assert manifest["options"] == {"bom": False, "excel_safe": False}
    assert manifest["alterations"] == [
        "text: NUL characters are dropped (PostgreSQL cannot store them)"
    ]


def test_excel_safe_csv_quotes_formula_starts_and_says_so(
    alice_client: Client, stored: list[m.Recording]
) -> None:
    data, manifest = download(alice_client, "csv", bom="1")
    assert data.startswith(b"\xef\xbb\xbf")
    got = read_csv_exactly(data[3:])
    assert got == expected(stored, lambda t: with_quote(t and t.replace("\x00", "")))
    assert got[0][1] == '\'=HYPERLINK("http://example.com","click")'
    assert manifest["options"] == {"bom": True, "excel_safe": True}
    assert any("excel_safe" in note for note in manifest["alterations"])


def test_the_bom_without_the_protection_is_exact(
    alice_client: Client, stored: list[m.Recording]
) -> None:
    data, manifest = download(alice_client, "csv", bom="1", excel_safe="0")
    assert read_csv_exactly(data[3:]) == expected(stored, lambda t: t and t.replace("\x00", ""))
    assert manifest["options"] == {"bom": True, "excel_safe": False}


def test_xlsx_gives_back_text_as_string_cells_never_escaped(
    alice_client: Client, stored: list[m.Recording]
) -> None:
    data, manifest = download(alice_client, "xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=2))
    text_cells = [c for row in rows for c in row[1:3] if c.value is not None]
    assert text_cells and all(c.data_type == "s" for c in text_cells)  # never a formula
    got = [
        (
            n.value,
            name.value,
            desc.value,
            when.value and when.value.replace(tzinfo=UTC),
            size.value,
            laeq.value,
        )
        for n, name, desc, when, size, laeq in rows
    ]
    assert got == expected(stored, lambda t: None if t is None else xlsx_text(t))
    assert any("U+FFFD" in note for note in manifest["alterations"])


def test_parquet_and_json_lines_give_back_every_value_exactly(
    alice_client: Client, stored: list[m.Recording]
) -> None:
    data, manifest = download(alice_client, "parquet")
    table = pq.read_table(io.BytesIO(data))
    assert [tuple(r.values()) for r in table.to_pylist()] == expected(stored)
    assert manifest["alterations"] == []

    data, manifest = download(alice_client, "jsonl")
    lines = [json.loads(line) for line in data.decode().splitlines()]
    got = [
        tuple(
            datetime.fromisoformat(v.replace("Z", "+00:00")) if k == "recording_date" and v else v
            for k, v in line.items()
        )
        for line in lines
    ]
    assert got == expected(stored)
    assert data.decode().isascii() is False  # non-ASCII text is written as is, not escaped


def test_geojson_gives_back_every_value_exactly_and_each_recordings_point(
    alice_client: Client, stored: list[m.Recording]
) -> None:
    located = stored[:4]
    for i, rec in enumerate(located):
        rec.latitude, rec.longitude = (5.549 + i / 7, -0.203 - i / 3) if i else (90.0, -180.0)
        rec.save(update_fields=["latitude", "longitude"])
    m.Recording.objects.filter(pk=stored[4].pk).update(latitude=47.378)  # no longitude

    data, manifest = download(alice_client, "geojson")
    collection = json.loads(data)
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert len(features) == len(stored) == manifest["row_count"]
    got = [
        tuple(
            datetime.fromisoformat(v.replace("Z", "+00:00")) if k == "recording_date" and v else v
            for k, v in feature["properties"].items()
        )
        for feature in features
    ]
    assert got == expected(stored)  # latitude and longitude were not asked for: not properties
    assert [f["geometry"] for f in features] == [
        {"type": "Point", "coordinates": [r.longitude, r.latitude]} for r in located
    ] + [None] * (len(stored) - len(located))
    assert manifest["columns"] == COLUMNS.split(",")
    assert manifest["alterations"] == ["float: NaN and ±Infinity, which JSON cannot hold, are null"]


def test_geojson_streams_with_its_media_type_and_extension(
    alice_client: Client, stored: list[m.Recording]
) -> None:
    response = alice_client.get("/api/v1/recordings/export.geojson", {"columns": "latitude"})
    assert response["Content-Type"] == "application/geo+json"
    assert response["Content-Disposition"].endswith('.geojson"')
    assert response["X-Row-Count"] == str(len(stored))
    body = json.loads(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert [f["properties"] for f in body["features"]] == [{"latitude": None}] * len(stored)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet", "jsonl"])
def test_pandas_reads_numbers_as_numbers_times_as_utc_and_the_texts(
    alice_client: Client, stored: list[m.Recording], fmt: str
) -> None:
    data, _ = download(alice_client, fmt)
    source = io.BytesIO(data)
    if fmt == "csv":
        frame = pd.read_csv(source, keep_default_na=False, na_values=[""])
        frame["recording_date"] = pd.to_datetime(
            frame["recording_date"], utc=True, format="ISO8601"
        )
    elif fmt == "xlsx":
        frame = pd.read_excel(source, engine="openpyxl")
        frame = frame.rename(columns={"recording_date (UTC)": "recording_date"})
        frame["recording_date"] = frame["recording_date"].dt.tz_localize("UTC")
    elif fmt == "parquet":
        frame = pd.read_parquet(source)
    else:
        frame = pd.read_json(source, lines=True, dtype=False)
        frame["recording_date"] = pd.to_datetime(
            frame["recording_date"], utc=True, format="ISO8601"
        )
    assert frame["laeq"].dtype == "float64"
    assert frame["audio_size"].dropna().map(float.is_integer if fmt != "parquet" else bool).all()
    assert list(frame["audio_size"].dropna().astype("int64")) == [
        r.size_bytes for r in stored if r.size_bytes is not None
    ]
    when = [None if pd.isna(t) else t.to_pydatetime() for t in frame["recording_date"]]
    assert when == [r.recorded_at for r in stored]
    # pandas may read "" as NaN (CSV) or "" (the others); other text is exact.
    names = [
        None if v == "" or (isinstance(v, float) and math.isnan(v)) else v for v in frame["name"]
    ]
    clean = {"xlsx": xlsx_text, "csv": lambda t: t.replace("\x00", "")}.get(fmt, str)
    assert names == [clean(r.name) if r.name else None for r in stored]


needs_libreoffice = pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice is not installed (apt-get install libreoffice-calc-nogui)",
)


def libreoffice(source: Path, target: str, tmp_path: Path) -> Path:
    """Open `source` in LibreOffice and save it as `target` (an extension), as a user would."""
    out = tmp_path / "out"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return out / f"{source.stem}.{target}"


@needs_libreoffice
def test_libreoffice_reads_the_xlsx_text_as_text(
    alice_client: Client, stored: list[m.Recording], tmp_path: Path
) -> None:
    data, _ = download(alice_client, "xlsx")
    (tmp_path / "export.xlsx").write_bytes(data)
    resaved = openpyxl.load_workbook(libreoffice(tmp_path / "export.xlsx", "xlsx", tmp_path))
    sheet = resaved.active
    assert sheet is not None
    rows = list(sheet.iter_rows(min_row=2, max_col=2))
    assert all(name.data_type == "s" for _, name in rows if name.value is not None)
    by_id = {n.value: name.value for n, name in rows}
    for rec in stored:
        if rec.name and "\r" not in rec.name:  # LibreOffice turns a CR into a line feed
            assert by_id[rec.noise_id] == xlsx_text(rec.name)


@needs_libreoffice
@pytest.mark.parametrize("excel_safe", ["0", "1"])
def test_libreoffice_runs_formulas_from_an_exact_csv_but_not_from_an_excel_safe_one(
    alice_client: Client, stored: list[m.Recording], tmp_path: Path, excel_safe: str
) -> None:
    data, _ = download(alice_client, "csv", excel_safe=excel_safe)
    (tmp_path / "export.csv").write_bytes(data)
    sheet = openpyxl.load_workbook(libreoffice(tmp_path / "export.csv", "xlsx", tmp_path)).active
    assert sheet is not None
    cells = {row[0].value: row[1] for row in sheet.iter_rows(min_row=2, max_col=2)}
    one_plus_one = next(r for r in stored if r.name == "=1+1").noise_id
    if excel_safe == "1":
        assert cells[one_plus_one].data_type == "s"
        assert cells[one_plus_one].value == "'=1+1"
    else:
        assert cells[one_plus_one].data_type == "f"  # the danger the option exists for


def test_excel_safe_is_refused_where_it_means_nothing(alice_client: Client) -> None:
    response = alice_client.get("/api/v1/recordings/export.xlsx", {"excel_safe": "1"})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["param"] == "excel_safe"
    assert "text as text" in error["message"]
