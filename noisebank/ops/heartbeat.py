"""Worker heartbeats: each `noisebank worker` process says it is alive every few seconds.

A thread in the worker process upserts its WorkerHeartbeat row; /healthz and /metrics read the
table. The thread keeps beating while a long task runs, so a heartbeat means "the process is
alive", not "it is idle". A worker id is also what django-tasks-db records in a task's
`worker_ids`, so a task can be traced to the machine and process that ran it.
"""

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType

from django.db import DatabaseError, connection
from django.utils import timezone

from noisebank.lib.env import env_float
from noisebank.ops.models import WorkerHeartbeat

log = logging.getLogger(__name__)

INTERVAL = env_float("NOISEBANK_HEARTBEAT_SECONDS", 5.0)
# A worker counts as alive when seen this recently: six beats (30 s at the default 5 s). Past
# that, live workers queue its tasks again (noisebank.ops.worker.orphans_requeue).
ALIVE_WITHIN = 6 * INTERVAL
# Rows of workers that vanished without saying goodbye (killed, machine lost) are dropped after.
PRUNE_AFTER = timedelta(minutes=10)


def new_worker_id() -> str:
    """Unique across machines and readable in a task's worker_ids: host-pid-random (≤ 64)."""
    host = socket.gethostname().split(".")[0][:40]
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


def beat(worker_id: str) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"seen_at": now},
        create_defaults={
            "seen_at": now,
            "started_at": now,
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
        },
    )
    WorkerHeartbeat.objects.filter(seen_at__lt=now - PRUNE_AFTER).delete()


def alive_worker_ids() -> set[str]:
    since = timezone.now() - timedelta(seconds=ALIVE_WITHIN)
    return set(
        WorkerHeartbeat.objects.filter(seen_at__gte=since).values_list("worker_id", flat=True)
    )


def orphaned_tasks() -> int:
    """Tasks marked RUNNING by a worker whose heartbeat has stopped: its process died in the
    middle of them (killed, machine lost). Any live `noisebank worker` queues them again within
    a heartbeat, so a count that stays up means no worker is running. (Only `noisebank worker`
    beats: a bare `manage.py db_worker` would make its tasks look orphaned.)"""
    from django_tasks_db.models import DBTaskResult

    alive = alive_worker_ids()
    claimed_by = DBTaskResult.objects.filter(
        status="RUNNING", started_at__lt=timezone.now() - timedelta(seconds=ALIVE_WITHIN)
    ).values_list("worker_ids", flat=True)
    return sum(1 for ids in claimed_by if not ids or ids[-1] not in alive)


class Heartbeat:
    """`with Heartbeat(worker_id): run the worker` — beats in a thread until the block ends
    (or `start()` … `stop()`). `on_beat` runs in that thread after each beat."""

    def __init__(
        self,
        worker_id: str,
        interval: float = INTERVAL,
        on_beat: Callable[[], object] | None = None,
    ) -> None:
        self.worker_id = worker_id
        self.interval = interval
        self.on_beat = on_beat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def _run(self) -> None:
        try:
            while True:
                try:
                    beat(self.worker_id)
                except DatabaseError as e:
                    # The database may be restarting; the worker itself will notice too.
                    log.warning("heartbeat failed: %s", e, extra={"worker_id": self.worker_id})
                    connection.close()
                if self.on_beat is not None:
                    try:
                        self.on_beat()
                    except Exception:  # never let it stop the beating
                        log.exception("after the heartbeat", extra={"worker_id": self.worker_id})
                        connection.close()
                if self._stop.wait(self.interval):
                    return
        finally:
            connection.close()  # this thread's own connection

    def start(self) -> None:
        beat(self.worker_id)  # written before the worker claims anything
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=min(self.interval + 1, 5))
        try:
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
        except DatabaseError as e:
            log.warning("could not remove the heartbeat row: %s", e)

    def __enter__(self) -> "Heartbeat":
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
