"""Serving stored files (audio, finished exports) only after the view has checked permission.

Behind nginx (NOISEBANK_X_ACCEL_REDIRECT=1) the app answers with an `X-Accel-Redirect` header and
nginx sends the bytes from an `internal` location, with Range support of its own. Without nginx
the app streams the file itself and honours a single `Range: bytes=…` request, so an interrupted
download can resume either way. Files in object storage (NOISEBANK_STORAGE=s3) are answered with
a redirect to a short-lived presigned URL: `protected_storage_response`.
"""

import mimetypes
import os
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, cast
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.utils.http import content_disposition_header, http_date

CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def internal_location(path: Path) -> str | None:
    """The nginx-internal URL of a file under MEDIA_ROOT or EXPORT_ROOT."""
    resolved = path.resolve()
    for root, prefix in (
        (Path(settings.MEDIA_ROOT), "/_protected/media/"),
        (Path(settings.EXPORT_ROOT), "/_protected/exports/"),
    ):
        try:
            relative = resolved.relative_to(root.resolve())
        except ValueError:
            continue
        return prefix + quote(relative.as_posix())
    return None


def _byte_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """(first, last) of a satisfiable single range; None: send it all; False: unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match:
        return None  # multiple or malformed ranges: RFC 9110 lets us ignore Range
    first_s, last_s = match.groups()
    if not first_s and not last_s:
        return None
    if not first_s:  # the last N bytes
        n = int(last_s)
        if n == 0:
            return False
        return max(0, size - n), size - 1
    first = int(first_s)
    last = min(int(last_s), size - 1) if last_s else size - 1
    if first >= size or first > last:
        return False
    return first, last


class ExportFileStorage(FileSystemStorage):
    """Finished export files under EXPORT_ROOT (looked up at each use, as MEDIA_ROOT is)."""

    @property
    def base_location(self) -> str:
        given = self._location  # type: ignore[attr-defined]
        return str(self._value_or_setting(given, settings.EXPORT_ROOT))

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)


async def _in_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    # thread_sensitive: every chunk is made in the request's one sync thread, so a generator
    # holding a database cursor keeps using the connection it opened.
    def pull() -> bytes | None:
        return next(chunks, None)

    pull_in_thread = sync_to_async(pull, thread_sensitive=True)
    try:
        while (block := await pull_in_thread()) is not None:
            yield block
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            await sync_to_async(close, thread_sensitive=True)()


def streaming_body(request: HttpRequest, chunks: Iterable[bytes]) -> Iterable[bytes] | Any:
    """The body of a StreamingHttpResponse from a plain (sync) generator of chunks.

    Under ASGI (uvicorn) Django consumes a *sync* iterator whole with `list()` before sending a
    byte — a multi-gigabyte file or export would sit in memory. There we hand Django an async
    iterator that pulls one chunk at a time; under WSGI (and the test client) the generator as is.
    """
    if isinstance(request, ASGIRequest):
        return _in_thread(iter(chunks))
    return chunks


def _read(path: Path, first: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(first)
        while length > 0:
            block = f.read(min(CHUNK, length))
            if not block:
                return
            length -= len(block)
            yield block


def protected_file_response(
    request: HttpRequest,
    path: Path,
    *,
    download_name: str | None = None,
    content_type: str | None = None,
    as_attachment: bool = True,
) -> HttpResponse | StreamingHttpResponse:
    """The file at `path`, to a client the caller has already authorised."""
    content_type = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    disposition = content_disposition_header(as_attachment, download_name or path.name)
    location = internal_location(path) if settings.NOISEBANK_X_ACCEL_REDIRECT else None
    if location:
        redirect = HttpResponse(content_type=content_type)
        redirect["X-Accel-Redirect"] = location
        if disposition:
            redirect["Content-Disposition"] = disposition
        return redirect

    stat = path.stat()
    size = stat.st_size
    etag = f'"{size:x}-{stat.st_mtime_ns:x}"'
    byte_range = None
    if "Range" in request.headers and request.headers.get("If-Range", etag) in (
        etag,
        http_date(stat.st_mtime),
    ):
        byte_range = _byte_range(request.headers["Range"], size)
    if byte_range is False:
        refusal = HttpResponse(status=416)
        refusal["Content-Range"] = f"bytes */{size}"
        return refusal
    first, last = byte_range if isinstance(byte_range, tuple) else (0, size - 1)
    length = last - first + 1 if size else 0
    response = StreamingHttpResponse(
        streaming_body(request, _read(path, first, length)),
        content_type=content_type,
        status=206 if isinstance(byte_range, tuple) else 200,
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["Last-Modified"] = http_date(stat.st_mtime)
    if isinstance(byte_range, tuple):
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    if disposition:
        response["Content-Disposition"] = disposition
    return response


def protected_storage_response(
    request: HttpRequest,
    storage: Storage,
    name: str,
    *,
    download_name: str | None = None,
    content_type: str | None = None,
    as_attachment: bool = True,
    expires: int | None = None,
) -> HttpResponse | StreamingHttpResponse:
    """The file `name` of a Django storage, to a client the caller has already authorised.

    A storage with files on disk goes through protected_file_response (X-Accel-Redirect or a
    Range-aware stream). Object storage (django-storages' S3Storage) answers 302 to a presigned
    URL valid for `expires` seconds (default NOISEBANK_S3_URL_SECONDS): the bucket sends the
    bytes, with Range support, under the download name given here.
    """
    try:
        path = storage.path(name)
    except NotImplementedError:
        pass
    else:
        return protected_file_response(
            request,
            Path(path),
            download_name=download_name,
            content_type=content_type,
            as_attachment=as_attachment,
        )
    filename = download_name or PurePosixPath(name).name
    parameters = {
        "ResponseContentDisposition": content_disposition_header(as_attachment, filename),
        "ResponseContentType": content_type
        or mimetypes.guess_type(filename)[0]
        or "application/octet-stream",
    }
    url = cast(Any, storage).url(name, parameters=parameters, expire=expires)
    redirect = HttpResponseRedirect(url)
    # The URL is a bearer secret until it expires: keep it out of shared caches.
    redirect["Cache-Control"] = "private, no-store"
    return redirect
