"""Export jobs: create, run (in the worker), cancel, delete, recover, clean up, notify.

    spec = parse_job_spec({"format": "csv", "filters": {"category": "Horn"}, "columns": "all"})
    job, created = job_create(owner=user, spec=spec)    # queued (or done at once: reuse)
    job_run(job.id)                                      # the worker's task body
    job_cancel(job)  /  job_delete(job)  /  exports_cleanup()

The file goes through the same engine as a direct download (export_open, the writers, the ZIP
bundle), from the same snapshot rules, to `<name>.part` in the exports storage, and is renamed
only once complete. Progress is saved at most every PROGRESS_SECONDS; that same update is where
a cancel is noticed (it matches only a job still running).
"""

import contextlib
import errno
import hashlib
import json
import logging
import os
import socket
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from time import monotonic
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.core.mail import send_mail
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from noisebank.accounts.roles import review_access
from noisebank.catalog.filters import (
    LIST_VALUED,
    FilterError,
    ParamError,
    RecordingFilter,
    ReviewAccess,
    parse_filters,
)
from noisebank.exports.columns import ExportColumn, UnknownColumns, resolve_columns
from noisebank.exports.dataset_options import dataset_json, dataset_params, parse_dataset
from noisebank.exports.engine.writers import WriterOptions
from noisebank.exports.models import ExportJob
from noisebank.exports.services import (
    Export,
    UnknownFormat,
    csv_options,
    export_open,
    writer_for,
)
from noisebank.exports.source import Snapshot
from noisebank.lib import stopping

logger = logging.getLogger("noisebank.exports")

Status = ExportJob.Status
PROGRESS_SECONDS = 0.5
# A running job not heard of for this long, whose worker is not beating either, has lost it.
STALE_SECONDS = 60
# A job that kept its owner waiting longer than this is worth an email when it ends.
NOTIFY_AFTER = timedelta(seconds=30)
JOB_FOLDER = "jobs"
OPTION_NAMES = {"bom", "excel_safe", "folder_template", "metadata", "dataset"}


def export_storage() -> Storage:
    return storages["exports"]


# --- What a job exports ------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    fmt: str
    filters: RecordingFilter
    columns: list[ExportColumn]
    # Normalised: {"bom": bool, "excel_safe": bool} plus, for zip, the template and metadata,
    # and "dataset" (the dataset options, dataset_options.dataset_json) for a dataset bundle.
    options: dict[str, Any]

    def writer_options(self) -> WriterOptions:
        options = WriterOptions(
            bom=self.options.get("bom", False), excel_safe=self.options.get("excel_safe", False)
        )
        if self.fmt == "zip":
            dataset = None
            if "dataset" in self.options:
                dataset = parse_dataset(dataset_params(self.options["dataset"]), "zip")
            options = replace(
                options,
                folder_template=self.options["folder_template"],
                bundle_metadata=self.options["metadata"],
                dataset=dataset,
            )
        return options

    def as_json(self) -> dict[str, Any]:
        return {
            "format": self.fmt,
            "filters": [list(item) for item in self.filters.query_items()],
            "columns": [c.name for c in self.columns],
            "options": self.options,
        }


def _filter_params(raw: Any) -> dict[str, list[str]]:
    """Filters as a query string ("category=Horn&laeq_min=80"), an object (values a string or
    a list of strings) or a list of [name, value] pairs."""
    items: list[tuple[str, str]] = []
    if raw is None:
        return {}
    if isinstance(raw, str):
        items = parse_qsl(raw.lstrip("?"), keep_blank_values=True)
    elif isinstance(raw, Mapping):
        for key, value in raw.items():
            if key in LIST_VALUED and isinstance(value, list):  # bbox: [west, south, east, north]
                numbers = [
                    v for v in value if isinstance(v, int | float) and not isinstance(v, bool)
                ]
                if len(numbers) != len(value) or len(value) != 4:
                    raise FilterError(
                        [ParamError(str(key), f"{key}: a list of four numbers, or text.")]
                    )
                value = ",".join(format(Decimal(str(v)), "f") for v in value)  # not 1e-05
            for v in value if isinstance(value, list) else [value]:
                if not isinstance(v, str | int | float) or isinstance(v, bool):
                    raise FilterError([ParamError(str(key), f"{key}: give text or numbers.")])
                items.append((str(key), str(v)))
    elif isinstance(raw, list):
        for pair in raw:
            if not (
                isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
            ):
                raise FilterError(
                    [ParamError("filters", "filters: a list of [name, value] pairs.")]
                )
            items.append((pair[0], pair[1]))
    else:
        raise FilterError(
            [ParamError("filters", "filters: an object, a query string or [name, value] pairs.")]
        )
    params: dict[str, list[str]] = {}
    for key, value in items:
        params.setdefault(key, []).append(value)
    return params


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise FilterError([ParamError(name, f"{name}={value}: use true or false.")])


