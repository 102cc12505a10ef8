"""The real nginx, with deploy/nginx.conf.template, in front of a real `noisebank serve` and worker.

nginx runs unprivileged (as `nobody` when the tests run as root), with its own prefix, pid, logs
and temporary files in a temporary folder, on free ports. The app runs the test-only views of
stack_urls beside the product's (protected files, a long CSV stream) until the product's own
download endpoints land.
"""

import gzip
import hashlib
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from noisebank.ops.tests.servers import (
    Browser,
    Process,
    base_env,
    free_port,
    fresh_database,
    nginx_binary,
    nginx_command,
    on_postgres,
    render_nginx_config,
    run,
    shared_tmpdir,
    start,
    start_noisebank,
    wait_until,
)
from noisebank.ops.tests.stack_urls import row

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.skipif(
        nginx_binary() is None,
        reason="nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)",
    ),
]

PASSWORD = "stack-test-pw"
METRICS_TOKEN = "stack-metrics-token-0123456789"
EXPORT_NAME = "Übung 1 (rain).csv"  # a space, brackets and a non-ASCII letter in the URL
AUDIO_NAME = "audio/2026/11/take 7.wav"


@dataclass
class Stack:
    url: str
    folder: Path
    data: Path
    export_body: bytes
    audio_body: bytes
    web: Process
    worker: Process
    nginx: Process


def test_nginx_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    folder = shared_tmpdir("noisebank-nginx-t-")
    try:
        render_nginx_config(
            folder, base_env(tmp_path), NOISEBANK_NGINX_LISTEN=f"127.0.0.1:{free_port()}"
        )
        result = subprocess.run(nginx_command(folder, "-t"), capture_output=True, text=True)
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    if not on_postgres():
        pytest.skip("the nginx stack runs on PostgreSQL, as in production: in the PostgreSQL pass")
    folder = shared_tmpdir("noisebank-stack-")
    data = folder / "data"
    try:
        with fresh_database("stack", folder) as database_url:
            yield from _run_stack(folder, data, database_url)
    finally:
        subprocess.run(["rm", "-rf", str(folder)], check=True)


def _run_stack(folder: Path, data: Path, database_url: str) -> Iterator[Stack]:
    app_port, nginx_port = free_port(), free_port()
    env = base_env(
        data,
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="noisebank.ops.tests.stack_site",
        NOISEBANK_X_ACCEL_REDIRECT="1",
        NOISEBANK_MAX_UPLOAD_MB="1",
        NOISEBANK_METRICS_TOKEN=METRICS_TOKEN,
        NOISEBANK_LOG_FORMAT="json",
        NOISEBANK_HEARTBEAT_SECONDS="1",
    )
    run(["migrate", "-v", "0"], env)
    run(["seed", "--audio", "0", "--count", "20", "--password", PASSWORD], env)
    export_body = os.urandom(3 * 2**20 + 12345)
    audio_body = os.urandom(200_000)
    (data / "exports").mkdir(parents=True)
    (data / "exports" / EXPORT_NAME).write_bytes(export_body)
    (data / "media" / AUDIO_NAME).parent.mkdir(parents=True)
    (data / "media" / AUDIO_NAME).write_bytes(audio_body)

    logs = folder / "logs"
    web = start_noisebank("web", ["serve", "--port", str(app_port)], env, logs)
    worker = start_noisebank("worker", ["worker"], env, logs)
    nginx_dir = folder / "nginx"
    render_nginx_config(
        nginx_dir,
        env,
        NOISEBANK_NGINX_LISTEN=f"127.0.0.1:{nginx_port}",
        NOISEBANK_UPSTREAM=f"127.0.0.1:{app_port}",
    )
    nginx = start("nginx", nginx_command(nginx_dir, "-g", "daemon off;"), {}, logs)
    url = f"http://127.0.0.1:{nginx_port}"
    procs = [web, worker, nginx]
    try:

        def worker_seen() -> bool:
            with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
                return bool(json.loads(response.read())["workers"]["alive"])

        wait_until(worker_seen, "the app and its worker, through nginx", procs)
        yield Stack(url, folder, data, export_body, audio_body, web, worker, nginx)
    finally:
        for p in reversed(procs):
            p.stop()


def logged_in(stack: Stack) -> Browser:
    browser = Browser(stack.url)
    browser.log_in("researcher", PASSWORD)
    return browser


def quoted(name: str) -> str:
    return urllib.request.pathname2url(name)


