"""A ZIP bundle laid out as a Hugging Face `audiofolder` dataset, streamed.

    train/metadata.csv       file_name (relative to this folder), the columns, [segment_*]
    train/<folder template path>.<ext>     the audio (the template's path inside each split)
    validation/…  test/…     the same, for the splits with a share above 0
    datapackage.json         Frictionless Data: every column of the metadata, its type and unit
    manifest.json            the caller's manifest + `dataset` (split rule, seed, ratios, counts
                             per split and label, audio settings, rows skipped) + `files`

`datasets.load_dataset("audiofolder", data_dir=<unzipped folder>)` reads it: one metadata file
per split folder, its `file_name` relative to that folder (what datasets 5.2's folder builder
resolves; a metadata.csv at the top would not be matched to the split folders).

Only rows with audio become examples (a row with no file, or a file gone or unreadable when its
row is read, is counted in the manifest's `dataset.skipped`). The split of each row is decided as
it is read (engine/split.py). The rows are read once: train's metadata streams straight into the
zip; validation's and test's go to spooled temporary files (memory up to 8 MB, then disk) and
follow; then the audio, copied as is or re-encoded one file at a time (engine/audio.py).
"""

import json
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import soundfile

from noisebank.exports.engine.audio import AudioPlan, plan_audio, render
from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.split import SPLITS, GroupedSplit, UngroupedSplit
from noisebank.exports.engine.writers import DatasetOptions, Row, WriterOptions
from noisebank.exports.engine.writers.bundle import MANIFEST, PathMaker
from noisebank.exports.engine.writers.csv import format_bool, format_datetime, format_float
from noisebank.exports.engine.writers.ziparchive import StreamingZip

METADATA = "metadata.csv"
DATAPACKAGE = "datapackage.json"
SPOOL_BYTES = 8 << 20
FILE_NAME = Column(
    "file_name", "File name", "text", "", "The audio file, relative to this metadata file's folder."
)
SEGMENT_COLUMNS = (
    Column(
        "segment_index", "Segment", "integer", "", "The segment's place in its recording, from 0."
    ),
    Column(
        "segment_offset", "Segment offset", "float", "s", "Start of the segment in its recording."
    ),
    Column(
        "segment_duration",
        "Segment duration",
        "float",
        "s",
        "Audio in the segment (a padded last one ends in silence).",
    ),
)
_TABLE_TYPES = {
    "text": "string",
    "integer": "integer",
    "float": "number",
    "boolean": "boolean",
    "datetime": "datetime",
}


def _cell(value: Any) -> str:
    """CSV text as the CSV writer (writers/csv.py) spells values: RFC 4180 quoting, NULL empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        if value == "" or any(c in value for c in ',"\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value
    if isinstance(value, bool):
        return format_bool(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    return str(value)


def csv_line(values: Iterable[Any]) -> bytes:
    return (",".join(_cell(v) for v in values) + "\r\n").encode()


class _Entry:
    """One recording's audio, to be written after the metadata."""

    __slots__ = ("names", "plan", "source", "split")

    def __init__(self, split: str, names: list[str], source: str, plan: AudioPlan | None) -> None:
        self.split = split
        self.names = names  # paths inside the split folder, one per segment
        self.source = source
        self.plan = plan


class _Counts:
    def __init__(self) -> None:
        self.recordings: dict[str, int] = defaultdict(int)
        self.files: dict[str, int] = defaultdict(int)
        self.labels: dict[str, dict[str, int]] = {s: defaultdict(int) for s in SPLITS}
        self.groups: dict[str, set[str]] = {s: set() for s in SPLITS}
        self.no_audio = 0
        self.too_short = 0
        self.unreadable: list[str] = []


