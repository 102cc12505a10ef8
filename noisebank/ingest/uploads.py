"""Keeping uploads on disk and within NOISEBANK_MAX_UPLOAD_MB, before a view sees them.

Two guards: a middleware refuses a request whose Content-Length already says it is too large,
before a byte of its body is read (a 2 GB upload costs nothing); an upload handler stops storing
a file the moment it passes the limit when the size was not announced (chunked transfer) or the
request held several files. Either way the client learns the limit in words.
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.http import HttpRequest, HttpResponse, JsonResponse

# Room for the form fields and multipart boundaries that travel with a file at the limit.
FORM_OVERHEAD_BYTES = 1024 * 1024


def max_upload_bytes() -> int:
    return int(settings.NOISEBANK_MAX_UPLOAD_MB) * 1024 * 1024


def too_large_reason(size: int | None = None) -> str:
    limit = settings.NOISEBANK_MAX_UPLOAD_MB
    if size is None:
        return f"The file is larger than the {limit} MB upload limit."
    return f"The file is {size / 1024 / 1024:,.0f} MB, larger than the {limit} MB upload limit."


class UploadSizeLimitMiddleware:
    """413 for a request whose announced body is over the upload limit, without reading it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or ""
        if raw.isdigit() and int(raw) > max_upload_bytes() + FORM_OVERHEAD_BYTES:
            reason = too_large_reason(int(raw))
            response: HttpResponse
            if request.path.startswith("/api/"):
                response = JsonResponse({"detail": reason}, status=413)
            else:
                response = HttpResponse(reason, status=413, content_type="text/plain")
            # The body was not read: the connection cannot carry another request.
            response["Connection"] = "close"
            return response
        return self.get_response(request)


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """Django's temporary-file handler that drops a file once it passes the upload limit.

    The names of dropped files are kept in ``request.oversized_uploads`` so the view can say
    which file was too large instead of "no file".
    """

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > max_upload_bytes():
            oversized = getattr(self.request, "oversized_uploads", [])
            oversized.append((self.field_name, self.file_name))
            self.request.oversized_uploads = oversized  # type: ignore[union-attr]
            self.upload_interrupted()
            raise SkipFile
        return super().receive_data_chunk(raw_data, start)


ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def limit_body_size(app: ASGIApp) -> ASGIApp:
    """ASGI guard: answer 413 to an announced over-limit body before anything reads it.

    Django's ASGI handler spools the whole body to disk before its middleware runs, so the
    middleware above alone would still take in 2 GB. A body that does not announce its length
    (chunked) is cut off, by ending the request, once it passes the same bound.
    """

    async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        bound = max_upload_bytes() + FORM_OVERHEAD_BYTES
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"content-length", b"").decode("latin-1")
        if raw.isdigit() and int(raw) > bound:
            is_api = scope.get("path", "").startswith("/api/")
            body = (
                json.dumps({"detail": too_large_reason(int(raw))}).encode()
                if is_api
                else too_large_reason(int(raw)).encode()
            )
            kind = b"application/json" if is_api else b"text/plain; charset=utf-8"
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [
                        (b"content-type", kind),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def counting_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > bound:
                    return {"type": "http.disconnect"}
            return message

        await app(scope, counting_receive, send)

    return guarded