def test_the_app_and_nginx_run_as_they_should(stack: Stack) -> None:
    nginx_users = subprocess.run(
        [
            "ps",
            "-o",
            "user=",
            "--ppid",
            str(stack.nginx.popen.pid),
            "-p",
            str(stack.nginx.popen.pid),
        ],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert nginx_users and "root" not in nginx_users


@pytest.mark.parametrize(
    "path",
    [
        f"/_test/files/exports/{quoted(EXPORT_NAME)}",
        f"/_test/files/media/{quoted(AUDIO_NAME)}",
        f"/_protected/exports/{quoted(EXPORT_NAME)}",
        f"/_protected/media/{quoted(AUDIO_NAME)}",
        f"/media/{quoted(AUDIO_NAME)}",
        f"/exports/{quoted(EXPORT_NAME)}",
    ],
)
def test_an_anonymous_request_gets_none_of_the_files_bytes(stack: Stack, path: str) -> None:
    response = Browser(stack.url).open(path)
    body = response.read()
    assert response.status in (302, 404)
    assert stack.export_body[:4096] not in body and stack.audio_body[:4096] not in body
    if path.startswith("/_protected/"):
        assert response.status == 404  # internal: unreachable from outside, even its existence


def test_a_logged_in_download_goes_through_nginx_and_resumes_with_a_range(stack: Stack) -> None:
    browser = logged_in(stack)
    path = f"/_test/files/exports/{quoted(EXPORT_NAME)}"
    first = browser.open(path)
    assert first.status == 200
    assert "X-Accel-Redirect" not in first.headers  # nginx consumed it
    assert first.headers["Content-Length"] == str(len(stack.export_body))
    assert first.headers["Accept-Ranges"] == "bytes"
    assert (
        "filename*=utf-8''%C3%9Cbung%201%20%28rain%29.csv" in first.headers["Content-Disposition"]
    )
    assert "Content-Encoding" not in first.headers
    received = first.read(1_000_000)  # … and the connection drops
    first.close()

    rest = browser.open(path, headers={"Range": f"bytes={len(received)}-"})
    assert rest.status == 206
    assert rest.headers["Content-Range"] == (
        f"bytes {len(received)}-{len(stack.export_body) - 1}/{len(stack.export_body)}"
    )
    whole = received + rest.read()
    assert hashlib.sha256(whole).hexdigest() == hashlib.sha256(stack.export_body).hexdigest()


def test_audio_is_served_from_the_media_location(stack: Stack) -> None:
    response = logged_in(stack).open(
        f"/_test/files/media/{quoted(AUDIO_NAME)}", headers={"Range": "bytes=-1000"}
    )
    assert response.status == 206 and response.read() == stack.audio_body[-1000:]
    assert response.headers["Content-Type"] == "audio/x-wav"


def test_a_stream_is_passed_on_as_it_is_produced(stack: Stack) -> None:
    """The app marks it X-Accel-Buffering: no; nginx must not hold the first line back."""
    hold = stack.folder / "release-the-rest"
    response = logged_in(stack).open(f"/_test/stream?rows=1000&hold={hold}", timeout=20)
    assert response.status == 200
    assert response.readline() == b"n,square,label\n"  # before the app has produced the rest
    hold.touch()
    lines = response.read().splitlines(keepends=True)
    assert len(lines) == 1000 and lines[-1] == row(999)


def test_a_stream_is_not_spooled_to_disk_by_nginx(stack: Stack) -> None:
    """Buffered, nginx reads a big response as fast as the app makes it and spools what a slow
    client has not taken yet into temporary files (up to 1 GB each). X-Accel-Buffering: no
    turns that off for the stream: the app makes rows as fast as the client takes them."""
    response = logged_in(stack).open("/_test/stream?rows=2000000")  # ≈ 60 MB
    assert response.readline() == b"n,square,label\n"
    time.sleep(1)  # a slow client: buffered, nginx would now spool the rest
    assert response.read().count(b"\n") == 2_000_000
    errors = (stack.folder / "nginx" / "error.log").read_text()
    assert "buffered to a temporary file" not in errors


def test_a_stream_longer_than_nginx_read_timeout_arrives_whole(stack: Stack) -> None:
    """1,000,000 rows over 65 s through nginx's default 60 s proxy_read_timeout: it limits the
    gap between two reads, not the whole response, so a stream that keeps sending completes."""
    rows, seconds = 1_000_000, 65
    response = logged_in(stack).open(f"/_test/stream?rows={rows}&seconds={seconds}", timeout=30)
    assert response.status == 200
    digest, count = hashlib.sha256(), 0
    expected = hashlib.sha256(b"n,square,label\n" + b"".join(row(n) for n in range(rows)))
    while block := response.read(1 << 16):
        digest.update(block)
        count += block.count(b"\n")
    assert count == rows + 1
    assert digest.hexdigest() == expected.hexdigest()


def test_pages_and_json_are_compressed_downloads_are_not(stack: Stack) -> None:
    browser = logged_in(stack)
    gz = {"Accept-Encoding": "gzip"}
    page = browser.open("/recordings/", headers=gz)
    assert page.headers["Content-Encoding"] == "gzip"
    assert b"<html" in gzip.decompress(page.read())
    api = browser.open("/api/v1/openapi.json", headers=gz)
    assert api.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(api.read()))["info"]["title"] == "Noisebank API"
    for path in (f"/_test/files/exports/{quoted(EXPORT_NAME)}", "/_test/stream?rows=5000"):
        download = browser.open(path, headers=gz)
        assert "Content-Encoding" not in download.headers, path
        download.read()


