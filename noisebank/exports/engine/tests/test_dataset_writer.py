import io
import json
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from noisebank.exports.engine.audio import AudioSpec
from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.tests.audiofolder import check_layout, load_audiofolder, unzip
from noisebank.exports.engine.tests.data import FIXED_TIME
from noisebank.exports.engine.writers import DatasetOptions, Row, WriterOptions
from noisebank.exports.engine.writers.bundle import ZipBundleWriter, bundle_parts

COLUMNS = [
    Column("noise_id", "Noise id", "text"),
    Column("class", "Class", "text"),
    Column("community", "Community", "text"),
    Column("collector", "Collector", "text"),
    Column("laeq", "LAeq", "float", "dB", "A-weighted equivalent level."),
]
# Where each row's audio is: a trailing value, as the export service passes it.
AUDIO = Column("_audio", "Audio", "text")
CLASSES = ("horn", "bell", "brake squeal")


def tone(path: Path, seconds: float, rate: int = 8_000, channels: int = 1) -> None:
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.2 * np.sin(2 * np.pi * 440 * t)
    soundfile.write(path, np.stack([wave] * channels, 1), rate, subtype="PCM_16")


@pytest.fixture
def media(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    return folder


def catalogue(media: Path, sites: int = 12, per_site: int = 2) -> list[Row]:
    """Recordings of three classes at `sites` sites (one class a site), by two collectors."""
    rows: list[Row] = []
    for s in range(sites):
        for _ in range(per_site):
            n = len(rows)
            tone(media / f"{n}.wav", 0.25)
            site = f"Site {s}"
            rows.append((f"NSE-{n:03d}", CLASSES[s % 3], site, f"c{s % 2}", 60.0 + n, f"{n}.wav"))
    return rows


def counts(rows: list[Row], group: list[int], label: int) -> tuple[Any, ...]:
    """What the export service counts with one GROUP BY in the export's snapshot."""
    tally = Counter((tuple(r[i] for i in group), r[label]) for r in rows if r[-1])
    return tuple((values, lab, n) for (values, lab), n in tally.items())


def options(media: Path, rows: list[Row], **dataset: Any) -> WriterOptions:
    ds = DatasetOptions(**dataset)
    names = [c.name for c in COLUMNS]
    if ds.group_by:
        group = [names.index(g) for g in ds.group_by]
        label = names.index(ds.stratify_by or "class")
        ds = replace(ds, group_counts=counts(rows, group, label))
    return WriterOptions(
        timestamp=FIXED_TIME,
        folder_template="{class}/{noise_id}.{ext}",
        audio_path=lambda row: media / row[-1] if row[-1] else None,
        bundle_extra_columns=(AUDIO,),
        manifest={"format": "zip", "snapshot_at": "2026-11-28T12:00:00Z"},
        dataset=ds,
    )


def build(rows: list[Row], opts: WriterOptions) -> bytes:
    return b"".join(ZipBundleWriter().stream(COLUMNS, iter(rows), opts))


def test_a_dataset_bundle_loads_with_the_datasets_audiofolder_loader(
    media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = catalogue(media)
    folder = unzip(build(rows, options(media, rows, ratios=(0.5, 0.25, 0.25))), tmp_path / "ds")
    loaded = load_audiofolder(folder, tmp_path / "cache", monkeypatch)
    assert set(loaded) == {"train", "validation", "test"}
    assert sum(len(split) for split in loaded.values()) == len(rows)
    sites: dict[str, set[str]] = {}
    for name, split in loaded.items():
        assert split.column_names == [
            "audio",
            "noise_id",
            "class",
            "community",
            "collector",
            "laeq",
        ]
        for example in split:
            sites.setdefault(example["community"], set()).add(name)
            data, rate = soundfile.read(example["audio"]["path"])
            assert rate == 8_000 and len(data) == 2_000
            assert Path(example["audio"]["path"]).parent.parent.name == name  # train/horn/…
    assert all(len(found) == 1 for found in sites.values()), sites  # no site straddles splits
    for name in loaded:
        assert set(loaded[name]["class"]) == set(CLASSES)  # every class in every split


def test_the_layout_follows_the_audiofolder_rules_and_the_manifest_tells_the_split(
    media: Path, tmp_path: Path
) -> None:
    rows = catalogue(media)
    data = build(rows, options(media, rows, ratios=(0.5, 0.25, 0.25), seed=3))
    tables = check_layout(unzip(data, tmp_path / "ds"))
    assert all(r["file_name"].startswith(CLASSES) for r in tables["test"])
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    ds = manifest["dataset"]
    assert ds["layout"] == "audiofolder" and ds["split"]["strategy"] == "grouped"
    assert ds["split"]["seed"] == 3 and ds["split"]["group_by"] == ["community"]
    assert ds["split"]["ratios"] == {"train": 0.5, "validation": 0.25, "test": 0.25}
    assert ds["split"]["groups"] == 12
    for split, table in tables.items():
        told = ds["splits"][split]
        assert told["recordings"] == told["files"] == len(table)
        assert told["groups"] == len({r["community"] for r in table})
        assert told["labels"] == dict(sorted(Counter(r["class"] for r in table).items()))
    assert ds["splits"]["train"]["groups"] == 6  # 12 sites, half of them
    assert manifest["missing_audio"] == [] and ds["skipped"]["no_audio"] == 0
    listed = {f["path"] for f in manifest["files"]}
    assert listed == set(zipfile.ZipFile(io.BytesIO(data)).namelist()) - {"manifest.json"}


def test_the_datapackage_describes_every_column_with_its_unit_and_validates(
    media: Path, tmp_path: Path
) -> None:
    rows = catalogue(media, sites=9, per_site=1)
    spec = AudioSpec(segment_seconds=0.1, segment_remainder="keep")
    opts = options(media, rows, audio=spec, ratios=(1, 1, 1))
    folder = unzip(build(rows, opts), tmp_path / "ds")
    package = json.loads((folder / "datapackage.json").read_text())
    assert [r["path"] for r in package["resources"]] == [
        "train/metadata.csv",
        "validation/metadata.csv",
        "test/metadata.csv",
    ]
    fields = {f["name"]: f for f in package["resources"][0]["schema"]["fields"]}
    assert list(fields) == [
        "file_name",
        *(c.name for c in COLUMNS),
        "segment_index",
        "segment_offset",
        "segment_duration",
    ]
    assert fields["laeq"]["unit"] == "dB" and fields["laeq"]["type"] == "number"
    assert fields["segment_offset"]["unit"] == "s"
    assert fields["segment_index"]["type"] == "integer"
    frictionless = pytest.importorskip("frictionless")
    report = frictionless.validate(folder / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_resampled_mono_segments_carry_their_offsets_in_the_metadata(
    media: Path, tmp_path: Path
) -> None:
    tone(media / "long.wav", 2.5, rate=8_000, channels=2)
    rows: list[Row] = [("NSE-1", "horn", "Tema", "c0", 70.0, "long.wav")]
    spec = AudioSpec(sample_rate=16_000, mono=True, segment_seconds=1.0)
    opts = options(media, rows, audio=spec, ratios=(1, 0, 0))
    folder = unzip(build(rows, opts), tmp_path / "ds")
    table = check_layout(folder)["train"]
    assert [(r["file_name"], r["segment_index"]) for r in table] == [
        ("horn/NSE-1_0000.flac", "0"),
        ("horn/NSE-1_0001.flac", "1"),
        ("horn/NSE-1_0002.flac", "2"),
    ]
    assert [(r["segment_offset"], r["segment_duration"]) for r in table] == [
        ("0", "1"),
        ("1", "1"),
        ("2", "0.5"),
    ]
    for row in table:
        info = soundfile.info(folder / "train" / row["file_name"])
        assert (info.samplerate, info.channels, info.frames) == (16_000, 1, 16_000)
    last, _ = soundfile.read(folder / "train" / table[-1]["file_name"])
    assert np.abs(last[:7_900]).max() > 0.1 and not last[8_100:].any()  # padded with silence
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["dataset"]["audio"] == {
        "format": "flac",
        "sample_rate": 16_000,
        "mono": True,
        "segment_seconds": 1.0,
        "segment_remainder": "pad",
    }
    assert manifest["dataset"]["folders"] == ["train"]
    assert manifest["dataset"]["splits"]["test"]["recordings"] == 0
    assert not (folder / "validation").exists() and not (folder / "test").exists()


def test_the_same_export_gives_the_same_bytes_and_another_seed_another_split(
    media: Path,
) -> None:
    rows = catalogue(media, sites=30, per_site=1)

    def split_of_sites(seed: int) -> dict[str, str]:
        archive = zipfile.ZipFile(io.BytesIO(build(rows, options(media, rows, seed=seed))))
        return {
            name.split("/")[-1]: name.split("/")[0]
            for name in archive.namelist()
            if name.endswith(".wav")
        }

    first = build(rows, options(media, rows, seed=1))
    assert build(rows, options(media, rows, seed=1)) == first
    assert split_of_sites(1) != split_of_sites(2)


def test_without_groups_each_recording_is_placed_and_every_class_shared(
    media: Path, tmp_path: Path
) -> None:
    rows = catalogue(media, sites=3, per_site=10)  # 10 recordings of each class
    opts = options(media, rows, group_by=(), ratios=(0.8, 0.1, 0.1))
    folder = unzip(build(rows, opts), tmp_path / "ds")
    tables = check_layout(folder)
    for split, share in (("train", 8), ("validation", 1), ("test", 1)):
        got = Counter(r["class"] for r in tables[split])
        assert all(abs(got[c] - share) <= 1 for c in CLASSES), (split, got)
    split = json.loads((folder / "manifest.json").read_text())["dataset"]["split"]
    assert split["strategy"] == "stratified" and split["group_by"] == []


def test_rows_without_audio_unreadable_or_too_short_are_left_out_and_counted(
    media: Path, tmp_path: Path
) -> None:
    tone(media / "ok.wav", 0.5)
    tone(media / "short.wav", 0.1)
    (media / "broken.wav").write_bytes(b"RIFF and nothing")
    rows: list[Row] = [
        ("NSE-1", "horn", "Tema", "c0", 1.0, "ok.wav"),
        ("NSE-2", "horn", "Tema", "c0", 1.0, None),
        ("NSE-3", "horn", "Tema", "c0", 1.0, "gone.wav"),
        ("NSE-4", "horn", "Tema", "c0", 1.0, "broken.wav"),
        ("NSE-5", "horn", "Tema", "c0", 1.0, "short.wav"),
    ]
    spec = AudioSpec(segment_seconds=0.25, segment_remainder="drop")
    folder = unzip(build(rows, options(media, rows, audio=spec)), tmp_path / "ds")
    tables = check_layout(folder)
    assert [r["noise_id"] for t in tables.values() for r in t] == ["NSE-1", "NSE-1"]
    skipped = json.loads((folder / "manifest.json").read_text())["dataset"]["skipped"]
    assert skipped == {"no_audio": 2, "too_short": 1, "unreadable": ["horn/NSE-4.wav"]}


def test_a_split_left_empty_gets_no_folder_which_would_stop_the_loader(
    media: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = catalogue(media, sites=3, per_site=1)  # one site a class: all go to train
    folder = unzip(build(rows, options(media, rows)), tmp_path / "ds")
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == ["train"]
    loaded = load_audiofolder(folder, tmp_path / "cache", monkeypatch)
    assert list(loaded) == ["train"] and len(loaded["train"]) == 3
    package = json.loads((folder / "datapackage.json").read_text())
    assert [r["name"] for r in package["resources"]] == ["train"]


def test_a_dataset_is_not_split_into_parts_and_needs_its_group_counts(media: Path) -> None:
    rows = catalogue(media, sites=1, per_site=1)
    opts = options(media, rows)
    with pytest.raises(ValueError, match="one part"):
        next(bundle_parts(COLUMNS, iter(rows), opts, part_bytes=1 << 20))
    assert opts.dataset is not None
    no_counts = replace(opts, dataset=replace(opts.dataset, group_counts=None))
    with pytest.raises(ValueError, match="group_counts"):
        build(rows, no_counts)
    unknown = replace(opts, dataset=replace(opts.dataset, stratify_by="region"))
    with pytest.raises(ValueError, match="region"):
        build(rows, unknown)
