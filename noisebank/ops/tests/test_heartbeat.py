import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from noisebank.ops.heartbeat import Heartbeat, beat, new_worker_id
from noisebank.ops.models import WorkerHeartbeat
from noisebank.ops.tests.servers import (
    base_env,
    fresh_database,
    query,
    run,
    start_noisebank,
    wait_until,
)


def wait_for(condition: object, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition never became true")


@pytest.mark.django_db(transaction=True)
def test_heartbeat_row_lives_while_the_worker_runs_and_goes_when_it_stops() -> None:
    rows = WorkerHeartbeat.objects.filter(worker_id="w-1")
    with Heartbeat("w-1", interval=0.05):
        wait_for(rows.exists)
        first_seen = rows.get().seen_at
        wait_for(lambda: rows.get().seen_at > first_seen)
        row = rows.get()
        assert row.hostname and row.pid > 0 and row.started_at <= row.seen_at
    assert not rows.exists()


@pytest.mark.django_db
def test_stale_heartbeats_are_pruned_by_the_living() -> None:
    WorkerHeartbeat.objects.create(
        worker_id="gone", hostname="h", pid=1, seen_at=timezone.now() - timedelta(hours=1)
    )
    WorkerHeartbeat.objects.create(
        worker_id="recent", hostname="h", pid=2, seen_at=timezone.now() - timedelta(minutes=2)
    )
    beat("me")
    assert set(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == {"recent", "me"}


def test_worker_ids_are_unique_and_fit_django_tasks_db() -> None:
    ids = {new_worker_id() for _ in range(50)}
    assert len(ids) == 50 and all(0 < len(i) <= 64 for i in ids)


def test_a_real_worker_process_beats_and_says_goodbye_on_sigterm(tmp_path: Path) -> None:
    with fresh_database("heartbeat", tmp_path) as url:
        env = base_env(tmp_path, DATABASE_URL=url, NOISEBANK_HEARTBEAT_SECONDS="0.2")
        run(["migrate", "-v", "0"], env)
        worker = start_noisebank("worker", ["worker"], env, tmp_path / "logs")
        with query(url) as q:
            try:
                wait_until(lambda: bool(q("SELECT 1 FROM ops_workerheartbeat")), "a beat", [worker])
                ((worker_id, pid),) = q("SELECT worker_id, pid FROM ops_workerheartbeat")
            finally:
                returncode = worker.stop(signal.SIGTERM)
            assert pid == worker.popen.pid and worker_id.endswith(f"-{pid}-" + worker_id[-6:])
            assert returncode == 0, worker.output()
            assert q("SELECT COUNT(*) FROM ops_workerheartbeat") == [(0,)]
