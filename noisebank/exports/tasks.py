"""Background tasks of exports, run by `noisebank worker` (django-tasks-db)."""

import threading
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone
from django_tasks import TaskContext, task

from noisebank.exports import jobs
from noisebank.lib.env import env_int

# Between cleanups of expired and orphaned export files (the worker schedules them).
CLEANUP_MINUTES = env_int("NOISEBANK_EXPORT_CLEANUP_MINUTES", 15)


# Export jobs have a queue of their own, served by a loop of their own in every worker process
# (ExportLane), so someone watching a progress bar never waits behind a recording being measured.
EXPORT_QUEUE = "exports"


@task(takes_context=True, queue_name=EXPORT_QUEUE)
def run_export_job(context: TaskContext, job_id: str) -> str:
    worker_ids = context.task_result.worker_ids
    return jobs.job_run(job_id, worker_id=worker_ids[-1] if worker_ids else "")


@task()
def cleanup_exports() -> dict[str, Any]:
    """Expire old export files, remove orphans; then book the next run."""
    try:
        return asdict(jobs.exports_cleanup())
    finally:
        schedule_cleanup()


def schedule_cleanup(*, minutes: int | None = None) -> bool:
    """Book the next cleanup unless one is already waiting; True when this booked it."""
    from django_tasks_db.models import DBTaskResult

    waiting = DBTaskResult.objects.filter(task_path=cleanup_exports.module_path, status="READY")
    if waiting.exists():
        return False
    when = timezone.now() + timedelta(minutes=CLEANUP_MINUTES if minutes is None else minutes)
    cleanup_exports.using(run_after=when).enqueue()
    return True


class ExportLane:
    """`with ExportLane(worker_id, interval): run the main worker` — a second django-tasks-db
    worker loop, in a thread of the same process (same worker id), taking only export jobs. On
    leaving, it finishes the job it is running, then stops."""

    def __init__(self, worker_id: str, interval: float) -> None:
        from django_tasks_db.management.commands.db_worker import Worker

        self.worker = Worker(
            queue_names=[EXPORT_QUEUE], interval=interval, batch=False, backend_name="default",
            startup_delay=False, max_tasks=None, worker_id=worker_id, excluded_queue_names=[],
        )  # fmt: skip
        self.thread = threading.Thread(target=self._run, name="export-lane", daemon=True)

    def _run(self) -> None:
        try:
            self.worker.run()
        finally:
            connection.close()  # this thread's own

    def __enter__(self) -> "ExportLane":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.worker.running = False
        self.thread.join()