def parse_job_spec(
    data: Any, access: ReviewAccess | None = None, *, stored: bool = True
) -> JobSpec:
    """The body of POST /api/v1/exports (`stored=False`: checked against its published schema,
    job_schema.JOB_BODY, first), or a stored job's spec; FilterError names every bad parameter.
    `access`: the review states the job's owner may select (default: accepted only)."""
    from noisebank.exports.job_schema import format_error, shape_errors
    from noisebank.exports.views import bundle_options

    if not stored and (wrong := format_error(data)):
        raise FilterError([wrong])
    if not isinstance(data, Mapping):
        raise FilterError([ParamError("body", "Send a JSON object: format, filters, columns.")])
    errors: list[ParamError] = []
    unknown = sorted(set(data) - {"format", "filters", "columns", "options"})
    errors += [
        ParamError(k, f"Unknown field: {k}. Known: format, filters, columns, options.")
        for k in unknown
    ]
    fmt = data.get("format", "csv")
    if not isinstance(fmt, str):
        fmt = repr(fmt)
    try:
        writer_for(fmt)
    except UnknownFormat as e:
        errors.append(ParamError("format", str(e)))
    filters = None
    try:
        filters = parse_filters(_filter_params(data.get("filters")), access=access)
    except FilterError as e:
        errors += e.errors
    columns: list[ExportColumn] = []
    raw_columns = data.get("columns", "default")
    if not (
        isinstance(raw_columns, str)
        or (isinstance(raw_columns, list) and all(isinstance(c, str) for c in raw_columns))
    ):
        errors.append(ParamError("columns", "columns: a preset name or a list of column names."))
    else:
        try:
            columns = resolve_columns(raw_columns)
        except UnknownColumns as e:
            errors.append(ParamError("columns", str(e)))
    raw_options = data.get("options")
    raw_options = {} if raw_options is None else raw_options
    options: dict[str, Any] = {}
    if not isinstance(raw_options, Mapping):
        known = ", ".join(sorted(OPTION_NAMES))
        errors.append(ParamError("options", f"options: an object ({known})."))
    else:
        for k in sorted(set(raw_options) - OPTION_NAMES):
            errors.append(
                ParamError(
                    f"options.{k}",
                    f"Unknown option: {k}. Known: {', '.join(sorted(OPTION_NAMES))}.",
                )
            )
        try:
            bom = _flag("bom", raw_options.get("bom", False))
            raw_safe = raw_options.get("excel_safe")
            excel_safe = None if raw_safe is None else _flag("excel_safe", raw_safe)
            safety = csv_options(fmt, bom=bom, excel_safe=excel_safe)
        except FilterError as e:
            errors += e.errors
        except ValueError as e:
            errors.append(ParamError("options.excel_safe", str(e)))
        else:
            options["bom"] = safety.bom
            options["excel_safe"] = safety.excel_safe
        try:
            dataset_given = dataset_params(raw_options.get("dataset"))
        except FilterError as e:
            errors += e.errors
            dataset_given = {}
        if fmt != "zip" and dataset_given:
            errors.append(
                ParamError("options.dataset", "options.dataset: only for the zip format.")
            )
        if fmt == "zip" and columns:
            given = {
                k: str(raw_options[k])
                for k in ("folder_template", "metadata")
                if raw_options.get(k)
            }
            try:
                zipped = bundle_options({**given, **dataset_given}, columns, WriterOptions())
            except FilterError as e:
                errors += [_in_options(error, dataset_given) for error in e.errors]
            else:
                options["folder_template"] = zipped.folder_template
                options["metadata"] = zipped.bundle_metadata
                if zipped.dataset is not None:
                    options["dataset"] = dataset_json(zipped.dataset)
    if not errors and not stored:
        # What the checks above let through but the published schema does not: "80" for a
        # number, "yes" for true, a query string for the filters object.
        errors = shape_errors(dict(data))
    if errors or filters is None:
        raise FilterError(errors)
    return JobSpec(fmt, filters, columns, options)


