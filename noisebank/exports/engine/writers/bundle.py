"""ZIP bundle: the metadata file, every audio file of the selection, and manifest.json, streamed.

Layout of a bundle:

- `metadata.csv` (deflated) or `metadata.xlsx` (stored: it is a zip already), written by the
  CSV or XLSX writer (`WriterOptions.bundle_metadata`);
- each row's audio file (`WriterOptions.audio_path(row)` gives its path on disk, or None) at
  the path the folder template makes from that row (`WriterOptions.folder_template`, default
  `{category}/{class}/{noise_id}.{ext}`; placeholders are column names and `ext`, the audio
  file's extension), stored as is (audio formats are compressed already);
- `manifest.json` (deflated): the caller's manifest (`WriterOptions.manifest`) plus `files`,
  every member with its size in bytes, and `missing_audio`, audio files gone from disk by the
  time they were to be copied (the bundle goes on without them).

Paths are made safe one segment at a time: a value holding `/` or `\\` stays one segment
(they become `_`), leading dots are dropped and so are the segments left empty (`.`, `..`, a
leading `/`: nothing is absolute, climbs out or is hidden), control characters and `<>:"|?*`
become `_`, trailing dots and spaces go, Windows device names get a `_` prefix, a segment is
cut to 200 bytes of UTF-8 (keeping its extension), a NULL or empty value reads `unknown`. Two
rows that make the same path (compared case-insensitively, as macOS and Windows do) get `-2`,
`-3`, … before the extension.

The rows are read once: while the metadata file is written, each row with audio leaves only
its (path in the zip, path on disk) behind, and the audio follows the metadata.

Split: `bundle_parts(…, part_bytes=N)` yields parts, each a complete zip of at most N bytes
(each with the audio it holds and its own manifest.json naming its part number); the first
part holds the metadata file, which is never split, so a metadata file bigger than N makes
the first part bigger than N. A direct download uses one part: `ZipBundleWriter.stream`.
"""

import json
import re
import string
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.writers import Row, WriterOptions
from noisebank.exports.engine.writers.csv import format_datetime
from noisebank.exports.engine.writers.ziparchive import StreamingZip, entry_overhead

MANIFEST = "manifest.json"
MIN_PART_BYTES = 1 << 20
MAX_TEMPLATE_CHARS = 500
MAX_SEGMENT_BYTES = 200  # file systems allow 255 bytes a name; leave room for a "-2"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul"} | {
    f"{p}{n}" for p in ("com", "lpt") for n in range(10)
}
# End of central directory with its Zip64 records: the last bytes of every part.
_END_RECORDS = 22 + 56 + 20


def template_fields(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]


def _has_format_spec(template: str) -> bool:
    """{name!r} or {name:>8}: not a plain placeholder."""
    return any(
        field is not None and (spec or conversion)
        for _, field, spec, conversion in string.Formatter().parse(template)
    )


def check_template(template: str, columns: Sequence[Column]) -> None:
    """Raise ValueError naming the placeholders that are neither a column nor `ext`."""
    if len(template) > MAX_TEMPLATE_CHARS:
        raise ValueError(f"folder template: at most {MAX_TEMPLATE_CHARS} characters")
    try:
        fields = template_fields(template)
    except ValueError as exc:
        raise ValueError(f"folder template {template!r}: {exc}") from None
    known = {c.name for c in columns} | {"ext"}
    unknown = sorted({f for f in fields if f not in known})
    if _has_format_spec(template):
        raise ValueError(
            f"folder template {template!r}: placeholders are plain {{column}} names, without "
            "a conversion (!r) or a format (:…)"
        )
    if unknown or any(not f for f in fields):
        raise ValueError(
            f"folder template {template!r}: unknown placeholders {', '.join(unknown) or '{}'}; "
            "use column names or ext"
        )


def _segment(text: str) -> str:
    # No leading dots: no `.` or `..`, and no hidden files or folders on unpacking.
    # No trailing dots or spaces either: Windows drops them, and two names would become one.
    text = _UNSAFE.sub("_", text).strip(" ").lstrip(".")
    if len(text.encode()) > MAX_SEGMENT_BYTES:
        stem, dot, ext = text.rpartition(".")
        if not (dot and stem and len(ext) <= 10):
            stem, dot, ext = text, "", ""
        room = MAX_SEGMENT_BYTES - len(f"{dot}{ext}".encode())
        text = stem.encode()[:room].decode(errors="ignore").rstrip(" .") + dot + ext
    text = text.rstrip(" .")
    if text.split(".")[0].lower() in _WINDOWS_DEVICES:
        text = "_" + text
    return text


