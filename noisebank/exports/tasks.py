"""Background tasks of exports, run by `noisebank worker` (django-tasks-db)."""

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django_tasks import TaskContext, task

from noisebank.exports import jobs
from noisebank.lib.env import env_int

# Between cleanups of expired and orphaned export files (the worker schedules them).
CLEANUP_MINUTES = env_int("NOISEBANK_EXPORT_CLEANUP_MINUTES", 15)


# Ahead of measuring uploads: someone is watching the progress bar.
@task(takes_context=True, priority=10)
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