def dataset_bundle(
    columns: Sequence[Column], rows: Iterable[Row], options: WriterOptions
) -> Iterator[bytes]:
    ds = options.dataset
    if ds is None:
        raise ValueError("dataset_bundle needs options.dataset")
    everything = [*columns, *options.bundle_extra_columns]
    names = [c.name for c in everything]
    for name in (ds.stratify_by, *ds.group_by):
        if name is not None and name not in names:
            raise ValueError(f"the dataset's column {name!r} is not among the row's columns")
    label_at = names.index(ds.stratify_by) if ds.stratify_by else None
    group_at = [names.index(g) for g in ds.group_by]
    splitter = _splitter(ds)
    shares = dict(zip(SPLITS, splitter.ratios, strict=True))
    spec = ds.audio
    segmenting = spec.segment_seconds is not None
    header = [FILE_NAME, *columns, *(SEGMENT_COLUMNS if segmenting else ())]
    paths = PathMaker(options.folder_template, everything, reserved=(METADATA,))
    width = len(columns)
    audio_path = options.audio_path
    archive = StreamingZip(options.timestamp)
    counts = _Counts()
    entries: list[_Entry] = []
    files: list[tuple[str, int]] = []
    spools: dict[str, IO[bytes]] = {
        s: tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        for s in SPLITS[1:]
        if shares[s] > 0
    }
    head = csv_line(c.name for c in header)
    try:
        for spool in spools.values():
            spool.write(head)
        size = 0
        with archive.open(f"train/{METADATA}", zip64=True) as train:
            train.write(head)
            size += len(head)
            for row in rows:
                source = audio_path(row) if audio_path is not None else None
                if source is None or not Path(source).is_file():
                    counts.no_audio += 1
                    continue
                source = Path(source)
                plan = None
                if spec.transforms:
                    try:
                        plan = plan_audio(source, spec)
                    except (soundfile.LibsndfileError, RuntimeError, OSError):
                        counts.unreadable.append(paths(row, source))
                        continue
                    if not plan.segments:
                        counts.too_short += 1
                        continue
                label = row[label_at] if label_at is not None else None
                split = splitter.split_of([row[i] for i in group_at], label)
                base = paths(row, source, plan.extension if plan else None)
                entry = _Entry(split, [], str(source), plan)
                values = row if len(row) == width else row[:width]
                lines = []
                if plan is not None and segmenting:
                    for segment in plan.segments:
                        name = paths.reserve(_segment_name(base, segment.index))
                        entry.names.append(name)
                        offset, seconds = segment.start / plan.rate, segment.frames / plan.rate
                        lines.append(csv_line((name, *values, segment.index, offset, seconds)))
                else:
                    entry.names.append(base)
                    lines.append(csv_line((base, *values)))
                entries.append(entry)
                _count(counts, splitter, split, label, row, group_at, len(entry.names))
                data = b"".join(lines)
                if split == "train":
                    train.write(data)
                    size += len(data)
                    yield archive.drain()
                else:
                    spools[split].write(data)
        files.append((f"train/{METADATA}", size))
        # A split folder with no example stops datasets' loader ("corresponds to no data"):
        # an empty validation or test split is left out. (Train is written as it streams.)
        written = ["train", *(s for s in spools if counts.files[s])]
        for split in written[1:]:
            spool = spools[split]
            size = spool.seek(0, 2)
            spool.seek(0)
            yield from archive.add_stream(f"{split}/{METADATA}", spool, size, deflate=True)
            files.append((f"{split}/{METADATA}", size))
    finally:
        for spool in spools.values():
            spool.close()
    missing: list[str] = []
    for entry in entries:
        yield from _audio(archive, entry, files, missing)
    package = datapackage(header, written, options)
    yield archive.add_bytes(DATAPACKAGE, package)
    files.append((DATAPACKAGE, len(package)))
    manifest = dict(options.manifest or {})
    manifest["dataset"] = _dataset_manifest(ds, splitter, written, counts)
    manifest["files"] = [{"path": name, "size": size} for name, size in files]
    manifest["missing_audio"] = missing
    yield archive.add_bytes(MANIFEST, json.dumps(manifest, indent=1, default=str).encode())
    yield archive.close()


def _splitter(ds: DatasetOptions) -> GroupedSplit | UngroupedSplit:
    if not ds.group_by:
        return UngroupedSplit(ds.ratios, ds.seed)
    if ds.group_counts is None:
        raise ValueError("a grouped split needs group_counts")
    return GroupedSplit(ds.group_counts, ds.ratios, ds.seed, ds.group_by)


def _segment_name(path: str, index: int) -> str:
    folder, slash, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    return f"{folder}{slash}{stem}_{index:04d}{dot}{ext}"


def _count(
    counts: _Counts,
    splitter: GroupedSplit | UngroupedSplit,
    split: str,
    label: Any,
    row: Row,
    group_at: list[int],
    files: int,
) -> None:
    counts.recordings[split] += 1
    counts.files[split] += files
    counts.labels[split]["" if label is None else str(label)] += files
    if isinstance(splitter, GroupedSplit):
        counts.groups[split].add(splitter.group_of([row[i] for i in group_at]))


