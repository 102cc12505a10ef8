"""Test-only views for the real-server tests, mounted by stack_site; the product has none of them.

- /_test/files/<media|exports>/<name>: a stored file after a login check, the way the audio and
  export downloads of the product serve theirs (noisebank.files.protected_file_response).
- /_test/stream?rows=N&seconds=S&hold=PATH: N CSV rows spread over S seconds, marked
  `X-Accel-Buffering: no` as the streaming exports are; with `hold`, it sends the header line and
  waits until the file PATH exists before sending the rest.
"""

import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import path

from noisebank.files import protected_file_response, streaming_body
from noisebank.urls import urlpatterns as product_urlpatterns


def stored_file(request: HttpRequest, root: str, name: str) -> HttpResponse:
    roots = {"media": Path(settings.MEDIA_ROOT), "exports": Path(settings.EXPORT_ROOT)}
    if root not in roots:
        raise Http404
    file = (roots[root] / name).resolve()
    if not file.is_file() or not file.is_relative_to(roots[root].resolve()):
        raise Http404
    return protected_file_response(request, file)  # type: ignore[return-value]


def row(n: int) -> bytes:
    return f"{n},{n * n % 1_000_003},row {n}\n".encode()


def csv_rows(rows: int, seconds: float, hold: str | None) -> Iterator[bytes]:
    yield b"n,square,label\n"
    if hold:
        deadline = time.monotonic() + 120
        while not Path(hold).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    ticks = max(1, int(seconds))
    per_tick = -(-rows // ticks)
    for first in range(0, rows, per_tick):
        yield b"".join(row(n) for n in range(first, min(rows, first + per_tick)))
        if seconds:
            time.sleep(seconds / ticks)


def stream(request: HttpRequest) -> StreamingHttpResponse:
    body = csv_rows(
        int(request.GET.get("rows", "1000")),
        float(request.GET.get("seconds", "0")),
        request.GET.get("hold"),
    )
    response = StreamingHttpResponse(streaming_body(request, body), content_type="text/csv")
    response["X-Accel-Buffering"] = "no"
    return response


urlpatterns = [
    path("_test/files/<str:root>/<path:name>", stored_file),
    path("_test/stream", stream),
    *product_urlpatterns,
]
