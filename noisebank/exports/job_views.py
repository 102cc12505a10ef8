"""The export history page: the user's jobs (an admin's: everyone's), re-run and delete."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from noisebank.accounts.roles import action_required, is_admin, review_access
from noisebank.catalog.filters import FilterError
from noisebank.exports import jobs
from noisebank.exports.api import visible_jobs
from noisebank.exports.models import ExportJob

HISTORY_ROWS = 200


@action_required("export")
def export_history(request: HttpRequest) -> HttpResponse:
    jobs.jobs_sweep_stale()
    rows = list(visible_jobs(request.user).order_by("-created_at")[:HISTORY_ROWS])
    return render(
        request,
        "exports/history.html",
        {
            "jobs": rows,
            "show_owner": is_admin(request.user),
            "limit": HISTORY_ROWS,
            "ttl_hours": settings.NOISEBANK_EXPORT_TTL_HOURS,
        },
    )


def _job(request: HttpRequest, job_id: object) -> ExportJob:
    job = visible_jobs(request.user).filter(pk=job_id).first()
    if job is None:
        raise Http404("No such export job.")
    return job


@require_POST
@action_required("export")
def export_rerun(request: HttpRequest, job_id: object) -> HttpResponse:
    """A new job of the same filters, columns, format and options, owned by whoever asks."""
    job = _job(request, job_id)
    try:
        spec = jobs.job_spec(job, review_access(request.user))
    except FilterError as e:
        messages.error(request, "This export cannot run again: " + " ".join(e.messages))
        return redirect("export-history")
    new, created = jobs.job_create(owner=request.user, spec=spec)  # type: ignore[arg-type]
    if new.status == ExportJob.Status.DONE:
        messages.success(request, "The data has not changed since: the file is ready again.")
    elif created:
        messages.success(request, "Export started again.")
    else:
        messages.info(request, "The same export is already on its way.")
    return redirect("export-history")


@require_POST
@action_required("export")
def export_delete(request: HttpRequest, job_id: object) -> HttpResponse:
    jobs.job_delete(_job(request, job_id))
    messages.success(request, "Export deleted.")
    return redirect("export-history")
