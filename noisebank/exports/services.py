"""Exports: a selection, columns and a format in; a manifest, a row count and bytes out.

    export = export_open(filters=f, columns=resolve_columns("default"), fmt="csv")
    export.row_count, export.manifest, export.filename
    for chunk in export.chunks(): ...      # closes the snapshot at the end (or export.close())

The snapshot is opened (and the rows counted in it) by export_open, so the count is known before
the first byte is sent, and equals the rows that follow.
"""

import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.db.models import F

from noisebank import __version__
from noisebank.catalog.filters import RecordingFilter
from noisebank.catalog.models import Recording
from noisebank.exports.columns import COLUMNS, PRESETS, ExportColumn
from noisebank.exports.dataset_options import dataset_json
from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.writers import WRITERS, DatasetOptions, Row, Writer, WriterOptions
from noisebank.exports.engine.writers.bundle import template_fields
from noisebank.exports.engine.writers.csv import CsvWriter
from noisebank.exports.source import ExportQuery, Snapshot, open_snapshot
from noisebank.ops.replica import read_alias

# Formats the product offers; a format is usable when its writer is registered and available.
FORMATS = ("csv", "xlsx", "parquet", "jsonl", "geojson", "zip")


class UnknownFormat(ValueError):
    def __init__(self, fmt: str) -> None:
        self.format = fmt
        available = ", ".join(sorted(WRITERS)) or "none"
        if fmt in FORMATS:
            message = f"The {fmt} format is not available on this server (available: {available})."
        else:
            message = f"Unknown format: {fmt!r}. Available: {available}."
        super().__init__(message)


# Formats with a CSV file in them (a bundle's metadata.csv), where excel_safe means something.
EXCEL_SAFE_FORMATS = ("csv", "zip")


def csv_options(fmt: str, *, bom: bool, excel_safe: bool | None) -> WriterOptions:
    """The BOM and formula-protection options. A BOM is asked for to open the file in Excel,
    so excel_safe follows it unless given; it alters values, so never without being asked."""
    if excel_safe is None:
        excel_safe = bom and fmt in EXCEL_SAFE_FORMATS
    if excel_safe and fmt not in EXCEL_SAFE_FORMATS:
        raise ValueError(
            f"excel_safe is for CSV: a {fmt} file holds text as text, never as a formula."
        )
    return WriterOptions(bom=bom, excel_safe=excel_safe)


def writer_for(fmt: str) -> Writer:
    writer = WRITERS.get(fmt)
    if writer is None:
        raise UnknownFormat(fmt)
    return writer


def export_filename(fmt: str, at: datetime, extension: str | None = None) -> str:
    return f"noisebank-recordings-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}.{extension or fmt}"


def columns_spec(columns: Sequence[ExportColumn]) -> str | list[str]:
    """A preset's name when the columns are exactly that preset, else the names."""
    names = [c.name for c in columns]
    for preset, preset_names in PRESETS.items():
        if names == preset_names:
            return preset
    return names


