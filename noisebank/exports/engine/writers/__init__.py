"""Writer plug-ins, one module each, registered in WRITERS.

A writer turns columns and an iterable of row tuples into an iterator of bytes chunks, pulling
rows as it goes so memory stays flat; the caller streams the chunks to a client or a file.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from noisebank.exports.engine.columns import Column

Row = tuple[Any, ...]


@dataclass(frozen=True)
class WriterOptions:
    bom: bool = False  # CSV: start with a UTF-8 byte-order mark so Excel reads it as UTF-8


class Writer(Protocol):
    format: str  # the name in URLs and the registry: "csv"
    extension: str  # file name extension without the dot
    content_type: str

    def is_available(self) -> bool: ...

    def stream(
        self, columns: Sequence[Column], rows: Iterable[Row], options: WriterOptions
    ) -> Iterator[bytes]: ...


def _registry() -> dict[str, Writer]:
    from noisebank.exports.engine.writers.csv import CsvWriter

    return {w.format: w for w in (CsvWriter(),) if w.is_available()}


WRITERS: dict[str, Writer] = _registry()
