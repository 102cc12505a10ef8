from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory

from noisebank.files import protected_file_response

BODY = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def stored(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORT_ROOT = tmp_path / "exports"
    path = settings.MEDIA_ROOT / "audio" / "2026" / "a b.wav"
    path.parent.mkdir(parents=True)
    path.write_bytes(BODY)
    return path


def get(path: Path, **headers: str) -> Any:
    request = RequestFactory().get("/x", headers=headers)
    return protected_file_response(request, path, download_name="Zoë's take.wav")


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_whole_file_with_length_and_rfc6266_name(stored: Path) -> None:
    response = get(stored)
    assert response.status_code == 200
    assert body(response) == BODY
    assert response["Content-Length"] == str(len(BODY))
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "audio/x-wav"
    assert "filename*=utf-8''Zo%C3%AB%27s%20take.wav" in response["Content-Disposition"]


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=10000-", 10000, 10239), ("bytes=-40", 10200, 10239),
     ("bytes=10200-99999", 10200, 10239)],
)  # fmt: skip
def test_a_range_resumes_an_interrupted_download(
    stored: Path, header: str, first: int, last: int
) -> None:
    response = get(stored, Range=header)
    assert response.status_code == 206
    assert body(response) == BODY[first : last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(BODY)}"
    assert response["Content-Length"] == str(last - first + 1)


def test_unsatisfiable_range_is_416(stored: Path) -> None:
    response = get(stored, Range="bytes=20000-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(BODY)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "items=0-9", "bytes=x-y", "bytes=-"])
def test_ranges_we_do_not_serve_get_the_whole_file(stored: Path, header: str) -> None:
    response = get(stored, Range=header)
    assert response.status_code == 200 and body(response) == BODY


def test_if_range_with_a_stale_etag_sends_the_whole_new_file(stored: Path) -> None:
    response = get(stored, Range="bytes=0-9", **{"If-Range": '"stale"'})
    assert response.status_code == 200 and body(response) == BODY
    fresh = get(stored, Range="bytes=0-9", **{"If-Range": get(stored)["ETag"]})
    assert fresh.status_code == 206


def test_behind_nginx_the_app_sends_no_bytes_only_the_internal_location(
    stored: Path, settings: Any
) -> None:
    settings.NOISEBANK_X_ACCEL_REDIRECT = True
    response = get(stored)
    assert response["X-Accel-Redirect"] == "/_protected/media/audio/2026/a%20b.wav"
    assert response.content == b""
    assert "attachment" in response["Content-Disposition"]
