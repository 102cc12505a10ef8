"""Audio and exports in S3-compatible object storage, against a real S3 server (moto's).

moto's server speaks the S3 HTTP API, so django-storages and boto3 run unchanged. It does not
check signatures, so "an unsigned URL is refused" is the bucket's promise, not tested here.
"""

import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import RequestFactory

from noisebank.files import protected_storage_response
from noisebank.ops.tests.servers import ROOT, Process, base_env, free_port, start, wait_until

BODY = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    logs = tmp_path_factory.mktemp("moto")
    server: Process = start(
        "moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], {}, logs
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: urllib.request.urlopen(url + "/").status == 200, "moto", [server])
        yield url
    finally:
        server.stop()


@pytest.fixture
def s3_storages(settings: Any, s3_endpoint: str) -> dict[str, Any]:
    import boto3

    bucket = f"noisebank-{uuid.uuid4().hex[:12]}"
    options = {
        "bucket_name": bucket,
        "endpoint_url": s3_endpoint,
        "region_name": "us-east-1",
        "access_key": "test-key",
        "secret_key": "test-secret",
        "addressing_style": "path",
        "signature_version": "s3v4",
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 120,
        "file_overwrite": False,
    }
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    ).create_bucket(Bucket=bucket)
    backend = "storages.backends.s3.S3Storage"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": backend, "OPTIONS": {**options, "location": "media"}},
        "exports": {"BACKEND": backend, "OPTIONS": {**options, "location": "exports"}},
    }
    return options


def fetch(url: str, **headers: str) -> Any:
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10)


def test_an_authorised_download_is_a_redirect_to_a_short_lived_url(
    s3_storages: dict[str, Any],
) -> None:
    name = storages["default"].save("audio/2026/take one.wav", ContentFile(BODY))
    request = RequestFactory().get("/recordings/x/audio")
    response = protected_storage_response(
        request, storages["default"], name, download_name="Zoë's take.wav"
    )
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(response["Location"]).query)
    assert query["X-Amz-Expires"] == ["120"] and query["X-Amz-Signature"]
    assert query["response-content-type"] == ["audio/x-wav"]

    with fetch(response["Location"]) as download:
        assert download.read() == BODY
        assert "filename*=utf-8''Zo%C3%AB%27s%20take.wav" in download.headers["Content-Disposition"]
        assert download.headers["Content-Type"] == "audio/x-wav"
    with fetch(response["Location"], Range="bytes=1000-") as rest:
        assert rest.status == 206 and rest.read() == BODY[1000:]


def test_expiry_can_be_chosen_per_response(s3_storages: dict[str, Any]) -> None:
    name = storages["exports"].save("job/export.csv", ContentFile(b"n\n1\n"))
    response = protected_storage_response(
        RequestFactory().get("/x"), storages["exports"], name, expires=30
    )
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(response["Location"]).query)
    assert query["X-Amz-Expires"] == ["30"]
    assert urllib.parse.urlsplit(response["Location"]).path.endswith("/exports/job/export.csv")
    with fetch(response["Location"]) as download:
        assert download.read() == b"n\n1\n"


def settings_in_a_process(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    code = (
        "from django.core.files.storage import storages; "
        "s = storages['default']; e = storages['exports']; "
        "print(type(s).__name__, s.bucket_name, s.location, e.location, s.querystring_expire)"
    )
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", code],
        cwd=ROOT,
        env=base_env(tmp_path, **env),
        capture_output=True,
        text=True,
    )


def test_noisebank_storage_s3_puts_audio_and_exports_in_the_bucket(tmp_path: Path) -> None:
    result = settings_in_a_process(
        tmp_path, NOISEBANK_STORAGE="s3", NOISEBANK_S3_BUCKET="nb", NOISEBANK_S3_URL_SECONDS="90"
    )
    assert result.stdout.split() == ["S3Storage", "nb", "media", "exports", "90"], result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NOISEBANK_STORAGE": "s3"}, "NOISEBANK_STORAGE=s3 needs NOISEBANK_S3_BUCKET"),
        ({"NOISEBANK_STORAGE": "gcs"}, "NOISEBANK_STORAGE='gcs': use local or s3"),
    ],
)
def test_a_storage_setting_that_cannot_work_stops_the_start(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = settings_in_a_process(tmp_path, **env)
    assert result.returncode != 0 and message in result.stderr
