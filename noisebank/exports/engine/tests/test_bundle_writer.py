import io
import json
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import soundfile

from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.tests.data import FIXED_TIME, check_golden, read_csv, zip_dump
from noisebank.exports.engine.writers import Row, WriterOptions
from noisebank.exports.engine.writers.bundle import ZipBundleWriter, bundle_parts

COLUMNS = [
    Column("noise_id", "Noise id", "text"),
    Column("category", "Category", "text"),
    Column("class", "Class", "text"),
    Column("laeq", "LAeq", "float", "dB"),
    Column("audio_file", "Audio file", "text"),
]


def wav(folder: Path, name: str, seconds: float) -> str:
    """A real WAV file of a 440 Hz tone; returns its name relative to folder."""
    t = np.arange(int(8_000 * seconds)) / 8_000
    soundfile.write(folder / name, 0.1 * np.sin(2 * np.pi * 440 * t), 8_000, subtype="PCM_16")
    return name


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    return folder


def options(media: Path, **extra: object) -> WriterOptions:
    return WriterOptions(
        timestamp=FIXED_TIME,
        audio_path=lambda row: media / row[4] if row[4] else None,
        manifest={"format": "zip", "filters": {"category": ["Railway"]}, "rows": 3},
        **extra,
    )


def bundle(rows: list[Row], opts: WriterOptions) -> zipfile.ZipFile:
    data = b"".join(ZipBundleWriter().stream(COLUMNS, iter(rows), opts))
    return zipfile.ZipFile(io.BytesIO(data))


def test_bundle_holds_metadata_audio_by_template_and_manifest(media: Path) -> None:
    rows = [
        ("NSE-1", "Railway", "horn", 71.5, wav(media, "a.wav", 0.5)),
        ("NSE-2", "Railway", "brake squeal", None, wav(media, "b.WAV", 0.25)),
        ("NSE-3", "Station", "bell", 55.0, None),
    ]
    archive = bundle(rows, options(media))
    assert archive.testzip() is None
    assert archive.namelist() == [
        "metadata.csv",
        "Railway/horn/NSE-1.wav",
        "Railway/brake squeal/NSE-2.wav",
        "manifest.json",
    ]
    assert read_csv(archive.read("metadata.csv"), COLUMNS) == rows
    assert archive.read("Railway/horn/NSE-1.wav") == (media / "a.wav").read_bytes()
    data, rate = soundfile.read(io.BytesIO(archive.read("Railway/brake squeal/NSE-2.wav")))
    assert rate == 8_000 and len(data) == 2_000
    kinds = {i.filename: i.compress_type for i in archive.infolist()}
    assert kinds["metadata.csv"] == kinds["manifest.json"] == zipfile.ZIP_DEFLATED
    assert kinds["Railway/horn/NSE-1.wav"] == zipfile.ZIP_STORED
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["filters"] == {"category": ["Railway"]} and manifest["rows"] == 3
    assert manifest["files"] == [
        {"path": i.filename, "size": i.file_size} for i in archive.infolist()[:-1]
    ]
    assert manifest["missing_audio"] == []


def test_bundle_matches_its_golden_dump(media: Path) -> None:
    rows = [("NSE-1", "Railway", "horn", 71.5, wav(media, "a.wav", 0.1))]
    data = b"".join(ZipBundleWriter().stream(COLUMNS, iter(rows), options(media)))
    check_golden("bundle.zip.txt", zip_dump(data))


def test_metadata_can_be_an_xlsx_stored_as_is(media: Path) -> None:
    rows = [("NSE-1", "Railway", "horn", 71.5, wav(media, "a.wav", 0.1))]
    archive = bundle(rows, options(media, bundle_metadata="xlsx"))
    assert archive.getinfo("metadata.xlsx").compress_type == zipfile.ZIP_STORED
    sheet = openpyxl.load_workbook(io.BytesIO(archive.read("metadata.xlsx"))).active
    assert sheet is not None and sheet["A2"].value == "NSE-1"


