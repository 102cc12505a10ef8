"""Background work of exports, in `noisebank worker`: the job task, and the export lane (a loop
for export jobs and a periodic cleanup, in threads of the worker process)."""

import logging
import threading
from typing import Any

from django.db import connection
from django_tasks import TaskContext, task

from noisebank.exports import jobs
from noisebank.lib.env import env_int
from noisebank.lib.stopping import WorkerStopped
from noisebank.ops.worker import on_release

logger = logging.getLogger("noisebank.exports")

# Between cleanups of expired and orphaned export files, in every worker process.
CLEANUP_MINUTES = env_int("NOISEBANK_EXPORT_CLEANUP_MINUTES", 15)

# Export jobs have a queue of their own, served by a loop of their own in every worker process
# (ExportLane), so someone watching a progress bar never waits behind a recording being measured.
EXPORT_QUEUE = "exports"


@task(takes_context=True, queue_name=EXPORT_QUEUE)
def run_export_job(context: TaskContext, job_id: str) -> str:
    worker_ids = context.task_result.worker_ids
    return jobs.job_run(job_id, worker_id=worker_ids[-1] if worker_ids else "")


@on_release(run_export_job.module_path)
def _release_job(args: list[Any], kwargs: dict[str, Any], lost: bool) -> None:
    jobs.job_release(*args, **kwargs)


class ExportLane:
    """`lane.start()` … `lane.stop()` beside the main worker loop — a second worker loop, in a
    thread of the same process (same worker id), taking only export jobs; and a thread running
    the export cleanup every `cleanup_seconds`. A stop request (SIGTERM/SIGINT) reaches a
    running job at its next progress save (every PROGRESS_SECONDS): the job goes back to the
    queue with its task."""

    def __init__(
        self, worker_id: str, interval: float, cleanup_seconds: float = CLEANUP_MINUTES * 60
    ) -> None:
        from noisebank.ops.worker import Worker

        self.worker = Worker(
            queue_names=[EXPORT_QUEUE], interval=interval, batch=False, backend_name="default",
            startup_delay=False, max_tasks=None, worker_id=worker_id, excluded_queue_names=[],
        )  # fmt: skip
        self.cleanup_seconds = cleanup_seconds
        self._stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._jobs, name="export-lane", daemon=True),
            threading.Thread(target=self._cleanups, name="export-cleanup", daemon=True),
        ]

    def _jobs(self) -> None:
        try:
            self.worker.run()
        except WorkerStopped:
            pass  # the worker hands the job back as it leaves
        finally:
            connection.close()  # this thread's own

    def _cleanups(self) -> None:
        try:
            while not self._stop.wait(self.cleanup_seconds):
                try:
                    jobs.exports_cleanup()
                except Exception:  # the database may be restarting: try again next time
                    logger.exception("export cleanup failed")
                    connection.close()
        finally:
            connection.close()

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self.worker.running = False
        self._stop.set()
        for thread in self.threads:
            if thread.is_alive():
                thread.join(timeout)

    def __enter__(self) -> "ExportLane":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