def _audio(
    archive: StreamingZip, entry: _Entry, files: list[tuple[str, int]], missing: list[str]
) -> Iterator[bytes]:
    arcnames = [f"{entry.split}/{name}" for name in entry.names]
    done = 0
    try:
        if entry.plan is None:
            source = Path(entry.source)
            size = source.stat().st_size
            yield from archive.add_file(arcnames[0], source)
            files.append((arcnames[0], size))
            done = 1
            return
        for (_, data, size), arcname in zip(render(entry.plan), arcnames, strict=False):
            yield from archive.add_stream(arcname, data, size)
            files.append((arcname, size))
            done += 1
    except (FileNotFoundError, soundfile.LibsndfileError):
        pass  # gone (or broken) since its row was read: listed below, and the rest goes on
    finally:
        missing.extend(arcnames[done:])


def datapackage(header: Sequence[Column], splits: Sequence[str], options: WriterOptions) -> bytes:
    """A Frictionless tabular data package: one resource per split's metadata.csv."""
    fields = []
    for c in header:
        item: dict[str, Any] = {"name": c.name, "title": c.label, "type": _TABLE_TYPES[c.type]}
        if c.description:
            item["description"] = c.description
        if c.unit:
            item["unit"] = c.unit  # Table Schema allows extra properties; no standard one exists
        if c.type == "boolean":
            item["trueValues"], item["falseValues"] = ["true"], ["false"]
        fields.append(item)
    schema = {"fields": fields, "missingValues": [""]}
    dialect = {"delimiter": ",", "lineTerminator": "\r\n", "quoteChar": '"', "header": True}
    resources = [
        {
            "name": split,
            "path": f"{split}/{METADATA}",
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "dialect": dialect,
            "schema": schema,
        }
        for split in splits
    ]
    manifest = options.manifest or {}
    package: dict[str, Any] = {
        "profile": "tabular-data-package",
        "name": "noisebank-dataset",
        "title": "Noisebank recordings: an audiofolder dataset",
        "description": (
            "Field noise recordings split into train, validation and test. Each split's "
            "metadata.csv names its audio files (file_name, relative to the split's folder). "
            "Units are given per field (unit); levels are dB SPL when calibrated, dBFS "
            "otherwise (the unit column). manifest.json holds the provenance and split rule."
        ),
        "resources": resources,
    }
    if manifest.get("snapshot_at"):
        package["created"] = manifest["snapshot_at"]
    if manifest.get("software"):
        package["sources"] = [{"title": str(manifest["software"])}]
    return json.dumps(package, indent=1, ensure_ascii=False).encode()


def _dataset_manifest(
    ds: DatasetOptions,
    splitter: GroupedSplit | UngroupedSplit,
    written: list[str],
    counts: _Counts,
) -> dict[str, Any]:
    spec = ds.audio
    grouped = isinstance(splitter, GroupedSplit)
    groups = splitter.groups if isinstance(splitter, GroupedSplit) else None
    return {
        "layout": "audiofolder",
        "load": "datasets.load_dataset('audiofolder', data_dir='<the unzipped folder>')",
        "split": {
            "strategy": splitter.strategy,
            "ratios": dict(zip(SPLITS, splitter.ratios, strict=True)),
            "seed": ds.seed,
            "stratify_by": ds.stratify_by,
            "group_by": list(ds.group_by),
            "groups": groups,
            "rule": (
                "groups (recordings sharing a value of a group_by column) never straddle "
                "splits; within each label (a group's most frequent one) groups are ordered "
                "by sha256(seed, group) and cut at the ratios of the label's rows"
                if grouped
                else "each recording its own group; the k-th recording of a label (id order) "
                "sits at frac(sha256(seed, label) + k / golden ratio), cut at the ratios"
            ),
        },
        "folders": written,  # the splits with examples (an empty one has no folder)
        "splits": {
            s: {
                "recordings": counts.recordings[s],
                "files": counts.files[s],
                "groups": len(counts.groups[s]) if grouped else counts.recordings[s],
                "labels": dict(sorted(counts.labels[s].items())),
            }
            for s in SPLITS
        },
        "audio": {
            "format": (spec.output_format or "original").lower(),
            "sample_rate": spec.sample_rate,
            "mono": spec.mono,
            "segment_seconds": spec.segment_seconds,
            "segment_remainder": spec.segment_remainder if spec.segment_seconds else None,
        },
        "skipped": {
            "no_audio": counts.no_audio,
            "too_short": counts.too_short,
            "unreadable": counts.unreadable,
        },
    }