@dataclass
class Export:
    filters: RecordingFilter
    columns: list[ExportColumn]
    writer: Writer
    options: WriterOptions
    snapshot: Snapshot
    query: ExportQuery
    row_count: int
    manifest: dict[str, Any] = field(default_factory=dict)
    rows_done: int = 0

    @property
    def filename(self) -> str:
        return export_filename(self.writer.format, self.snapshot.taken_at, self.writer.extension)

    @property
    def uses_copy(self) -> bool:
        # COPY reproduces our CSV writer byte for byte (tested), excel_safe included (done in
        # its SQL), so it may stand in for it.
        formula_safe = replace(self.options, excel_safe=False)
        return self.snapshot.vendor == "postgresql" and self._cells_as_stored_with(formula_safe)

    @property
    def uses_sqlite_csv(self) -> bool:
        # So does the Arrow formatting of SQLite's rows (tested).
        return self.snapshot.vendor == "sqlite" and self._cells_as_stored

    @property
    def _cells_as_stored(self) -> bool:
        return self._cells_as_stored_with(self.options)

    def _cells_as_stored_with(self, options: WriterOptions) -> bool:
        """A CSV whose options alter no cell (a BOM only comes before the header): the database
        side may then format the cells. An option that changes cells sends the rows through the
        Python writer until that side learns it too."""
        plain = replace(options, bom=False) == WriterOptions()
        return isinstance(self.writer, CsvWriter) and plain

    def rows(self) -> Iterator[Row]:
        for row in self.snapshot.rows(self.query):
            self.rows_done += 1
            yield row

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes; ends the snapshot when done, failed or closed early."""
        try:
            if self.uses_copy or self.uses_sqlite_csv:
                cols = [c.column for c in self.columns]
                yield b"".join(self.writer.stream(cols, [], self.options))  # the header row
                if self.uses_copy:
                    by_database = self.snapshot.copy_csv(
                        self.query, excel_safe=self.options.excel_safe
                    )
                else:
                    by_database = self.snapshot.sqlite_csv(self.query)
                for chunk, rows in by_database:
                    self.rows_done += rows
                    yield chunk
            elif self.writer.format == "zip":
                yield from zip_chunks(self)
            else:
                yield from self.writer.stream(
                    [c.column for c in self.columns], self.rows(), self.options
                )
        finally:
            self.close()

    def close(self) -> None:
        self.snapshot.close()

    def stream(self) -> "ClosingIterator":
        """chunks() as an iterator whose close() ends the snapshot even if it was never read
        (a server closes the response of a client that went away before the first byte)."""
        return ClosingIterator(self.chunks(), self.close)


class ClosingIterator(Iterator[bytes]):
    def __init__(self, chunks: Iterator[bytes], on_close: Callable[[], None]) -> None:
        self._chunks = chunks
        self._on_close = on_close

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        try:
            if close is not None:
                close()
        finally:
            self._on_close()


def build_manifest(
    *,
    filters: RecordingFilter,
    columns: Sequence[ExportColumn],
    fmt: str,
    options: WriterOptions,
    row_count: int,
    snapshot_at: datetime,
    database: str,
) -> dict[str, Any]:
    """What an export holds and where it came from. sha256 is null for a stream: it is known
    only once the last byte is written (export jobs and the CLI fill it in)."""
    return {
        "software": f"noisebank {__version__}",
        "format": fmt,
        "filters": filters.as_dict(),
        "columns": columns_spec(columns),
        "options": _options_manifest(options, fmt),
        "alterations": writer_for(fmt).alterations(options),
        "row_count": row_count,
        "snapshot_at": snapshot_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "database": database,
        "sha256": None,
    }


def _options_manifest(options: WriterOptions, fmt: str) -> dict[str, Any]:
    recorded: dict[str, Any] = {"bom": options.bom, "excel_safe": options.excel_safe}
    if fmt == "zip":
        recorded["folder_template"] = options.folder_template
        recorded["metadata"] = options.bundle_metadata
        if options.dataset is not None:
            recorded["dataset"] = dataset_json(options.dataset)
    return recorded


def export_open(
    *,
    filters: RecordingFilter,
    columns: Sequence[ExportColumn],
    fmt: str,
    options: WriterOptions | None = None,
    alias: str | None = None,
) -> Export:
    """Open a snapshot, count the selection in it and get ready to stream it.

    It reads `alias`, by default the read replica when one is configured (read_alias): an
    export is a long read, and the primary is left to writes. The browser's pin to the primary
    after a write does not apply: an export is the data as of the replica's snapshot."""
    writer = writer_for(fmt)
    options = options or WriterOptions()
    dataset = options.dataset if fmt == "zip" else None
    if dataset is not None:
        columns = dataset_columns(columns, dataset)
    if fmt == "zip":
        hidden = template_columns(options.folder_template, columns)
        options = replace(options, bundle_extra_columns=tuple(c.column for c in hidden))
        selected = [*columns, *hidden, AUDIO_STORAGE_NAME]
    elif fmt == "geojson":
        hidden = geometry_columns(columns)
        options = replace(options, geometry_columns=tuple(c.column for c in hidden))
        selected = [*columns, *hidden]
    else:
        selected = list(columns)
    selection = Recording.objects.matching(filters)
    query = ExportQuery(selection, selected)
    snapshot = open_snapshot(alias or read_alias())
    try:
        row_count = snapshot.count(query)
        if dataset is not None and dataset.group_by:
            counts = snapshot.group_counts(
                selection.exclude(audio=""),
                [COLUMNS[g] for g in dataset.group_by],
                COLUMNS[dataset.stratify_by] if dataset.stratify_by else None,
            )
            options = replace(options, dataset=replace(dataset, group_counts=counts))
    except BaseException:
        snapshot.close()
        raise
    manifest = build_manifest(
        filters=filters,
        columns=columns,
        fmt=fmt,
        options=options,
        row_count=row_count,
        snapshot_at=snapshot.taken_at,
        database=snapshot.vendor,
    )
    export = Export(filters, list(columns), writer, options, snapshot, query, row_count, manifest)
    # Safety net: an export dropped unread and unclosed still ends its transaction.
    weakref.finalize(export, snapshot.close)
    return export


# --- ZIP bundles -------------------------------------------------------------------------------
# The bundle writer (engine/writers/bundle.py) lays out files; this side says, for every row,
# which audio file goes with it: the storage name rides along as a trailing, unwritten value.


def audio_path(storage_name: str | None) -> Path | None:
    """The file on disk for a Recording.audio storage name; None when there is none."""
    if not storage_name:
        return None
    try:
        path = Path(default_storage.path(storage_name)).resolve()
    except SuspiciousFileOperation:  # a name leading out of the media folder
        return None
    if Path(settings.MEDIA_ROOT).resolve() not in path.parents or not path.is_file():
        return None
    return path


def dataset_columns(chosen: Sequence[ExportColumn], dataset: DatasetOptions) -> list[ExportColumn]:
    """The chosen columns, then the label and group columns of a dataset's split when not
    chosen: its metadata always says what each example was split by."""
    names = {c.name for c in chosen}
    wanted = [n for n in (dataset.stratify_by, *dataset.group_by) if n and n not in names]
    return [*chosen, *(COLUMNS[n] for n in dict.fromkeys(wanted))]


def template_columns(template: str, chosen: Sequence[ExportColumn]) -> list[ExportColumn]:
    """Columns the folder template names that were not chosen: fetched, but not written."""
    names = {c.name for c in chosen}
    wanted = [f for f in template_fields(template) if f and f != "ext" and f not in names]
    return [COLUMNS[f] for f in dict.fromkeys(wanted)]


def geometry_columns(chosen: Sequence[ExportColumn]) -> list[ExportColumn]:
    """GeoJSON: latitude and longitude when not chosen, fetched for the geometry only."""
    names = {c.name for c in chosen}
    return [COLUMNS[n] for n in ("longitude", "latitude") if n not in names]


# Selected last, after the columns asked for, in bundles only.
AUDIO_STORAGE_NAME = ExportColumn(Column("_audio", "Audio storage name", "text"), F("audio"))


def zip_chunks(export: Export) -> Iterator[bytes]:
    options = replace(
        export.options,
        audio_path=lambda row: audio_path(row[-1]),
        manifest={**(export.options.manifest or {}), **export.manifest},
    )
    yield from export.writer.stream([c.column for c in export.columns], export.rows(), options)
