"""A zip archive written front to back into memory that the caller drains as it goes.

The standard library's ZipFile writes to a stream it cannot seek (sizes and CRCs then follow
each member in a data descriptor), so a generator can write a member a chunk at a time and
yield whatever bytes that produced: nothing is assembled in memory or on disk. Unlike
zipstream-ng it lets each member carry a fixed timestamp (reproducible files) and decide its
members while it runs (an XLSX learns how many sheets it has only at the end).
"""

import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from noisebank.exports.engine.writers.sink import ChunkSink

COPY_CHUNK = 1 << 20
# A member whose size is unknown when it starts is written without Zip64 extensions (readable
# by every unzip and spreadsheet, no "repair" prompt in Excel) and so must stay below 2 GiB
# (zipfile's limit); writers start a new member (XLSX: a new sheet) rather than pass it.
MEMBER_LIMIT = (1 << 31) - 1


class StreamingZip:
    def __init__(self, timestamp: datetime | None = None, compresslevel: int = 6) -> None:
        when = (timestamp or datetime.now(UTC)).astimezone(UTC)
        self.date_time = (
            max(when.year, 1980),
            when.month,
            when.day,
            when.hour,
            when.minute,
            when.second,
        )
        self.compresslevel = compresslevel
        self._sink = ChunkSink()
        self._zip = zipfile.ZipFile(self._sink, "w")  # type: ignore[arg-type,unused-ignore]

    @property
    def position(self) -> int:
        """Bytes produced so far (drained or not)."""
        return self._sink.position

    def drain(self) -> bytes:
        return self._sink.drain()

    def _info(self, arcname: str, deflate: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(arcname, self.date_time)
        info.external_attr = 0o644 << 16
        if deflate:
            info.compress_type = zipfile.ZIP_DEFLATED
            info._compresslevel = self.compresslevel  # type: ignore[attr-defined]
        return info

    def open(self, arcname: str, *, deflate: bool = True, zip64: bool = False) -> IO[bytes]:
        """A member to write into; drain between writes, close it before the next member.
        Without zip64 it must stay under MEMBER_LIMIT bytes."""
        return self._zip.open(self._info(arcname, deflate), "w", force_zip64=zip64)

    def add_bytes(self, arcname: str, data: bytes, *, deflate: bool = True) -> bytes:
        info = self._info(arcname, deflate)
        info.file_size = len(data)
        with self._zip.open(info, "w") as member:
            member.write(data)
        return self.drain()

    def add_file(self, arcname: str, path: Path, *, deflate: bool = False) -> Iterator[bytes]:
        """Copy a file into the archive a megabyte at a time; stored (not deflated) by default."""
        info = self._info(arcname, deflate)
        info.file_size = path.stat().st_size
        with path.open("rb") as source, self._zip.open(info, "w") as member:
            while block := source.read(COPY_CHUNK):
                member.write(block)
                yield self.drain()
        yield self.drain()

    def add_stream(
        self, arcname: str, source: IO[bytes], size: int, *, deflate: bool = False
    ) -> Iterator[bytes]:
        """Like add_file, from an open file of `size` bytes (read from where it stands)."""
        info = self._info(arcname, deflate)
        info.file_size = size
        with self._zip.open(info, "w") as member:
            while block := source.read(COPY_CHUNK):
                member.write(block)
                yield self.drain()
        yield self.drain()

    def close(self) -> bytes:
        """Write the central directory and return the last bytes."""
        self._zip.close()
        return self.drain()


def entry_overhead(arcname: str) -> int:
    """Bytes a stored member adds besides its data, at most (local header, data descriptor,
    central directory entry, all with Zip64 fields): what a split-by-size needs to plan."""
    name = len(arcname.encode())
    return (30 + name + 20) + 24 + (46 + name + 28)
