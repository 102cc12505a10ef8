"""Prometheus metrics: what the app counts, and what it reads from the database at scrape time.

Other parts of Noisebank call the three small functions below; nothing else here is theirs to
touch:

    export_finished(format, rows, bytes, seconds)   a download or export file is complete
    job_finished(kind, status, seconds)             work that is *not* a task finished
    ingest_failed(reason)                           an upload or its analysis was refused

Tasks run by `noisebank worker` are counted without any call (kind = the task's name), from
django-tasks' task_finished signal; see connect_task_signals.

Several processes (uvicorn --workers N, the worker replicas) each count in their own memory
unless PROMETHEUS_MULTIPROC_DIR names a directory they share: then every process writes its
counters there and a scrape of any web process sums them all (prometheus-client's multiprocess
mode). `noisebank serve --workers N>1` sets one up when none is given. The directory must be
set before this module is first imported, and must be shared by the processes to be summed:
on one machine a volume; across machines, scrape each machine (see README, Deploying).

Labels are bounded: format, kind and reason are short codes, never user input or paths.
"""

import os
import re
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST
_DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

EXPORTS = Counter("noisebank_exports", "Finished exports and downloads.", ["format"])
EXPORT_ROWS = Counter("noisebank_export_rows", "Rows written by finished exports.", ["format"])
EXPORT_BYTES = Counter("noisebank_export_bytes", "Bytes written by finished exports.", ["format"])
EXPORT_SECONDS = Histogram(
    "noisebank_export_duration_seconds",
    "Wall time of finished exports.",
    ["format"],
    buckets=_DURATION_BUCKETS,
)
JOBS = Counter("noisebank_jobs", "Finished background jobs and tasks.", ["kind", "status"])
JOB_SECONDS = Histogram(
    "noisebank_job_duration_seconds",
    "Wall time of finished background jobs and tasks.",
    ["kind"],
    buckets=_DURATION_BUCKETS,
)
INGEST_FAILURES = Counter("noisebank_ingest_failures", "Refused or failed ingests.", ["reason"])
HTTP_REQUESTS = Counter(
    "noisebank_http_requests", "HTTP responses by view and status.", ["method", "view", "status"]
)
HTTP_SECONDS = Histogram(
    "noisebank_http_request_duration_seconds",
    "Time to the response headers (a streamed body may take longer).",
    ["method", "view"],
)

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _code(value: str, limit: int = 40) -> str:
    """A label value that cannot explode the number of series: lower-case word, bounded."""
    return re.sub(r"[^a-z0-9_.]+", "_", str(value).lower()).strip("_")[:limit] or "unknown"


def export_finished(format: str, rows: int, bytes: int, seconds: float) -> None:
    fmt = _code(format, 16)
    EXPORTS.labels(fmt).inc()
    EXPORT_ROWS.labels(fmt).inc(max(0, rows))
    EXPORT_BYTES.labels(fmt).inc(max(0, bytes))
    EXPORT_SECONDS.labels(fmt).observe(max(0.0, seconds))


def job_finished(kind: str, status: str, seconds: float) -> None:
    JOBS.labels(_code(kind), _code(status, 16)).inc()
    JOB_SECONDS.labels(_code(kind)).observe(max(0.0, seconds))


def ingest_failed(reason: str) -> None:
    INGEST_FAILURES.labels(_code(reason)).inc()


def request_finished(method: str, view: str, status: int, seconds: float) -> None:
    method = method if method in _METHODS else "OTHER"
    HTTP_REQUESTS.labels(method, view, str(status)).inc()
    HTTP_SECONDS.labels(method, view).observe(seconds)


def _on_task_finished(sender: Any, task_result: Any, **kwargs: Any) -> None:
    started, finished = task_result.started_at, task_result.finished_at
    seconds = (finished - started).total_seconds() if started and finished else 0.0
    job_finished(task_result.task.name, str(task_result.status), seconds)


def connect_task_signals() -> None:
    """Count every task this process runs (called by `noisebank worker`)."""
    from django_tasks.signals import task_finished

    task_finished.connect(_on_task_finished, dispatch_uid="noisebank.ops.metrics")


class DatabaseCollector(Collector):
    """Gauges read at scrape time: they are true whichever process or machine is scraped."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from django_tasks_db.models import DBTaskResult

        from noisebank.ops.heartbeat import alive_worker_ids, orphaned_tasks

        depth = GaugeMetricFamily(
            "noisebank_task_queue_depth", "Tasks waiting or running.", labels=["queue", "status"]
        )
        rows = (
            DBTaskResult.objects.filter(status__in=["READY", "RUNNING"])
            .values_list("queue_name", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for queue, status, n in rows:
            depth.add_metric([queue, status.lower()], n)
        yield depth

        oldest = DBTaskResult.objects.ready().aggregate(t=Min("enqueued_at"))["t"]
        wait = GaugeMetricFamily(
            "noisebank_task_oldest_ready_seconds", "Age of the oldest task waiting for a worker."
        )
        wait.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0.0)
        yield wait

        workers = GaugeMetricFamily(
            "noisebank_workers_alive", "Task workers with a recent heartbeat."
        )
        workers.add_metric([], len(alive_worker_ids()))
        yield workers

        orphaned = GaugeMetricFamily(
            "noisebank_tasks_orphaned", "Tasks left running by workers that stopped."
        )
        orphaned.add_metric([], orphaned_tasks())
        yield orphaned


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Any]:
        yield from self.registry.collect()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def scrape() -> bytes:
    """The exposition text: this process's (or all processes') counters plus the gauges."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(DatabaseCollector())
    return generate_latest(registry)