def _in_options(error: ParamError, dataset: Mapping[str, str]) -> ParamError:
    """A dataset option's error names it where the body holds it: options.dataset.<name>."""
    if error.param in dataset and error.param != "dataset":
        return ParamError(f"options.dataset.{error.param}", error.message)
    return error


def job_spec(job: ExportJob, access: ReviewAccess | None = None) -> JobSpec:
    """A stored job's spec, parsed again (the catalogue or its owner's role may have changed
    since). `access`: whose review states apply, by default its owner's."""
    return parse_job_spec(
        {
            "format": job.format,
            "filters": job.filters,
            "columns": job.columns,
            "options": job.options,
        },
        access or review_access(job.owner),
    )


# --- Reuse -------------------------------------------------------------------------------------


def _version(count: Any, top: Any, last: Any) -> str:
    if isinstance(last, str):  # SQLite's raw text
        last = datetime.fromisoformat(last)
    if isinstance(last, datetime):
        last = (last if last.tzinfo else last.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return f"{count}:{top}:{last}"


VERSION_SQL = "SELECT count(*), max(id), max(updated_at) FROM catalog_recording"


def data_version(snapshot: Snapshot | None = None) -> str:
    """Changes whenever a recording is added, changed (updated_at) or deleted."""
    with (snapshot.wrapper if snapshot else connection).cursor() as cur:
        cur.execute(VERSION_SQL)
        return _version(*cur.fetchone())


def fingerprint(spec: JobSpec, version: str) -> str:
    text = json.dumps({**spec.as_json(), "data": version}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def file_exists(name: str) -> bool:
    try:
        return bool(name) and export_storage().exists(name)
    except OSError:
        return False


def reusable_job(fp: str) -> ExportJob | None:
    """A finished, unexpired job of the same fingerprint whose file is still there."""
    fresh = timezone.now() - timedelta(hours=settings.NOISEBANK_EXPORT_TTL_HOURS)
    candidates = ExportJob.objects.filter(
        fingerprint=fp, status=Status.DONE, finished_at__gt=fresh
    ).exclude(file_name="")
    for job in candidates.order_by("-finished_at")[:3]:
        if file_exists(job.file_name):
            return job
    return None


# --- Create, cancel, delete --------------------------------------------------------------------


def job_create(*, owner: User, spec: JobSpec) -> tuple[ExportJob, bool]:
    """A new job for `spec`, queued; or (job, False): the owner's identical job still queued or
    running (a double click). A finished file of the same data is reused at once (done)."""
    from noisebank.exports.tasks import run_export_job

    jobs_sweep_stale()  # so a dead job is not handed back as "already on its way"
    with transaction.atomic():
        # One POST at a time per user, so a double click cannot create two jobs (PostgreSQL;
        # SQLite's IMMEDIATE transactions are serial anyway).
        list(User.objects.select_for_update().filter(pk=owner.pk).values_list("pk"))
        fp = fingerprint(spec, data_version())
        existing = ExportJob.objects.filter(
            owner=owner, fingerprint=fp, status__in=ExportJob.UNFINISHED
        ).first()
        if existing is not None:
            return existing, False
        body = spec.as_json()
        job = ExportJob(
            owner=owner,
            format=spec.fmt,
            filters=body["filters"],
            columns=body["columns"],
            options=body["options"],
            fingerprint=fp,
        )
        source = reusable_job(fp)
        if source is not None:
            now = timezone.now()
            job.status = Status.DONE
            for name in ("rows_total", "bytes", "sha256", "manifest", "file_name", "download_name"):
                setattr(job, name, getattr(source, name))
            job.rows_done = source.rows_done
            job.started_at = job.finished_at = job.heartbeat_at = now
            job.save()
            logger.info(
                "export job %s reuses the file of %s", job.id, source.id,
                extra={"event": "export_job_reused", "job": str(job.id), "source": str(source.id)},
            )  # fmt: skip
            return job, True
        job.save()

        def enqueue() -> None:
            result = run_export_job.enqueue(str(job.id))
            ExportJob.objects.filter(pk=job.pk).update(task_id=str(result.id))

        transaction.on_commit(enqueue)
    return job, True


def job_cancel(job: ExportJob) -> bool:
    """Stop a queued or running job; the worker notices at its next progress save."""
    changed = ExportJob.objects.filter(pk=job.pk, status__in=ExportJob.UNFINISHED).update(
        status=Status.CANCELLED, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return bool(changed)


def _remove_if_unused(name: str, *, but: Any = None) -> bool:
    """Delete a finished file that no other finished job points at."""
    if not name:
        return False
    others = ExportJob.objects.filter(file_name=name, status=Status.DONE)
    if but is not None:
        others = others.exclude(pk=but)
    if others.exists():
        return False
    with contextlib.suppress(OSError, FileNotFoundError):
        export_storage().delete(name)
    return True


def job_delete(job: ExportJob) -> None:
    """Forget a job (stopping it first) and remove its file unless another job reuses it."""
    job_cancel(job)
    name = job.file_name
    pk = job.pk
    job.delete()
    _remove_if_unused(name, but=pk)


# --- Running -----------------------------------------------------------------------------------


class Stopped(Exception):
    """The job is no longer running (cancelled, deleted or marked failed)."""


def _part_path(name: str) -> Path | None:
    try:
        return Path(export_storage().path(name + ".part"))
    except NotImplementedError:  # object storage: write a local temporary file, then upload
        return None


def _progress(pk: Any, rows_done: int, size: int) -> None:
    alive = ExportJob.objects.filter(pk=pk, status=Status.RUNNING).update(
        rows_done=rows_done, bytes=size, heartbeat_at=timezone.now()
    )
    if not alive:
        raise Stopped


def _write(job: ExportJob, export: Export, name: str) -> tuple[str, int, str]:
    """Write the export to `name` through a temporary file: (stored name, bytes, sha256)."""
    storage = export_storage()
    part = _part_path(name)
    if part is None:
        fd, tmp = tempfile.mkstemp(prefix="noisebank-export-", suffix=".part")
        os.close(fd)
        part = Path(tmp)
    part.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    try:
        with part.open("wb") as f:
            last = monotonic()
            for chunk in export.chunks():
                stopping.check()  # SIGTERM: the job goes back to the queue (job_release)
                f.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if monotonic() - last >= PROGRESS_SECONDS:
                    _progress(job.pk, export.rows_done, size)
                    last = monotonic()
            f.flush()
            os.fsync(f.fileno())
        _progress(job.pk, export.rows_done, size)
        try:
            final = Path(storage.path(name))
        except NotImplementedError:
            with part.open("rb") as f:
                name = storage.save(name, File(f, name=name))
            part.unlink(missing_ok=True)
        else:
            os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return name, size, digest.hexdigest()


AGAIN = "Try again; if it keeps failing, tell an administrator."


def user_message(e: BaseException) -> str:
    """What went wrong, in words the person who asked for the export can act on."""
    if isinstance(e, FilterError):
        return "The filters no longer match the catalogue: " + " ".join(e.messages)
    if isinstance(e, UnknownFormat):
        return str(e)
    if isinstance(e, OSError) and e.errno == errno.ENOSPC:
        return (
            "The server ran out of disk space while writing the file. Try a smaller selection "
            "or ask an administrator to free some space."
        )
    if isinstance(e, OSError):
        return f"The file could not be written ({e.strerror or e}). {AGAIN}"
    if isinstance(e, DatabaseError):
        return f"The database could not be read to the end of the export. {AGAIN}"
    return f"The export failed unexpectedly ({type(e).__name__}). {AGAIN}"


def _fail(pk: Any, message: str) -> None:
    ExportJob.objects.filter(pk=pk, status__in=ExportJob.UNFINISHED).update(
        status=Status.FAILED, error=message, finished_at=timezone.now()
    )


def job_run(job_id: Any, *, worker_id: str = "") -> str:
    """Run a queued job to its end; the status it ended in. The worker's task calls this."""
    jobs_sweep_stale()
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, worker_id=worker_id[:64]
    )
    job = ExportJob.objects.filter(pk=job_id).first()
    if job is None:
        return "deleted"
    if not claimed:
        return job.status
    try:
        spec = job_spec(job)
        export = export_open(
            filters=spec.filters, columns=spec.columns, fmt=spec.fmt, options=spec.writer_options()
        )
    except Exception as e:
        logger.exception("export job %s could not start", job.pk)
        _fail(job.pk, user_message(e))
        return _finish(job.pk)
    try:
        # The fingerprint of the data actually exported: the snapshot's, not the click's.
        fp = fingerprint(spec, data_version(export.snapshot))
        alive = ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
            rows_total=export.row_count, fingerprint=fp, heartbeat_at=timezone.now()
        )
        if not alive:
            raise Stopped
        name = f"{JOB_FOLDER}/{job.pk}.{export.writer.extension}"
        name, size, sha256 = _write(job, export, name)
    except Stopped:
        return _finish(job.pk)
    except Exception as e:
        logger.exception("export job %s failed", job.pk)
        _fail(job.pk, user_message(e))
        return _finish(job.pk)
    finally:
        export.close()
    manifest = {**export.manifest, "sha256": sha256, "bytes": size}
    done = ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        status=Status.DONE,
        rows_done=export.row_count,
        bytes=size,
        sha256=sha256,
        manifest=manifest,
        file_name=name,
        download_name=export.filename,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    if not done:  # cancelled or deleted in the last instant
        _remove_if_unused(name)
    return _finish(job.pk)


def _finish(pk: Any) -> str:
    job = ExportJob.objects.select_related("owner").filter(pk=pk).first()
    if job is None:
        return "deleted"
    try:
        notify_owner(job)
    except Exception:  # a mail server being down must not fail the export
        logger.exception("could not email the owner of export job %s", job.pk)
    return job.status


# --- Notification ------------------------------------------------------------------------------


def notify_owner(job: ExportJob) -> bool:
    """Email the owner of a job that made them wait more than NOTIFY_AFTER, once it ended."""
    if job.status not in (Status.DONE, Status.FAILED) or not job.owner.email:
        return False
    waited = job.duration
    if waited is None or waited <= NOTIFY_AFTER:
        return False
    base = settings.NOISEBANK_BASE_URL.rstrip("/")
    history = base + reverse("export-history")
    if job.status == Status.DONE:
        link = base + reverse("api:export_job_download", args=[job.pk])
        subject = f"Your {job.format.upper()} export is ready ({job.rows_total:,} rows)"
        body = (
            f"Your export ({job.filter_summary()}; {job.rows_total:,} rows, "
            f"{job.format.upper()}) is ready:\n\n{link}\n\n"
            f"All your exports: {history}\n"
            f"The file is kept for {settings.NOISEBANK_EXPORT_TTL_HOURS} hours.\n"
        )
    else:
        subject = f"Your {job.format.upper()} export failed"
        body = f"Your export failed: {job.error}\n\nRun it again from {history}\n"
    send_mail(subject, body, None, [job.owner.email])
    return True


# --- Recovery and cleanup ----------------------------------------------------------------------

_HOST = socket.gethostname().split(".")[0][:40]


def _worker_process_gone(worker_id: str) -> bool:
    """A worker of this machine (ids are host-pid-random) whose process has ended."""
    parts = worker_id.rsplit("-", 2)
    if len(parts) != 3 or parts[0] != _HOST or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _is_stale(job: ExportJob, alive: set[str] | None) -> bool:
    if job.worker_id and _worker_process_gone(job.worker_id):
        return True
    seen = job.heartbeat_at or job.started_at or job.created_at
    if seen > timezone.now() - timedelta(seconds=STALE_SECONDS):
        return False
    # Silent for a while: lost unless its worker process is still beating (a long chunk).
    return not (job.worker_id and alive is not None and job.worker_id in alive)


STOPPED_MESSAGE = (
    "The worker running this export stopped (restarted or crashed) before the file was "
    "complete; the partial file was removed. Run the export again."
)
LOST_MESSAGE = "The task running this export ended without finishing it. Run the export again."


def job_check_stale(job: ExportJob) -> ExportJob:
    """Queue again a running job whose worker died (failed if its task cannot be), and fail a
    queued job whose task ended without it (the status read calls this)."""
    if job.status == Status.RUNNING and _is_stale(job, _alive_workers()):
        _requeue_or_fail_stale(job)
        job.refresh_from_db()
    elif job.status == Status.QUEUED and job.task_id and _task_ended(job.task_id):
        _fail_stale(job, LOST_MESSAGE)
        job.refresh_from_db()
    return job


def _task_ended(task_id: str) -> bool:
    from django_tasks_db.models import DBTaskResult

    ended = DBTaskResult.objects.filter(id=task_id, status__in=["FAILED", "SUCCESSFUL"])
    try:
        return ended.exists()
    except (ValueError, DatabaseError):  # not a task id this backend knows
        return False


def _alive_workers() -> set[str] | None:
    from noisebank.ops.heartbeat import alive_worker_ids

    try:
        return alive_worker_ids()
    except DatabaseError:
        return None


def _part_of(job_id: Any, fmt: str) -> Path | None:
    return _part_path(f"{JOB_FOLDER}/{job_id}.{writer_extension(fmt)}")


def job_release(job_id: Any) -> bool:
    """Put a running job back in the queue, its partial file removed: its worker stopped or
    died, and its task is being queued again (in the same transaction). Whether it was running."""
    job = ExportJob.objects.filter(pk=job_id, status=Status.RUNNING).only("format").first()
    if job is None:
        return False
    part = _part_of(job.pk, job.format)
    if part is not None:
        part.unlink(missing_ok=True)
    changed = ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        status=Status.QUEUED, worker_id="", rows_done=0, bytes=0, heartbeat_at=timezone.now()
    )
    return bool(changed)