def _value_text(value: Any) -> str:
    if value is None or value == "":
        return "unknown"
    if hasattr(value, "isoformat"):
        value = format_datetime(value)
    return str(value).replace("/", "_").replace("\\", "_")


class PathMaker:
    """Turns a row into a safe, unique path in the zip."""

    def __init__(self, template: str, columns: Sequence[Column], reserved: Iterable[str]) -> None:
        check_template(template, columns)
        self.template = template
        names = [c.name for c in columns]
        self.positions = {f: names.index(f) for f in template_fields(template) if f != "ext"}
        self.used = {r.casefold() for r in reserved}

    def __call__(self, row: Row, source: Path, ext: str | None = None) -> str:
        """The row's path; `ext` (the file's extension by default) fills {ext}, and when given
        the path is made to end in it."""
        values = {name: _value_text(row[i]) for name, i in self.positions.items()}
        values["ext"] = ext if ext is not None else source.suffix[1:].lower()
        raw = self.template.format_map(values)
        segments = [s for s in (_segment(part) for part in re.split(r"[/\\]", raw)) if s]
        path = "/".join(segments) or "audio"
        if ext is not None and not path.lower().endswith(f".{ext}"):
            path += f".{ext}"
        return self.reserve(path)

    def reserve(self, path: str) -> str:
        """`path`, or `path` with -2, -3, … before its extension if it is taken."""
        candidate, n = path, 1
        folder, _, name = path.rpartition("/")
        stem, dot, ext = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
        while candidate.casefold() in self.used:
            n += 1
            candidate = f"{folder}/" if folder else ""
            candidate += f"{stem}-{n}{dot}{ext}"
        self.used.add(candidate.casefold())
        return candidate


class _Audio:
    """(path in zip, path on disk) of every row with audio, compactly."""

    def __init__(self) -> None:
        self.arcnames: list[str] = []
        self.sources: list[str] = []

    def add(self, arcname: str, source: Path) -> None:
        self.arcnames.append(arcname)
        self.sources.append(str(source))

    def __len__(self) -> int:
        return len(self.arcnames)


def bundle_parts(
    columns: Sequence[Column],
    rows: Iterable[Row],
    options: WriterOptions,
    part_bytes: int | None = None,
) -> Iterator[Iterator[bytes]]:
    """Yield the parts of the bundle, each an iterator of bytes making one complete zip.

    Drain each part before asking for the next. With part_bytes None there is one part.
    """
    if options.dataset is not None:
        from noisebank.exports.engine.writers.dataset import dataset_bundle

        if part_bytes is not None:
            raise ValueError("a dataset bundle is written in one part")
        yield dataset_bundle(columns, rows, options)
        return
    if part_bytes is not None and part_bytes < MIN_PART_BYTES:
        raise ValueError(f"part size must be at least {MIN_PART_BYTES} bytes, not {part_bytes}")
    if options.bundle_metadata not in ("csv", "xlsx"):
        raise ValueError(f"bundle metadata must be csv or xlsx, not {options.bundle_metadata!r}")
    metadata_name = f"metadata.{options.bundle_metadata}"
    paths = PathMaker(
        options.folder_template,
        [*columns, *options.bundle_extra_columns],
        reserved=(metadata_name, MANIFEST),
    )
    audio = _Audio()
    state = _Parts(options, part_bytes)
    yield state.first_part(columns, rows, metadata_name, paths, audio)
    while state.next_file < len(audio):
        yield state.next_part(audio)