def test_paths_are_made_safe_and_collisions_numbered(media: Path) -> None:
    audio = wav(media, "a.wav", 0.05)
    rows = [
        ("NSE-1", "../../etc", "/abs", 1.0, audio),
        ("NSE-1", "..", "abs", 1.0, audio),
        ("nse-1", "etc", "ABS", 1.0, audio),
        ("con", "a/b\\c", "x\x07y:z", 1.0, audio),
        ("NSE-5", None, "", 1.0, audio),
        ("metadata", "", None, 1.0, audio),
        ("NSE-7", " . ", "q?*", 1.0, audio),
    ]
    archive = bundle(rows, options(media, folder_template="{category}/{class}/{noise_id}.{ext}"))
    assert archive.namelist()[1:-1] == [
        "_.._etc/_abs/NSE-1.wav",
        "abs/NSE-1.wav",
        "etc/ABS/nse-1.wav",
        "a_b_c/x_y_z/_con.wav",
        "unknown/unknown/NSE-5.wav",
        "unknown/unknown/metadata.wav",
        "q__/NSE-7.wav",
    ]
    rows.append(("NSE-1", "etc", "abs", 1.0, audio))
    rows.append(("NSE-1", "ETC", "abs", 1.0, audio))
    names = bundle(rows, options(media, folder_template="{category}/{class}/{noise_id}.{ext}"))
    assert names.namelist()[-3:-1] == ["etc/abs/NSE-1-2.wav", "ETC/abs/NSE-1-3.wav"]
    flat = bundle(rows[:2], options(media, folder_template="{noise_id}"))
    assert flat.namelist()[1:-1] == ["NSE-1", "NSE-1-2"]
    long = bundle([("中" * 100, "x", "y", 1.0, audio)], options(media))
    assert long.namelist()[1] == "x/y/" + "中" * 65 + ".wav"  # at most 200 bytes a name
    dots = bundle([("take 1.", "x", "y", 1.0, audio)], options(media, folder_template="{noise_id}"))
    assert dots.namelist()[1] == "take 1"


def test_unknown_template_placeholders_are_named(media: Path) -> None:
    with pytest.raises(ValueError, match="unknown placeholders region, year"):
        bundle([], options(media, folder_template="{region}/{year}/{noise_id}.{ext}"))


def test_audio_gone_from_disk_is_listed_and_the_rest_still_comes(media: Path) -> None:
    rows = [
        ("NSE-1", "Railway", "horn", 1.0, "gone.wav"),
        ("NSE-2", "Railway", "horn", 1.0, wav(media, "b.wav", 0.05)),
    ]
    archive = bundle(rows, options(media))
    assert archive.namelist() == ["metadata.csv", "Railway/horn/NSE-2.wav", "manifest.json"]
    assert json.loads(archive.read("manifest.json"))["missing_audio"] == ["Railway/horn/NSE-1.wav"]


def test_split_gives_complete_zips_of_at_most_the_part_size(media: Path) -> None:
    rows = [(f"NSE-{n}", "Railway", "horn", 1.0, wav(media, f"{n}.wav", 30)) for n in range(5)]
    opts = options(media)
    parts = [b"".join(part) for part in bundle_parts(COLUMNS, iter(rows), opts, 1 << 20)]
    assert len(parts) == 3
    names = []
    for number, data in enumerate(parts, start=1):
        assert len(data) <= 1 << 20
        archive = zipfile.ZipFile(io.BytesIO(data))
        assert archive.testzip() is None
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["part"] == number
        assert [f["path"] for f in manifest["files"]] == archive.namelist()[:-1]
        names += archive.namelist()[:-1]
    assert names == ["metadata.csv"] + [f"Railway/horn/NSE-{n}.wav" for n in range(5)]


def test_split_refuses_a_file_bigger_than_a_part(media: Path) -> None:
    rows = [("NSE-1", "Railway", "horn", 1.0, wav(media, "big.wav", 80))]
    parts = bundle_parts(COLUMNS, iter(rows), options(media), 1 << 20)
    assert zipfile.ZipFile(io.BytesIO(b"".join(next(parts)))).namelist() == [
        "metadata.csv",
        "manifest.json",
    ]
    with pytest.raises(ValueError, match="does not fit in a part of 1048576 bytes"):
        b"".join(next(parts))


def test_part_size_below_a_megabyte_is_refused(media: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        next(bundle_parts(COLUMNS, [], options(media), 1000))
