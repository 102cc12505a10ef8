import json
import logging
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from noisebank.ops.tests.servers import base_env, free_port, run, start_noisebank, wait_until


def test_every_response_carries_a_request_id(client: Client, db: None) -> None:
    first, second = client.get("/healthz")["X-Request-ID"], client.get("/healthz")["X-Request-ID"]
    assert len(first) == 32 and first != second


def test_a_valid_incoming_request_id_is_kept(client: Client, db: None) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "5f0c-lb:42"})
    assert response["X-Request-ID"] == "5f0c-lb:42"


@pytest.mark.parametrize("given", ["", "has space", "x" * 129, "<script>", "é"])
def test_an_unusable_incoming_request_id_is_replaced(client: Client, db: None, given: str) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": given})
    assert response["X-Request-ID"] != given and len(response["X-Request-ID"]) == 32


def test_each_request_is_logged_once_with_its_view_status_and_user(
    client: Client, alice: User, caplog: pytest.LogCaptureFixture
) -> None:
    client.force_login(alice)
    with caplog.at_level(logging.INFO, logger="noisebank.request"):
        response = client.get("/recordings/?size=7")
    (entry,) = [r for r in caplog.records if r.name == "noisebank.request"]
    assert entry.getMessage() == "GET /recordings/ 400"
    assert (entry.method, entry.path, entry.status, entry.view) == (  # type: ignore[attr-defined]
        "GET",
        "/recordings/",
        400,
        "recording-list",
    )
    assert entry.user_id == alice.pk and entry.duration_ms >= 0  # type: ignore[attr-defined]
    assert response.status_code == 400


def test_probes_are_not_logged_at_info(
    client: Client, db: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="noisebank.request"):
        client.get("/healthz")
    assert not [r for r in caplog.records if r.name == "noisebank.request"]


def test_a_real_server_writes_json_lines_with_the_request_id(tmp_path: Path) -> None:
    port = free_port()
    env = base_env(tmp_path, NOISEBANK_LOG_FORMAT="json")
    run(["migrate", "-v", "0"], env)
    server = start_noisebank("web", ["serve", "--port", str(port)], env, tmp_path / "logs")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: urllib.request.urlopen(url + "/healthz").status == 200, "up", [server])
        request = urllib.request.Request(url + "/accounts/login/", headers={"X-Request-ID": "t-42"})
        with urllib.request.urlopen(request) as response:
            assert response.headers["X-Request-ID"] == "t-42"
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.output().splitlines() if line.strip()]
    assert any(e["logger"].startswith("uvicorn") for e in lines)  # the server's own lines too
    (entry,) = [e for e in lines if e.get("request_id") == "t-42"]
    assert entry["logger"] == "noisebank.request" and entry["status"] == 200
    assert entry["path"] == "/accounts/login/" and entry["view"] == "login"