def _requeue_or_fail_stale(job: ExportJob) -> None:
    """A running job whose worker died: run again if its task can be queued again (the
    heartbeat sweep of noisebank.ops.worker would do the same a little later), else failed."""
    from django_tasks_db.models import DBTaskResult

    if job.task_id:
        try:
            with transaction.atomic():
                task = DBTaskResult.objects.filter(id=job.task_id, status="RUNNING")
                if task.update(status="READY") and job_release(job.pk):
                    logger.warning(
                        "export job %s queued again: its worker stopped", job.pk,
                        extra={"event": "export_job_requeued", "job": str(job.pk)},
                    )  # fmt: skip
                    return
                transaction.set_rollback(True)
        except (ValueError, DatabaseError):  # not a task id this backend knows
            pass
    _fail_stale(job, STOPPED_MESSAGE)


def _fail_stale(job: ExportJob, message: str) -> None:
    # The partial file goes first: once the job reads failed, nothing of it is left.
    part = _part_of(job.pk, job.format)
    if part is not None:
        part.unlink(missing_ok=True)
    changed = ExportJob.objects.filter(pk=job.pk, status=job.status).update(
        status=Status.FAILED, error=message, finished_at=timezone.now()
    )
    if changed:
        logger.warning(
            "export job %s marked failed: %s", job.pk, message,
            extra={"event": "export_job_stale", "job": str(job.pk)},
        )  # fmt: skip


