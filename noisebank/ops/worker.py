"""`noisebank worker`: the django-tasks-db worker loop, stopping cleanly on SIGTERM/SIGINT and
taking up the tasks of workers that died.

- A stop request (noisebank.lib.stopping) interrupts the running task; the worker hands every
  task it holds back to the queue (READY, for the next worker), removes its heartbeat row and
  exits 0.
- A worker killed outright (SIGKILL, machine lost) leaves its tasks RUNNING; every live worker
  looks for such tasks at each heartbeat and queues them again once the dead worker's heartbeat
  is older than ALIVE_WITHIN.

A task whose interruption leaves something behind (a recording in `processing`, an export job
`running`) registers a release function with `on_release`: it runs in the same transaction as
the hand-back.
"""

import contextlib
import logging
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, close_old_connections, connections, transaction
from django.db.utils import OperationalError
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks_db.compat import TaskContext, task_finished, task_started
from django_tasks_db.management.commands.db_worker import Worker as DBWorker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from noisebank.lib import stopping
from noisebank.lib.stopping import WorkerStopped
from noisebank.ops.heartbeat import ALIVE_WITHIN, alive_worker_ids

log = logging.getLogger("noisebank.worker")

# task path -> release(args, kwargs, lost): undo what an interrupted run left behind. `lost`
# is True when the worker died (its heartbeat stopped), False when it was told to stop.
Release = Callable[[list[Any], dict[str, Any], bool], None]
_RELEASES: dict[str, Release] = {}


def on_release(task_path: str) -> Callable[[Release], Release]:
    def register(fn: Release) -> Release:
        _RELEASES[task_path] = fn
        return fn

    return register


def tasks_release(worker_ids: Collection[str], *, lost: bool) -> int:
    """Put the tasks these workers hold (RUNNING, last claimed by one of them) back in the
    queue; how many. Each hand-back is a conditional UPDATE, so two workers releasing the same
    dead worker's tasks queue each once."""
    held = [
        r
        for r in DBTaskResult.objects.filter(status="RUNNING").only(
            "id", "worker_ids", "started_at", "task_path", "args_kwargs"
        )
        if r.worker_ids and r.worker_ids[-1] in worker_ids
    ]
    released = 0
    for result in held:
        with contextlib.suppress(ImportError):
            import_string(result.task_path)  # its module registers its release function
        release = _RELEASES.get(result.task_path)
        with transaction.atomic():
            changed = DBTaskResult.objects.filter(
                id=result.id, status="RUNNING", started_at=result.started_at
            ).update(status="READY")
            if changed and release is not None:
                args = result.args_kwargs or {}
                release(list(args.get("args", [])), dict(args.get("kwargs", {})), lost)
        if changed:
            released += 1
            log.warning(
                "task %s (%s) of %s worker %s queued again", result.id, result.task_path,
                "lost" if lost else "stopped", result.worker_ids[-1],
                extra={"event": "task_requeued", "task": str(result.id)},
            )  # fmt: skip
    return released


def lost_worker_ids() -> set[str]:
    """Workers holding a task for longer than ALIVE_WITHIN without a recent heartbeat."""
    alive = alive_worker_ids()
    cutoff = timezone.now() - timedelta(seconds=ALIVE_WITHIN)
    claimed_by = DBTaskResult.objects.filter(status="RUNNING", started_at__lt=cutoff)
    return {ids[-1] for ids in claimed_by.values_list("worker_ids", flat=True) if ids} - alive


def orphans_requeue() -> int:
    """Queue again the tasks of workers that died (the heartbeat thread calls this)."""
    lost = lost_worker_ids()
    return tasks_release(lost, lost=True) if lost else 0


