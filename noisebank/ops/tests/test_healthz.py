import json
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from noisebank.ops.models import WorkerHeartbeat
from noisebank.ops.tests import tasks
from noisebank.ops.tests.servers import base_env, free_port, start_noisebank, wait_until


def fetch(url: str, answer: dict[str, Any]) -> bool:
    """GET url into answer (status, JSON body), whatever the status; False if nobody listens."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            answer.update(status=response.status, body=json.loads(response.read()))
    except urllib.error.HTTPError as e:
        answer.update(status=e.code, body=json.loads(e.read()))
    except OSError:
        return False
    return True


def heartbeat(seconds_ago: float = 0, worker_id: str = "host-1-abc") -> WorkerHeartbeat:
    return WorkerHeartbeat.objects.create(
        worker_id=worker_id,
        hostname="host",
        pid=1,
        seen_at=timezone.now() - timedelta(seconds=seconds_ago),
    )


def test_healthz_is_ok_with_a_live_worker_and_room_on_disk(client: Client, db: None) -> None:
    heartbeat(seconds_ago=2)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["workers"]["alive"] == 1 and 1 <= body["workers"]["newest_heartbeat_age_s"] < 30
    for name in ("media", "exports"):
        assert body["disk"][name]["status"] == "ok" and body["disk"][name]["free_bytes"] > 0
    assert "problems" not in body and "replica" not in body
    assert response["Cache-Control"].startswith("max-age=0")


def test_without_a_worker_it_is_degraded_but_still_serves(client: Client, db: None) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["database"] == "ok"
    assert body["workers"] == {"alive": 0, "newest_heartbeat_age_s": None, "orphaned_tasks": 0}
    assert body["problems"] == ["no task worker is running"]


def test_a_stale_heartbeat_is_no_worker(client: Client, db: None) -> None:
    heartbeat(seconds_ago=300)
    body = client.get("/healthz").json()
    assert body["workers"]["alive"] == 0 and body["workers"]["newest_heartbeat_age_s"] >= 300
    assert body["problems"] == ["no task worker is running (last heartbeat 300 s ago)"]


def running_task(worker_id: str, minutes_ago: float = 5) -> None:
    result = tasks.add.enqueue(1, 2)
    DBTaskResult.objects.filter(id=result.id).update(
        status="RUNNING",
        started_at=timezone.now() - timedelta(minutes=minutes_ago),
        worker_ids=[worker_id],
    )


def test_tasks_left_running_by_a_worker_that_died_are_reported(client: Client, db: None) -> None:
    heartbeat(worker_id="alive-1")
    running_task("alive-1")  # its worker still beats: busy, not orphaned
    running_task("died-2")  # no heartbeat: the process went away mid-task
    running_task("died-3", minutes_ago=0)  # just claimed: too early to tell
    body = client.get("/healthz").json()
    assert body["workers"]["orphaned_tasks"] == 1
    assert body["status"] == "degraded"
    assert body["problems"] == [
        "1 tasks are marked running by workers that stopped in the middle of them"
    ]


def test_a_filling_disk_makes_it_degraded(
    client: Client, db: None, settings: Any, tmp_path: Path
) -> None:
    heartbeat()
    settings.MEDIA_ROOT = tmp_path / "not" / "created" / "yet"
    settings.NOISEBANK_MIN_FREE_DISK_MB = 2**40  # more than any disk here holds
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert body["disk"]["media"]["status"] == "low"
    assert body["disk"]["media"]["path"] == str(settings.MEDIA_ROOT)
    assert f"media: less than {2**40} MB free" in body["problems"]


def test_healthz_answers_anonymous_get_only(client: Client, db: None) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_a_database_that_does_not_answer_is_503(tmp_path: Path) -> None:
    """A real server whose database is unreachable (nothing listens on port 9)."""
    port = free_port()
    env = base_env(tmp_path, DATABASE_URL="postgres://nobody@127.0.0.1:9/none")
    server = start_noisebank("web", ["serve", "--port", str(port)], env, tmp_path / "logs")
    answer: dict[str, Any] = {}
    try:
        wait_until(lambda: fetch(f"http://127.0.0.1:{port}/healthz", answer), "an answer", [server])
    finally:
        server.stop()
    assert answer["status"] == 503
    assert answer["body"]["status"] == "error"
    assert answer["body"]["database"] == "error: OperationalError"


def test_a_database_without_our_tables_is_503_not_500(tmp_path: Path) -> None:
    port = free_port()
    env = base_env(tmp_path)  # a new SQLite file: connects fine, holds no tables
    server = start_noisebank("web", ["serve", "--port", str(port)], env, tmp_path / "logs")
    answer: dict[str, Any] = {}
    try:
        wait_until(lambda: fetch(f"http://127.0.0.1:{port}/healthz", answer), "an answer", [server])
    finally:
        server.stop()
    assert answer["status"] == 503
    assert answer["body"]["status"] == "error"
    assert answer["body"]["database"] == "error: OperationalError"
    assert "has `noisebank migrate` run?" in answer["body"]["problems"][0]


@pytest.mark.parametrize("key", ["status", "database", "version"])
def test_healthz_keeps_the_keys_monitors_read(client: Client, db: None, key: str) -> None:
    assert key in client.get("/healthz").json()