def writer_extension(fmt: str) -> str:
    try:
        return writer_for(fmt).extension
    except UnknownFormat:
        return fmt


def writer_content_type(fmt: str) -> str:
    try:
        return writer_for(fmt).content_type
    except UnknownFormat:
        return "application/octet-stream"


def jobs_sweep_stale() -> int:
    """Queue again the jobs whose worker died mid-run (or fail them, if their task cannot be
    queued again), and fail queued jobs whose task ended without running them; partial files
    are removed. The number of jobs recovered either way."""
    from django_tasks_db.models import DBTaskResult

    failed = 0
    alive = _alive_workers()
    for job in ExportJob.objects.filter(status=Status.RUNNING):
        if _is_stale(job, alive):
            _requeue_or_fail_stale(job)
            failed += 1
    queued = ExportJob.objects.filter(status=Status.QUEUED).exclude(task_id="")
    ids = {j.task_id: j for j in queued}
    if ids:
        ended = DBTaskResult.objects.filter(
            id__in=list(ids), status__in=["FAILED", "SUCCESSFUL"]
        ).values_list("id", flat=True)
        for task_id in ended:
            _fail_stale(ids[str(task_id)], LOST_MESSAGE)
            failed += 1
    return failed


@dataclass
class Cleanup:
    stale: int = 0
    expired: int = 0
    files: int = 0
    partial: int = 0