class Worker(DBWorker):
    """django-tasks-db's worker with a loop that a stop request ends at once, and a task run
    that a stop request interrupts (the task is handed back, not marked failed)."""

    def run(self) -> None:
        log.info("worker %s takes tasks of queues %s", self.worker_id, ",".join(self.queue_names))
        while self.running and not stopping.requested():
            close_old_connections()
            task_result = self._claim()
            if task_result is not None:
                self.run_task(task_result)
            close_old_connections()
            if task_result is None:
                stopping.wait(self.interval)

    def _claim(self) -> DBTaskResult | None:
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        if self.excluded_queue_names:
            tasks = tasks.exclude(queue_name__in=self.excluded_queue_names)
        with exclusive_transaction(tasks.db):
            try:
                task_result = tasks.get_locked()
                if task_result is not None and not stopping.requested():
                    task_result.claim(self.worker_id)
                    return task_result
            except OperationalError as e:
                if not is_locked_database_exception(e):
                    raise
        return None

    def run_task(self, db_task_result: DBTaskResult) -> None:
        try:
            self.running_task = True
            task = db_task_result.task
            task_result = db_task_result.task_result
            backend_type = task.get_backend()
            task_started.send(sender=backend_type, task_result=task_result)
            with stopping.interruptible():
                if task.takes_context:
                    context = TaskContext(task_result=task_result)  # type: ignore[var-annotated]
                    value = task.call(context, *task_result.args, **task_result.kwargs)
                else:
                    value = task.call(*task_result.args, **task_result.kwargs)
            db_task_result.set_successful(value)
            task_finished.send(sender=backend_type, task_result=db_task_result.task_result)
        except WorkerStopped:
            raise  # handed back by worker_main, with everything else this worker holds
        except BaseException as e:
            db_task_result.set_failed(e)
            with contextlib.suppress(Exception):
                sender = type(db_task_result.task.get_backend())
                task_finished.send(sender=sender, task_result=db_task_result.task_result)
        finally:
            self.running_task = False
            self._run_tasks += 1


def _fresh_connections() -> None:
    """A stop may have interrupted a query half-way: start the goodbye on new connections."""
    for conn in connections.all(initialized_only=True):
        with contextlib.suppress(Exception):
            conn.close()


def worker_main(*, interval: float, verbosity: int) -> int:
    """Run the worker until told to stop; 0 once everything it held is handed back."""
    from noisebank.exports.jobs import exports_cleanup
    from noisebank.exports.tasks import EXPORT_QUEUE, ExportLane
    from noisebank.ingest.chunks import uploads_sweep_expired
    from noisebank.ingest.services import recordings_sweep_stale
    from noisebank.ops.heartbeat import Heartbeat, new_worker_id
    from noisebank.ops.metrics import connect_task_signals

    worker_id = new_worker_id()
    heartbeat = Heartbeat(worker_id, on_beat=orphans_requeue)
    lane: ExportLane | None = None
    try:
        stopping.announced()
        heartbeat.start()
        # A worker that died mid-task left its recording in `processing` with no task known to
        # hold it (an older version, a lost queue row): recover those first.
        requeued, failed = recordings_sweep_stale()
        expired = uploads_sweep_expired()
        if verbosity and (requeued or failed or expired):
            print(
                f"Recovered {requeued} interrupted recording(s), failed {failed}; "
                f"removed {expired} expired upload(s).",
                flush=True,
            )
        # ExportLane then cleans up every NOISEBANK_EXPORT_CLEANUP_MINUTES.
        cleaned = exports_cleanup()
        if verbosity and (cleaned.stale or cleaned.expired):
            print(
                f"Recovered {cleaned.stale} interrupted export job(s); expired {cleaned.expired}.",
                flush=True,
            )
        connect_task_signals()
        main = Worker(
            queue_names=["*"], interval=interval, batch=False, backend_name="default",
            startup_delay=False, max_tasks=None, worker_id=worker_id,
            excluded_queue_names=[EXPORT_QUEUE],
        )  # fmt: skip
        lane = ExportLane(worker_id, interval)
        lane.start()
        with stopping.shielded():  # idle: a stop request is seen by the loop
            main.run()
    except WorkerStopped:
        pass
    finally:
        stopping.goodbye()
        if lane is not None:
            lane.stop(timeout=5)
        _fresh_connections()
        try:
            handed_back = tasks_release({worker_id}, lost=False)
        except DatabaseError as e:
            log.warning("could not hand tasks back: %s", e)
            handed_back = 0
        heartbeat.stop()
        if verbosity:
            print(f"Worker {worker_id} stopped; {handed_back} task(s) handed back.", flush=True)
    return 0
