"""Resumable uploads in chunks, for big files and unreliable networks.

    start   POST   /api/v1/uploads {filename, size}            -> {upload_id, offset: 0}
    send    PUT    /api/v1/uploads/{id}  Content-Range: bytes a-b/size, body = those bytes
    resume  GET    /api/v1/uploads/{id}                         -> {offset}: send from there
    finish  POST   /api/v1/uploads/{id}/finish {metadata}       -> 201 {noise_id, status}
    abort   DELETE /api/v1/uploads/{id}

A chunk must start exactly at the current offset (else 409 with the offset), so a retried chunk
can never be written twice. The offset is the length of the part file on disk: a chunk cut off
half way counts for what arrived. The finished file goes through the same recording_create as
every other upload. Unfinished uploads are deleted after NOISEBANK_UPLOAD_TTL_HOURS.
"""

from __future__ import annotations

import errno
import fcntl
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from noisebank.ingest.models import ChunkedUpload
from noisebank.ingest.services import Created, UploadRejected, recording_create
from noisebank.ingest.uploads import max_upload_bytes, too_large_reason

CHUNK_SIZE = 8 * 1024 * 1024  # what clients are told to send
MAX_CHUNK = 16 * 1024 * 1024
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_READ = 256 * 1024


class ChunkError(Exception):
    """A chunk request that cannot be applied: HTTP ``status``, a reason and the offset."""

    def __init__(self, status: int, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.offset = offset


def upload_start(*, owner: User, filename: str, size: int) -> ChunkedUpload:
    if size <= 0:
        raise UploadRejected("The file is empty (0 bytes).", kind="audio")
    if size > max_upload_bytes():
        raise UploadRejected(too_large_reason(size), kind="too_large")
    upload = ChunkedUpload.objects.create(owner=owner, filename=filename[:255], size=size)
    Path(settings.UPLOAD_ROOT).mkdir(parents=True, exist_ok=True)
    upload.path.touch(mode=0o640)
    return upload


def parse_content_range(header: str | None, upload: ChunkedUpload) -> tuple[int, int]:
    match = _CONTENT_RANGE.match((header or "").strip())
    if not match:
        raise ChunkError(
            400, "Send the chunk's place as Content-Range: bytes FIRST-LAST/SIZE.", upload.offset
        )
    first, last, total = (int(g) for g in match.groups())
    if total != upload.size:
        raise ChunkError(
            400, f"Content-Range says the file has {total} bytes; it was started as {upload.size}.",
            upload.offset,
        )  # fmt: skip
    if last < first or last >= upload.size:
        raise ChunkError(416, f"bytes {first}-{last} lie outside the file.", upload.offset)
    if last - first + 1 > MAX_CHUNK:
        raise ChunkError(413, f"A chunk may hold at most {MAX_CHUNK // 2**20} MB.", upload.offset)
    return first, last


def upload_append(*, upload: ChunkedUpload, first: int, last: int, body: IO[bytes]) -> int:
    """Write bytes first..last from ``body`` at the end of the part file; return the new offset."""
    path = upload.path
    if not path.exists():
        raise ChunkError(410, "This upload has expired or was aborted; start it again.", 0)
    # Unbuffered: when the disk fills, nothing is left in a buffer to be written at close.
    with path.open("ab", buffering=0) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ChunkError(409, "Another chunk of this upload is being written.", -1) from None
        offset = f.seek(0, 2)
        if first != offset:
            raise ChunkError(409, f"The upload continues at byte {offset}.", offset)
        remaining = last - first + 1
        while remaining > 0:
            block = body.read(min(_READ, remaining))
            if not block:
                break  # the client went away: what arrived counts
            try:
                view = memoryview(block)
                while view:
                    view = view[f.write(view) :]
            except OSError as e:
                # Disk full (or failing): the chunk is not kept, not even in part, so the
                # upload resumes where it was before it.
                f.truncate(first)
                if e.errno == errno.ENOSPC:
                    raise ChunkError(
                        507,
                        f"The server is out of disk space: this chunk was not kept. The upload "
                        f"continues at byte {first} when there is room; try again later.",
                        first,
                    ) from e
                raise
            remaining -= len(block)
        offset = f.tell()
    if remaining > 0:
        raise ChunkError(400, f"The body ended {remaining} bytes short of Content-Range.", offset)
    return offset


def upload_finish(
    *, upload: ChunkedUpload, metadata: Mapping[str, Any], collector: User
) -> Created:
    offset = upload.offset
    if offset != upload.size:
        raise ChunkError(409, f"The upload is incomplete: {offset} of {upload.size} bytes.", offset)
    try:
        created = recording_create(
            file=upload.path, filename=upload.filename, metadata=metadata, collector=collector,
            move=True,
        )  # fmt: skip
    except UploadRejected as e:
        # Bad metadata can be corrected, and a full disk freed, and the finish sent again.
        if e.kind not in ("metadata", "no_space"):
            upload_abort(upload)
        raise
    upload.delete()
    return created


def upload_abort(upload: ChunkedUpload) -> None:
    upload.path.unlink(missing_ok=True)
    upload.delete()


def uploads_sweep_expired() -> int:
    cutoff = timezone.now() - timedelta(hours=settings.NOISEBANK_UPLOAD_TTL_HOURS)
    expired = list(ChunkedUpload.objects.filter(created_at__lt=cutoff))
    for upload in expired:
        upload_abort(upload)
    return len(expired)
