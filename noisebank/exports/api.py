"""/api/v1/exports: export jobs (create, follow, cancel, download, list).

POST /api/v1/exports {"format", "filters", "columns", "options"}  -> 202 queued (201 done:
     a finished file of the same data reused); the owner's identical unfinished job -> 200
GET  /api/v1/exports/{id}            status, rows_total, rows_done, rate, eta, download_url
GET  /api/v1/exports/{id}/download   the file (Content-Length, Range)
POST /api/v1/exports/{id}/cancel
GET  /api/v1/exports?mine=1&status=queued,running&size=50
"""

import json
import uuid
from datetime import datetime
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from ninja import Router

from noisebank.accounts.roles import can_export, is_admin, review_access
from noisebank.catalog.filters import FilterError, ParamError
from noisebank.exports import jobs
from noisebank.exports.models import ExportJob
from noisebank.exports.views import bad_request, forbidden
from noisebank.files import protected_storage_response
from noisebank.ops.heartbeat import alive_worker_ids

router = Router(tags=["exports"])

Status = ExportJob.Status
LIST_MAX = 200


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def rate_and_eta(job: ExportJob) -> tuple[float | None, float | None]:
    """Rows a second so far, and seconds left at that rate (running jobs)."""
    if job.started_at is None:
        return None, None
    end = job.finished_at if job.is_finished else job.heartbeat_at
    if end is None:
        return None, None
    seconds = (end - job.started_at).total_seconds()
    if seconds <= 0 or not job.rows_done:
        return None, None
    rate = job.rows_done / seconds
    eta = None
    if job.status == Status.RUNNING and job.rows_total is not None:
        eta = max(0.0, (job.rows_total - job.rows_done) / rate)
    return round(rate, 1), None if eta is None else round(eta, 1)


def job_json(job: ExportJob) -> dict[str, Any]:
    rate, eta = rate_and_eta(job)
    done = job.status == Status.DONE
    return {
        "id": str(job.id),
        "status": job.status,
        "format": job.format,
        "owner": job.owner.get_username() if "owner" in job._state.fields_cache else None,
        "filters": job.filters,
        "filter_summary": job.filter_summary(),
        "columns": job.columns,
        "options": job.options,
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "bytes": job.bytes,
        "rate": rate,
        "eta": eta,
        "error": job.error or None,
        "created": _time(job.created_at),
        "started": _time(job.started_at),
        "finished": _time(job.finished_at),
        "expires": _time(job.expires_at),
        "sha256": job.sha256 or None,
        "download_url": reverse("api:export_job_download", args=[job.id]) if done else None,
        "filename": job.download_name if done else None,
        "manifest": job.manifest if done else None,
    }


def visible_jobs(user: Any) -> Any:
    jobs_ = ExportJob.objects.select_related("owner")
    return jobs_ if is_admin(user) else jobs_.filter(owner=user)


def _job_or_none(request: HttpRequest, job_id: str) -> ExportJob | None:
    try:
        pk = uuid.UUID(job_id)
    except ValueError:
        return None
    return visible_jobs(request.user).filter(pk=pk).first()


def not_found() -> JsonResponse:
    return JsonResponse({"detail": "No such export job."}, status=404)


@router.post("/exports", summary="Start an export job for the filters, columns and format")
def export_job_create(request: HttpRequest) -> HttpResponseBase:
    if not can_export(request.user):
        return forbidden()
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return bad_request([ParamError("body", "The body is not valid JSON.")])
    try:
        spec = jobs.parse_job_spec(data, review_access(request.user))
    except FilterError as e:
        return JsonResponse(e.as_json(), status=400)
    job, created = jobs.job_create(owner=request.user, spec=spec)  # type: ignore[arg-type]
    job = visible_jobs(request.user).get(pk=job.pk)
    status = 200 if not created else 201 if job.status == Status.DONE else 202
    response = JsonResponse(job_json(job), status=status)
    response["Location"] = reverse("api:export_job", args=[job.id])
    return response


@router.get("/exports", summary="Export jobs, newest first (yours; an admin sees everyone's)")
def export_job_list(request: HttpRequest) -> HttpResponseBase:
    if not can_export(request.user):
        return forbidden()
    errors = []
    unknown = sorted(set(request.GET) - {"mine", "status", "size"})
    errors += [
        ParamError(p, f"Unknown parameter: {p}. Known: mine, size, status.") for p in unknown
    ]
    selection = visible_jobs(request.user)
    if request.GET.get("mine", "") in {"1", "true", "yes"}:
        selection = selection.filter(owner=request.user)
    statuses = [s.strip() for s in request.GET.get("status", "").split(",") if s.strip()]
    bad = [s for s in statuses if s not in Status.values]
    if bad:
        errors.append(
            ParamError("status", f"status={','.join(bad)}: use {', '.join(Status.values)}.")
        )
    raw_size = request.GET.get("size", "50").strip()
    if not (raw_size.isascii() and raw_size.isdigit() and 1 <= int(raw_size) <= LIST_MAX):
        errors.append(ParamError("size", f"size={raw_size}: a whole number, 1-{LIST_MAX}."))
    if errors:
        return bad_request(errors)
    jobs.jobs_sweep_stale()
    if statuses:
        selection = selection.filter(status__in=statuses)
    page = list(selection.order_by("-created_at")[: int(raw_size)])
    return JsonResponse({"results": [job_json(j) for j in page]})


@router.get("/exports/{job_id}", url_name="export_job", summary="An export job's progress")
def export_job_detail(request: HttpRequest, job_id: str) -> HttpResponseBase:
    if not can_export(request.user):
        return forbidden()
    job = _job_or_none(request, job_id)
    if job is None:
        return not_found()
    body = job_json(jobs.job_check_stale(job))
    if job.status == Status.QUEUED:
        # Lets the panel say why a job waits: no `noisebank worker` is running.
        body["workers"] = len(alive_worker_ids())
    return JsonResponse(body)


@router.post("/exports/{job_id}/cancel", summary="Stop a queued or running export job")
def export_job_cancel(request: HttpRequest, job_id: str) -> HttpResponseBase:
    if not can_export(request.user):
        return forbidden()
    job = _job_or_none(request, job_id)
    if job is None:
        return not_found()
    if not jobs.job_cancel(job) and job.status != Status.CANCELLED:
        body = job_json(job)
        body["detail"] = f"The job is already {job.status}; only a queued or running one stops."
        return JsonResponse(body, status=409)
    return JsonResponse(job_json(job))


@router.get(
    "/exports/{job_id}/download",
    url_name="export_job_download",
    summary="The finished file (Content-Length; Range requests resume a download)",
)
def export_job_download(request: HttpRequest, job_id: str) -> HttpResponseBase:
    if not can_export(request.user):
        return forbidden()
    job = _job_or_none(request, job_id)
    if job is None:
        return not_found()
    job = jobs.job_check_stale(job)
    if job.status == Status.EXPIRED:
        return JsonResponse({"detail": "This export has expired; run it again."}, status=410)
    if job.status != Status.DONE:
        return JsonResponse(
            {"detail": f"The export is {job.status}: there is no file to download."}, status=409
        )
    if not jobs.file_exists(job.file_name):
        return JsonResponse({"detail": "The file is gone; run the export again."}, status=410)
    return protected_storage_response(
        request,
        jobs.export_storage(),
        job.file_name,
        download_name=job.download_name,
        content_type=jobs.writer_content_type(job.format),
    )
