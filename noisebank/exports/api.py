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
from noisebank.api.errors import COMMON, ErrorOut, error_response
from noisebank.api.responses import ExportJobList, ExportJobOut
from noisebank.api.schema import FLAG, query_param
from noisebank.catalog.filters import FilterError, ParamError
from noisebank.exports import jobs
from noisebank.exports.job_schema import DOWNLOAD_RESPONSE, JOB_BODY
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
    return error_response(404, "No such export job.")


JOB_LINKS = {
    "get_export": {"operationId": "get_export", "parameters": {"job_id": "$response.body#/id"}},
    "cancel_export": {
        "operationId": "cancel_export",
        "parameters": {"job_id": "$response.body#/id"},
    },
    "download_export": {
        "operationId": "download_export",
        "parameters": {"job_id": "$response.body#/id"},
    },
}


@router.post(
    "/exports",
    response={200: ExportJobOut, 201: ExportJobOut, 202: ExportJobOut, **COMMON},
    operation_id="create_export",
    summary="Start an export job for the filters, columns and format",
    description=(
        "202: queued. 201: done at once, a finished file of the same selection and unchanged "
        "data reused. 200: your identical job that is still queued or running."
    ),
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": JOB_BODY}}},
        "responses": {code: {"links": JOB_LINKS} for code in (200, 201, 202)},
    },
)
def export_job_create(request: HttpRequest) -> HttpResponseBase:
    if not can_export(request.user):
        return forbidden()
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return bad_request([ParamError("body", "The body is not valid JSON.")])
    try:
        spec = jobs.parse_job_spec(data, review_access(request.user), stored=False)
    except FilterError as e:
        return bad_request(e.errors)
    job, created = jobs.job_create(owner=request.user, spec=spec)  # type: ignore[arg-type]
    job = visible_jobs(request.user).get(pk=job.pk)
    status = 200 if not created else 201 if job.status == Status.DONE else 202
    response = JsonResponse(job_json(job), status=status)
    response["Location"] = reverse("api:export_job", args=[job.id])
    return response


@router.get(
    "/exports",
    response={200: ExportJobList, **COMMON},
    operation_id="list_exports",
    summary="Export jobs, newest first (yours; an admin sees everyone's)",
    openapi_extra={
        "parameters": [
            query_param("mine", "1: only your own (for an admin).", FLAG),
            {
                **query_param(
                    "status",
                    "Only jobs in these states (comma-separated).",
                    {"type": "array", "items": {"type": "string", "enum": list(Status.values)}},
                ),
                "style": "form",
                "explode": False,
            },
            query_param(
                "size",
                f"How many, 1-{LIST_MAX}.",
                {"type": "integer", "minimum": 1, "maximum": LIST_MAX, "default": 50},
            ),
        ]
    },
)
def export_job_list(request: HttpRequest) -> HttpResponseBase:
    if not can_export(request.user):
        return forbidden()
    errors = []
    unknown = sorted(set(request.GET) - {"mine", "status", "size"})
    errors += [
        ParamError(p, f"Unknown parameter: {p}. Known: mine, size, status.") for p in unknown
    ]
    selection = visible_jobs(request.user)
    mine = request.GET.get("mine", "").strip().lower()
    if mine not in FLAG["enum"] and mine:
        errors.append(ParamError("mine", f"mine={mine[:40]}: use 1 or 0."))
    if mine in {"1", "true", "yes", "on"}:
        selection = selection.filter(owner=request.user)
    statuses = [s.strip() for s in request.GET.get("status", "").split(",") if s.strip()]
    bad = [s for s in statuses if s not in Status.values]
    if bad:
        errors.append(
            ParamError("status", f"status={','.join(bad)}: use {', '.join(Status.values)}.")
        )
    raw_size = request.GET.get("size", "").strip() or "50"  # blank: not given
    if not (raw_size.isascii() and raw_size.isdigit() and 1 <= int(raw_size) <= LIST_MAX):
        errors.append(ParamError("size", f"size={raw_size}: a whole number, 1-{LIST_MAX}."))
    if errors:
        return bad_request(errors)
    jobs.jobs_sweep_stale()
    if statuses:
        selection = selection.filter(status__in=statuses)
    page = list(selection.order_by("-created_at")[: int(raw_size)])
    return JsonResponse({"results": [job_json(j) for j in page]})


@router.get(
    "/exports/{job_id}",
    response={200: ExportJobOut, **COMMON, 404: ErrorOut},
    url_name="export_job",
    operation_id="get_export",
    summary="An export job's progress",
)
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


@router.post(
    "/exports/{job_id}/cancel",
    response={200: ExportJobOut, **COMMON, 404: ErrorOut, 409: ErrorOut},
    operation_id="cancel_export",
    summary="Stop a queued or running export job",
    description="409 when the job has already ended (done, failed, expired).",
)
def export_job_cancel(request: HttpRequest, job_id: str) -> HttpResponseBase:
    if not can_export(request.user):
        return forbidden()
    job = _job_or_none(request, job_id)
    if job is None:
        return not_found()
    if not jobs.job_cancel(job) and job.status != Status.CANCELLED:
        return error_response(
            409,
            f"The job is already {job.status}; only a queued or running one stops.",
            job=job_json(job),
        )
    return JsonResponse(job_json(job))


@router.get(
    "/exports/{job_id}/download",
    response={**COMMON, 404: ErrorOut, 409: ErrorOut, 410: ErrorOut, 416: ErrorOut},
    url_name="export_job_download",
    operation_id="download_export",
    summary="The finished file (Content-Length; Range requests resume a download)",
    description="409 before the job is done; 410 once it has expired or its file is gone.",
    openapi_extra={"responses": {200: DOWNLOAD_RESPONSE, 206: DOWNLOAD_RESPONSE}},
)
def export_job_download(request: HttpRequest, job_id: str) -> HttpResponseBase:
    if not can_export(request.user):
        return forbidden()
    job = _job_or_none(request, job_id)
    if job is None:
        return not_found()
    job = jobs.job_check_stale(job)
    if job.status == Status.EXPIRED:
        return error_response(410, "This export has expired; run it again.")
    if job.status != Status.DONE:
        return error_response(409, f"The export is {job.status}: there is no file to download.")
    if not jobs.file_exists(job.file_name):
        return error_response(410, "The file is gone; run the export again.")
    return protected_storage_response(
        request,
        jobs.export_storage(),
        job.file_name,
        download_name=job.download_name,
        content_type=jobs.writer_content_type(job.format),
    )