def test_a_body_over_the_upload_limit_is_refused_by_nginx(stack: Stack) -> None:
    response = Browser(stack.url).open(
        "/accounts/login/", data=b"x" * (2 * 2**20), headers={"Content-Type": "text/plain"}
    )
    assert response.status == 413


def test_a_link_listing_a_thousand_noise_ids_passes_nginx_and_the_app(stack: Stack) -> None:
    browser = logged_in(stack)
    listed = json.loads(browser.open("/api/v1/recordings?size=3&columns=noise_id").read())
    real = [r["noise_id"] for r in listed["results"]]
    # The longest ids there can be (64 characters), each as a parameter of its own: ~75 KB.
    ids = [*real, *(f"NSE-{i:060d}" for i in range(1000 - len(real)))]
    query = "&".join(f"noise_id={i}" for i in ids)
    assert len(query) > 70_000
    answer = browser.open(f"/api/v1/recordings?{query}&columns=noise_id")
    assert answer.status == 200
    assert sorted(r["noise_id"] for r in json.loads(answer.read())["results"]) == sorted(real)
    assert browser.open(f"/recordings/?{query}").status == 200
    one_more = browser.open(f"/api/v1/recordings?{query}&noise_id=NSE-X")
    assert one_more.status == 400
    assert json.loads(one_more.read())["errors"][0]["param"] == "noise_id"


def test_request_ids_run_from_nginx_through_the_app_log(stack: Stack) -> None:
    mine = Browser(stack.url).open("/accounts/login/", headers={"X-Request-ID": "trace-0042"})
    assert mine.headers["X-Request-ID"] == "trace-0042"
    nginx_made = Browser(stack.url).open("/accounts/login/").headers["X-Request-ID"]
    assert len(nginx_made) == 32  # nginx's $request_id, passed on to the app
    app_lines = [json.loads(line) for line in stack.web.output().splitlines() if line.strip()]
    assert {"trace-0042", nginx_made} <= {e.get("request_id") for e in app_lines}
    nginx_lines = [
        json.loads(line)
        for line in (stack.folder / "nginx" / "access.log").read_text().splitlines()
    ]
    assert {"trace-0042", nginx_made} <= {e["request_id"] for e in nginx_lines}


def test_metrics_through_nginx_see_the_worker(stack: Stack) -> None:
    browser = Browser(stack.url)
    assert browser.open("/metrics").status == 401
    response = browser.open("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    text = response.read().decode()
    assert response.status == 200
    assert "noisebank_workers_alive 1.0" in text
    assert 'noisebank_http_requests_total{method="GET",status="200",view="healthz"}' in text


def test_the_app_sees_the_client_address_nginx_forwards(stack: Stack) -> None:
    """uvicorn runs with --proxy-headers and trusts nginx (forwarded-allow-ips): the address it
    logs is the one in X-Forwarded-For, not nginx's. (Here the test client itself sits on a
    trusted address, so the header it sends is believed; on a server, nginx's own
    $remote_addr is the rightmost, untrusted entry, and wins.)"""
    Browser(stack.url).open(
        "/accounts/login/", headers={"X-Request-ID": "from-afar", "X-Forwarded-For": "203.0.113.9"}
    ).read()
    lines = [json.loads(line) for line in stack.web.output().splitlines() if line.strip()]
    (entry,) = [e for e in lines if e.get("request_id") == "from-afar"]
    assert entry["client"] == "203.0.113.9"
