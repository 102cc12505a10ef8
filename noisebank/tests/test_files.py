import warnings
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


def test_under_asgi_the_file_is_pulled_chunk_by_chunk(stored: Path) -> None:
    """Django would list() a sync iterator under ASGI, holding the whole file in memory."""
    from asgiref.sync import async_to_sync
    from django.test import AsyncRequestFactory

    request = AsyncRequestFactory().get("/x", headers={"Range": "bytes=100-"})
    response = protected_file_response(request, stored)
    assert response.is_async

    async def collect() -> list[bytes]:
        return [chunk async for chunk in response]

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "must consume synchronous iterators" would fail here
        chunks = async_to_sync(collect)()
    assert response.status_code == 206 and b"".join(chunks) == BODY[100:]


def test_export_storage_follows_export_root(settings: Any, tmp_path: Path) -> None:
    from django.core.files.base import ContentFile
    from django.core.files.storage import storages

    settings.EXPORT_ROOT = tmp_path / "elsewhere"
    name = storages["exports"].save("job/result.csv", ContentFile(b"a,b\n"))
    assert (tmp_path / "elsewhere" / name).read_bytes() == b"a,b\n"


def test_a_local_storage_file_goes_through_the_protected_file_path(
    stored: Path, settings: Any
) -> None:
    from django.core.files.storage import storages

    from noisebank.files import protected_storage_response

    request = RequestFactory().get("/x", headers={"Range": "bytes=0-9"})
    response = protected_storage_response(request, storages["default"], "audio/2026/a b.wav")
    assert response.status_code == 206 and body(response) == BODY[:10]
    settings.NOISEBANK_X_ACCEL_REDIRECT = True
    response = protected_storage_response(request, storages["default"], "audio/2026/a b.wav")
    assert response["X-Accel-Redirect"] == "/_protected/media/audio/2026/a%20b.wav"
