"""What /healthz reports: database, replica, task workers and disk space.

`status` is "error" (HTTP 503) only when the database does not answer, or answers without our
tables: that is when a load balancer should stop sending requests to this process. A missing
worker, tasks orphaned by a dead one, a broken replica or a filling disk make it "degraded"
(HTTP 200): the site still serves pages, but someone should look, and `problems` says what.
"""

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from noisebank import __version__
from noisebank.ops.heartbeat import alive_worker_ids, orphaned_tasks
from noisebank.ops.models import WorkerHeartbeat
from noisebank.ops.replica import REPLICA, replica_configured


def _ping(alias: str) -> str:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as e:
        return f"error: {e.__class__.__name__}"
    return "ok"


def replica_lag_seconds() -> float | None:
    """Seconds since the replica last replayed a transaction (PostgreSQL standbys only)."""
    conn = connections[REPLICA]
    if conn.vendor != "postgresql":
        return None
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN pg_is_in_recovery() "
            "THEN EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
        )
        lag = cursor.fetchone()[0]
    return None if lag is None else round(float(lag), 3)


def _workers() -> dict[str, Any]:
    now = timezone.now()
    newest = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
    return {
        "alive": len(alive_worker_ids()),
        "newest_heartbeat_age_s": round((now - newest).total_seconds(), 1) if newest else None,
        "orphaned_tasks": orphaned_tasks(),
    }


def _existing(path: Path) -> Path:
    """The folder itself, or the nearest parent that exists (where it will be created)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def disk(path: Path) -> dict[str, Any]:
    usage = shutil.disk_usage(_existing(Path(path)))
    free_mb = usage.free // 2**20
    return {
        "path": str(path),
        "free_bytes": usage.free,
        "free_percent": round(100 * usage.free / usage.total, 1) if usage.total else 0.0,
        "status": "ok" if free_mb >= settings.NOISEBANK_MIN_FREE_DISK_MB else "low",
    }


def storage_report(path: Path) -> dict[str, Any]:
    if settings.NOISEBANK_STORAGE == "s3":
        return {"storage": "s3", "bucket": settings.NOISEBANK_S3_BUCKET, "status": "ok"}
    return disk(path)


def health() -> tuple[dict[str, Any], int]:
    """(report, HTTP status)."""
    database = _ping("default")
    report: dict[str, Any] = {"status": "ok", "database": database, "version": __version__}
    if database != "ok":
        report["status"] = "error"
        return report, 503

    problems = []
    if replica_configured():
        replica: dict[str, Any] = {"status": _ping(REPLICA)}
        if replica["status"] == "ok":
            replica["lag_s"] = replica_lag_seconds()
        else:
            problems.append(f"the read replica does not answer ({replica['status']})")
        report["replica"] = replica

    try:
        workers = _workers()
    except DatabaseError as e:
        # Connected, but our tables are missing or broken: as useless as no database.
        report |= {"status": "error", "database": f"error: {e.__class__.__name__}"}
        report["problems"] = [f"{e} (has `noisebank migrate` run?)"]
        return report, 503
    report["workers"] = workers
    if not workers["alive"]:
        age = workers["newest_heartbeat_age_s"]
        problems.append(
            "no task worker is running" + (f" (last heartbeat {age:.0f} s ago)" if age else "")
        )

    if workers["orphaned_tasks"]:
        problems.append(
            f"{workers['orphaned_tasks']} tasks are marked running by workers that stopped "
            "in the middle of them"
        )

    report["disk"] = {
        "media": storage_report(settings.MEDIA_ROOT),
        "exports": storage_report(settings.EXPORT_ROOT),
    }
    for name, d in report["disk"].items():
        if d["status"] != "ok":
            problems.append(f"{name}: less than {settings.NOISEBANK_MIN_FREE_DISK_MB} MB free")

    if problems:
        report["status"] = "degraded"
        report["problems"] = problems
    return report, 200
