"""Real `noisebank worker` processes told to stop (SIGTERM, SIGINT) at start-up, idle and in the
middle of a task, and killed outright (SIGKILL): each leaves nothing behind, and every task runs
to completion exactly once."""

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from noisebank.lib import stopping
from noisebank.ops.models import WorkerHeartbeat
from noisebank.ops.tests import tasks
from noisebank.ops.tests.servers import Process, base_env, start_noisebank, wait_until
from noisebank.testing import database_url

pytestmark = pytest.mark.usefixtures("transactional_db")

# Far more than the 10 s a stop may take: the tests prove the task was interrupted by the state
# it is left in (the held task would run two minutes), not by a stopwatch.
EXIT_TIMEOUT = 60


@pytest.fixture
def runs_table() -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {tasks.RUNS_TABLE}")
        cursor.execute(
            f"CREATE TABLE {tasks.RUNS_TABLE} (n integer NOT NULL, pid integer NOT NULL)"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {tasks.RUNS_TABLE}")


class Workers:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.env = base_env(tmp_path, DATABASE_URL=database_url(), NOISEBANK_HEARTBEAT_SECONDS="1")
        self.started: list[Process] = []

    def start(self) -> Process:
        name = f"worker-{len(self.started)}"
        process = start_noisebank(name, ["worker"], self.env, self.tmp_path / "logs")
        self.started.append(process)
        return process


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    w = Workers(tmp_path)
    try:
        yield w
    finally:
        for p in w.started:
            p.stop(signal.SIGKILL)


def stop(process: Process, sig: int) -> int:
    process.popen.send_signal(sig)
    return process.popen.wait(EXIT_TIMEOUT)


def catches_sigterm(pid: int) -> bool:
    """The process has installed its SIGTERM handler (Linux: SigCgt in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


def runs() -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n, pid FROM {tasks.RUNS_TABLE} ORDER BY n")  # noqa: S608
        return list(cursor.fetchall())


@pytest.mark.parametrize("delay", [0, 0.02, 0.1, 0.3, 0.7, 1.5])
def test_sigterm_during_start_up_ends_the_worker_with_status_zero_and_no_heartbeat_left(
    workers: Workers, delay: float
) -> None:
    """From the worker's first line on (its handler installed), at several moments of the
    start-up: importing Django, the recovery sweeps, the first heartbeat, the first claim."""
    worker = workers.start()
    wait_until(lambda: catches_sigterm(worker.popen.pid), "the SIGTERM handler", [worker])
    time.sleep(delay)  # the moment of the signal: the subject of the test, not a wait
    assert stop(worker, signal.SIGTERM) == 0, worker.output()
    assert WorkerHeartbeat.objects.count() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_sent_the_instant_the_worker_is_spawned_ends_it_with_status_zero(
    workers: Workers, sig: int
) -> None:
    """Started the way `noisebank demo` starts it (the signals blocked until its handlers are
    installed), even the interpreter's own start-up is covered: five times in a row."""
    for _ in range(5):
        with stopping.blocked():
            worker = workers.start()
        worker.popen.send_signal(sig)
        assert worker.popen.wait(EXIT_TIMEOUT) == 0, worker.output()
    assert WorkerHeartbeat.objects.count() == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_idle_worker_stops_on_the_signal_with_status_zero_and_removes_its_heartbeat(
    workers: Workers, sig: int
) -> None:
    worker = workers.start()
    wait_until(lambda: WorkerHeartbeat.objects.count() == 1, "a heartbeat", [worker])
    assert stop(worker, sig) == 0, worker.output()
    assert WorkerHeartbeat.objects.count() == 0
    assert "0 task(s) handed back" in worker.output()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_worker_stopped_mid_task_hands_the_task_back_and_the_next_worker_completes_it(
    workers: Workers, runs_table: None, tmp_path: Path, sig: int
) -> None:
    release = tmp_path / "release"
    first = workers.start()
    wait_until(lambda: WorkerHeartbeat.objects.count() == 1, "a heartbeat", [first])
    held = tasks.hold.enqueue(0, str(release))
    wait_until(lambda: runs() != [], "the held task to start", [first])
    assert stop(first, sig) == 0, first.output()
    result = DBTaskResult.objects.get(id=held.id)
    assert result.status == "READY"  # handed back, not left RUNNING nor marked failed
    assert WorkerHeartbeat.objects.count() == 0
    assert "1 task(s) handed back" in first.output()
    release.touch()
    second = workers.start()
    wait_until(
        lambda: DBTaskResult.objects.get(id=held.id).status == "SUCCESSFUL",
        "the next worker to complete the task",
        [second],
    )
    result = DBTaskResult.objects.get(id=held.id)
    assert len(result.worker_ids) == 2 and result.worker_ids[0] != result.worker_ids[1]
    assert [pid for _, pid in runs()] == [first.popen.pid, second.popen.pid]
    assert stop(second, signal.SIGTERM) == 0


def test_a_killed_workers_task_is_queued_again_by_a_live_worker_and_completes_once(
    workers: Workers, runs_table: None, tmp_path: Path
) -> None:
    release = tmp_path / "release"
    a, b = workers.start(), workers.start()
    wait_until(lambda: WorkerHeartbeat.objects.count() == 2, "two heartbeats", [a, b])
    held = tasks.hold.enqueue(0, str(release))
    wait_until(lambda: runs() != [], "the held task to start", [a, b])
    ((_, pid),) = runs()
    (victim,) = [w for w in (a, b) if w.popen.pid == pid]
    (survivor,) = [w for w in (a, b) if w is not victim]
    victim.stop(signal.SIGKILL)
    release.touch()
    wait_until(
        lambda: DBTaskResult.objects.get(id=held.id).status == "SUCCESSFUL",
        "the survivor to notice the lost task and complete it",
        [survivor],
        timeout=120,
    )
    result = DBTaskResult.objects.get(id=held.id)
    assert len(result.worker_ids) == 2 and result.worker_ids[-1] != result.worker_ids[0]
    assert [p for _, p in runs()] == [victim.popen.pid, survivor.popen.pid]
    assert "queued again" in survivor.output()
    assert stop(survivor, signal.SIGTERM) == 0
    # The dead worker's heartbeat row stays until pruned; the survivor's is gone.
    assert not WorkerHeartbeat.objects.filter(pid=survivor.popen.pid).exists()
