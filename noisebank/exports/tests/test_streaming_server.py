"""Downloads through the real server (uvicorn, ASGI), as clients get them."""

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from noisebank.accounts.models import token_create
from noisebank.exports.tests.readback import open_connections, settled_connections
from noisebank.testing import database_url, make_many_recordings

pytestmark = pytest.mark.usefixtures("transactional_db")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log

    def connections(self) -> int:
        return open_connections(self.process.pid)

    def settled(self, expected: int) -> int:
        return settled_connections(expected, self.process.pid)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "NOISEBANK_DATA_DIR": str(tmp_path),
        "NOISEBANK_LOG_LEVEL": "WARNING",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "noisebank.cli", "serve", "--port", str(port),
             "--log-level", "warning"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield Server(process, port, log)
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def token(alice: User) -> str:
    return token_create(user=alice)[1]


def test_a_client_that_disconnects_stops_the_export_and_frees_its_connection(
    server: Server, token: str
) -> None:
    # 8,000 rows of 4 kB: far more than the socket buffers and the few chunks read ahead.
    make_many_recordings(8_000, description="Field notes. " * 300)
    baseline = server.settled(0)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(
            b"GET /api/v1/recordings/export.csv?columns=noise_id,description HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\nAuthorization: Bearer " + token.encode() + b"\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"x-row-count: 8000" in head.lower()
        # The first bytes are here while the export's snapshot is still being read: streamed.
        assert server.connections() > baseline
    # The client is gone: the server stops reading and closes the export's connection.
    assert server.settled(baseline) == baseline, server.log.read_text()
    assert server.process.poll() is None


def test_a_full_download_through_the_server_has_every_row(server: Server, token: str) -> None:
    recs = make_many_recordings(3_000)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request(
        "GET",
        "/api/v1/recordings/export.csv?columns=noise_id,laeq",
        headers={"Authorization": f"Bearer {token}"},
    )
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.getheader("X-Accel-Buffering") == "no"
    lines = response.read().decode().split("\r\n")
    assert lines[0] == "noise_id,laeq"
    assert [line.split(",")[0] for line in lines[1:-1]] == [r.noise_id for r in recs]
    assert int(response.getheader("X-Row-Count") or -1) == len(recs)
    assert server.settled(0) == 0


def test_the_server_answers_bad_requests_with_json(server: Server, token: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", "/api/v1/recordings/export.csv?laeq_min=loud")
    assert conn.getresponse().status == 401
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request(
        "GET",
        "/api/v1/recordings/export.csv?laeq_min=loud",
        headers={"Authorization": f"Bearer {token}"},
    )
    response = conn.getresponse()
    assert response.status == 400
    assert b"laeq_min=loud: must be a number." in response.read()
