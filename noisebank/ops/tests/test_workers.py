"""Several `noisebank worker` processes share one queue without running a task twice. (A killed
worker's task is queued again by the others: test_worker_signals.)"""

from pathlib import Path

import pytest
from django.db import connection
from django.db.models import QuerySet
from django_tasks_db.models import DBTaskResult

from noisebank.ops.models import WorkerHeartbeat
from noisebank.ops.tests import tasks
from noisebank.ops.tests.servers import (
    base_env,
    on_postgres,
    shared_test_database_url,
    start_noisebank,
    wait_until,
)


@pytest.mark.django_db(transaction=True)
def test_three_workers_run_thirty_tasks_each_exactly_once(tmp_path: Path) -> None:
    if not on_postgres():
        pytest.skip("workers share a queue on PostgreSQL (SKIP LOCKED); this runs in that pass")
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {tasks.RUNS_TABLE} (n integer NOT NULL, pid integer NOT NULL)"
        )
    env = base_env(
        tmp_path, DATABASE_URL=shared_test_database_url(), NOISEBANK_HEARTBEAT_SECONDS="0.5"
    )
    workers = [start_noisebank(f"worker-{i}", ["worker"], env, tmp_path / "logs") for i in range(3)]
    try:
        wait_until(lambda: WorkerHeartbeat.objects.count() == 3, "three heartbeats", workers)
        for n in range(30):
            # The first three wait for each other: they finish only if three workers run at once.
            tasks.record_run.enqueue(n, gather=3)
        wait_until(
            lambda: ours().filter(status__in=["SUCCESSFUL", "FAILED"]).count() == 30,
            "thirty finished tasks",
            workers,
            timeout=120,
        )
        worker_ids = set(WorkerHeartbeat.objects.values_list("worker_id", flat=True))
    finally:
        for w in workers:
            w.stop()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n, pid FROM {tasks.RUNS_TABLE}")  # noqa: S608
        runs = cursor.fetchall()
        cursor.execute(f"DROP TABLE {tasks.RUNS_TABLE}")
    assert sorted(n for n, _ in runs) == list(range(30))  # every task, each exactly once
    pids = {w.popen.pid for w in workers}
    assert {pid for n, pid in runs if n < 3} == pids  # three processes, side by side
    results = list(ours())
    assert {r.status for r in results} == {"SUCCESSFUL"}
    assert all(len(r.worker_ids) == 1 for r in results)  # claimed once, never re-run
    assert {r.worker_ids[0] for r in results} <= worker_ids
    assert WorkerHeartbeat.objects.count() == 0  # each said goodbye on SIGTERM


def ours() -> "QuerySet[DBTaskResult]":
    """This module's tasks (a worker also schedules its own, such as the export cleanup)."""
    return DBTaskResult.objects.filter(task_path__startswith=tasks.__name__ + ".")


def runs() -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n, pid FROM {tasks.RUNS_TABLE} ORDER BY n")  # noqa: S608
        return list(cursor.fetchall())