class _Parts:
    def __init__(self, options: WriterOptions, part_bytes: int | None) -> None:
        self.options = options
        self.part_bytes = part_bytes
        self.number = 0
        self.next_file = 0

    def _archive(self) -> StreamingZip:
        self.number += 1
        return StreamingZip(self.options.timestamp)

    def first_part(
        self,
        columns: Sequence[Column],
        rows: Iterable[Row],
        metadata_name: str,
        paths: PathMaker,
        audio: _Audio,
    ) -> Iterator[bytes]:
        from noisebank.exports.engine.writers.csv import CsvWriter
        from noisebank.exports.engine.writers.xlsx import XlsxWriter

        archive = self._archive()
        audio_path = self.options.audio_path

        width = len(columns)

        def tapped() -> Iterator[Row]:
            # Trailing values beyond the columns (options.bundle_extra_columns, and whatever the
            # caller finds its audio by): the template and audio_path see them, the file not.
            for row in rows:
                if audio_path is not None and (source := audio_path(row)) is not None:
                    source = Path(source)
                    audio.add(paths(row, source), source)
                yield row if len(row) == width else row[:width]

        is_csv = self.options.bundle_metadata == "csv"
        writer = CsvWriter() if is_csv else XlsxWriter()
        files: list[tuple[str, int]] = []
        size = 0
        # Zip64: the metadata of a few million rows passes 2 GiB (unzip tools all read it).
        with archive.open(metadata_name, deflate=is_csv, zip64=True) as member:
            for chunk in writer.stream(columns, tapped(), self.options):
                member.write(chunk)
                size += len(chunk)
                yield archive.drain()
        files.append((metadata_name, size))
        yield from self._audio_and_close(archive, audio, files)

    def next_part(self, audio: _Audio) -> Iterator[bytes]:
        return self._audio_and_close(self._archive(), audio, [])

    def _audio_and_close(
        self, archive: StreamingZip, audio: _Audio, files: list[tuple[str, int]]
    ) -> Iterator[bytes]:
        missing: list[str] = []
        holds_audio = False
        # What the part still has to write after the next file, so a split can plan for it.
        central = sum(entry_overhead(name) for name, _ in files) + entry_overhead(MANIFEST)
        manifest_room = len(self._manifest(files, missing)) + 1_000
        while self.next_file < len(audio):
            arcname = audio.arcnames[self.next_file]
            source = Path(audio.sources[self.next_file])
            try:
                size = source.stat().st_size
            except OSError:
                size = -1
            entry = len(json.dumps({"path": arcname, "size": size}, indent=1)) + 10
            if size >= 0 and self.part_bytes is not None:
                after = archive.position + entry_overhead(arcname) + size + central
                if after + manifest_room + entry + _END_RECORDS > self.part_bytes:
                    if holds_audio or self.number == 1:
                        break  # the next part takes it
                    raise ValueError(
                        f"audio file {arcname} ({size} bytes) does not fit in a part of "
                        f"{self.part_bytes} bytes"
                    )
            self.next_file += 1
            manifest_room += entry
            try:
                if size < 0:
                    raise FileNotFoundError(arcname)
                yield from archive.add_file(arcname, source)
            except FileNotFoundError:
                missing.append(arcname)  # gone since the row was read: the rest goes on
                continue
            files.append((arcname, size))
            central += entry_overhead(arcname)
            holds_audio = True
        yield archive.add_bytes(MANIFEST, self._manifest(files, missing))
        yield archive.close()

    def _manifest(self, files: list[tuple[str, int]], missing: list[str]) -> bytes:
        manifest = dict(self.options.manifest or {})
        if self.part_bytes is not None:
            manifest["part"] = self.number
        manifest["files"] = [{"path": name, "size": size} for name, size in files]
        manifest["missing_audio"] = missing
        return json.dumps(manifest, indent=1, default=str).encode()


class ZipBundleWriter:
    format = "zip"
    extension = "zip"
    content_type = "application/zip"

    def is_available(self) -> bool:
        return True

    def alterations(self, options: WriterOptions) -> list[str]:
        from noisebank.exports.engine.writers.csv import CsvWriter
        from noisebank.exports.engine.writers.xlsx import XlsxWriter

        writer = CsvWriter() if options.bundle_metadata == "csv" else XlsxWriter()
        name = f"metadata.{options.bundle_metadata}"
        return [f"{name}: {note}" for note in writer.alterations(options)]

    def stream(
        self, columns: Sequence[Column], rows: Iterable[Row], options: WriterOptions
    ) -> Iterator[bytes]:
        for part in bundle_parts(columns, rows, options):
            yield from part