def exports_cleanup(*, now: datetime | None = None) -> Cleanup:
    """Expire finished jobs older than NOISEBANK_EXPORT_TTL_HOURS and delete their files; delete
    temporary files no running job is writing and files no finished job points at."""
    now = now or timezone.now()
    result = Cleanup(stale=jobs_sweep_stale())
    cutoff = now - timedelta(hours=settings.NOISEBANK_EXPORT_TTL_HOURS)
    result.expired = ExportJob.objects.filter(status=Status.DONE, finished_at__lte=cutoff).update(
        status=Status.EXPIRED
    )
    storage = export_storage()
    try:
        _, names = storage.listdir(JOB_FOLDER)
    except (FileNotFoundError, NotADirectoryError):
        return result
    running = {
        str(pk)
        for pk in ExportJob.objects.filter(status=Status.RUNNING).values_list("pk", flat=True)
    }
    kept = set(ExportJob.objects.filter(status=Status.DONE).values_list("file_name", flat=True))
    for filename in names:
        name = f"{JOB_FOLDER}/{filename}"
        if filename.endswith(".part"):
            if filename.split(".", 1)[0] not in running:
                with contextlib.suppress(OSError):
                    storage.delete(name)
                result.partial += 1
        elif name not in kept:
            with contextlib.suppress(OSError):
                storage.delete(name)
            result.files += 1
    return result
