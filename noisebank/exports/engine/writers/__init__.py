"""Writer plug-ins, one module each, registered in WRITERS.

A writer turns columns and an iterable of row tuples into an iterator of bytes chunks, pulling
rows as it goes so memory stays flat; the caller streams the chunks to a client or a file.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from os import PathLike
from typing import Any, Literal, Protocol

from noisebank.exports.engine.audio import AudioSpec
from noisebank.exports.engine.columns import Column

Row = tuple[Any, ...]
GroupCount = tuple[tuple[Any, ...], Any, int]  # (group column values, label, rows)


@dataclass(frozen=True)
class DatasetOptions:
    """A ZIP bundle laid out as an ML dataset (see writers/dataset.py and engine/split.py)."""

    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)  # train, validation, test
    seed: int = 0
    stratify_by: str | None = "class"  # a column; None: one stratum
    group_by: tuple[str, ...] = ("community",)  # columns; (): each recording its own group
    # Every distinct (group values, label) of the rows with audio and its row count: a grouped
    # split is planned from these before the rows stream (the caller counts them in the same
    # snapshot, one GROUP BY).
    group_counts: tuple[GroupCount, ...] | None = None
    audio: AudioSpec = field(default_factory=AudioSpec)


@dataclass(frozen=True)
class WriterOptions:
    bom: bool = False  # CSV: start with a UTF-8 byte-order mark so Excel reads it as UTF-8
    # CSV: a quote before text that a spreadsheet would run as a formula (engine/text.py).
    # It alters values, so it is asked for by name and recorded in the manifest.
    excel_safe: bool = False
    # The time (UTC) stamped on members of zip containers (XLSX, ZIP); None: now. Tests fix it
    # so files are reproducible byte for byte.
    timestamp: datetime | None = None
    sheet_rows: int = 1_048_575  # XLSX: data rows a sheet (Excel's limit, less the header)
    row_group_rows: int = 65_536  # Parquet: rows a row group (a batch held in memory)
    # ZIP bundle (see writers/bundle.py):
    bundle_metadata: Literal["csv", "xlsx"] = "csv"  # the metadata file's format
    folder_template: str = "{category}/{class}/{noise_id}.{ext}"  # audio paths in the zip
    audio_path: Callable[[Row], str | PathLike[str] | None] | None = None  # row -> file on disk
    # Columns whose values trail each row after the written ones: the folder template and
    # audio_path may use them; the metadata file leaves them out.
    bundle_extra_columns: tuple[Column, ...] = ()
    manifest: Mapping[str, Any] | None = None  # provenance; the bundle adds its file list
    # GeoJSON: latitude and longitude when not among the written columns; their values trail
    # each row after the written ones, for the geometry only (see writers/geojson.py).
    geometry_columns: tuple[Column, ...] = ()
    dataset: DatasetOptions | None = None  # lay the bundle out as an ML dataset

    def __post_init__(self) -> None:
        for name in ("sheet_rows", "row_group_rows"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")


class Writer(Protocol):
    format: str  # the name in URLs and the registry: "csv"
    extension: str  # file name extension without the dot
    content_type: str

    def is_available(self) -> bool: ...

    def alterations(self, options: WriterOptions) -> list[str]:
        """Where the file's values differ from the stored ones (what the format cannot hold,
        or an option asked for), in words for the manifest; empty when the file is exact."""
        ...

    def stream(
        self, columns: Sequence[Column], rows: Iterable[Row], options: WriterOptions
    ) -> Iterator[bytes]: ...


def _all_writers() -> dict[str, Writer]:
    """Every implementation by a unique name; for one format the first available one serves."""
    from noisebank.exports.engine.writers.bundle import ZipBundleWriter
    from noisebank.exports.engine.writers.csv import CsvWriter
    from noisebank.exports.engine.writers.geojson import GeoJsonWriter
    from noisebank.exports.engine.writers.jsonl import JsonLinesWriter
    from noisebank.exports.engine.writers.parquet import ParquetWriter
    from noisebank.exports.engine.writers.xlsx import XlsxWriter
    from noisebank.exports.engine.writers.xlsx_xlsxwriter import XlsxWriterFallback

    return {
        "csv": CsvWriter(),
        "xlsx": XlsxWriter(),
        "xlsx-xlsxwriter": XlsxWriterFallback(),  # the long-trusted library, if ours is pulled
        "parquet": ParquetWriter(),
        "jsonl": JsonLinesWriter(),
        "geojson": GeoJsonWriter(),
        "zip": ZipBundleWriter(),
    }


def _registry(writers: dict[str, Writer]) -> dict[str, Writer]:
    registry: dict[str, Writer] = {}
    for writer in writers.values():
        if writer.is_available():
            registry.setdefault(writer.format, writer)
    return registry


ALL_WRITERS: dict[str, Writer] = _all_writers()
WRITERS: dict[str, Writer] = _registry(ALL_WRITERS)
