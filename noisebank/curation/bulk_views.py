"""Bulk curation pages: choose the change, preview it, apply it, follow it.

GET  /recordings/bulk/?scope=selected&noise_id=…  or  ?scope=all&filters=<the catalogue's>
POST /recordings/bulk/preview/    what would change (nothing is changed)
POST /recordings/bulk/apply/      the same form again: runs it (a task when large)
GET  /recordings/bulk/<id>/       progress and what was done
"""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from noisebank.accounts.roles import action_required, is_admin
from noisebank.curation import bulk
from noisebank.curation.models import BulkChange, RecordingChange
from noisebank.ingest.views import taxonomy_choices

AUDIT_ROWS = 200
# The form's own fields, carried from the preview to the apply step as they were sent.
FORM_FIELDS = ("operation", "scope", "filters", *(f"set_{f}" for f in bulk.BULK_FIELDS))


def _form_context(data: QueryDict, errors: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "data": data,
        "noise_ids": [v for v in data.getlist("noise_id") if v.strip()],
        "scope": data.get("scope") or "selected",
        "filters": data.get("filters", ""),
        "choices": taxonomy_choices(),
        "fields": [(f, bulk.LABELS[f]) for f in bulk.BULK_FIELDS],
        "errors": errors or {},
        "selected": {f"set_{f}": data.get(f"set_{f}", "") for f in bulk.BULK_FIELDS},
        "max_selected": bulk.MAX_SELECTED,
    }


@action_required("curate")
def bulk_form(request: HttpRequest) -> HttpResponse:
    """Reached from the catalogue with the ticked noise ids, or scope=all and its filters."""
    return render(request, "curation/bulk_form.html", _form_context(request.GET))


def _carried(data: QueryDict) -> list[tuple[str, str]]:
    pairs = [(k, v) for k in FORM_FIELDS for v in data.getlist(k)]
    return pairs + [("noise_id", v) for v in data.getlist("noise_id")]


def _parse(request: HttpRequest) -> bulk.BulkSpec | HttpResponse:
    try:
        return bulk.bulk_parse(request.POST, request.user)  # type: ignore[arg-type]
    except bulk.BulkInvalid as e:
        context = _form_context(request.POST, e.errors)
        return render(request, "curation/bulk_form.html", context, status=400)


@require_POST
@action_required("curate")
def bulk_preview(request: HttpRequest) -> HttpResponse:
    spec = _parse(request)
    if isinstance(spec, HttpResponse):
        return spec
    preview = bulk.bulk_preview(spec, request.user)  # type: ignore[arg-type]
    return render(
        request,
        "curation/bulk_preview.html",
        {
            "spec": spec,
            "operation": BulkChange.Operation(spec.operation).label,
            "preview": preview,
            "carried": _carried(request.POST),
            "inline": preview.total <= bulk.INLINE_MAX,
        },
    )


@require_POST
@action_required("curate")
def bulk_apply(request: HttpRequest) -> HttpResponse:
    """Parse the previewed form again (the rules are checked again at this moment), keep the
    preview's selection (ids up to the highest it saw), and run it."""
    spec = _parse(request)
    if isinstance(spec, HttpResponse):
        return spec
    raw_max = request.POST.get("max_id", "")
    if not raw_max.isdigit():
        context = _form_context(request.POST, {"max_id": "Preview the change first."})
        return render(request, "curation/bulk_form.html", context, status=400)
    max_id = int(raw_max)
    selected = bulk.selection(spec, request.user).filter(id__lte=max_id)  # type: ignore[arg-type]
    preview = bulk.Preview(total=selected.count(), max_id=max_id)
    job = bulk.bulk_create(spec=spec, user=request.user, preview=preview)  # type: ignore[arg-type]
    if preview.total <= bulk.INLINE_MAX:
        bulk.bulk_run(job.pk)
    return redirect("bulk-status", job.pk)


@action_required("curate")
def bulk_status(request: HttpRequest, bulk_id: Any) -> HttpResponse:
    job = BulkChange.objects.select_related("user").filter(pk=bulk_id).first()
    if job is None or not (job.user_id == request.user.pk or is_admin(request.user)):
        raise Http404("No such bulk change.")
    entries = RecordingChange.objects.filter(batch=job.pk).select_related("user")
    shown = bulk.Names()
    return render(
        request,
        "curation/bulk_status.html",
        {
            "job": job,
            "running": job.status in (BulkChange.Status.QUEUED, BulkChange.Status.RUNNING),
            "entries": list(entries.order_by("id")[:AUDIT_ROWS]),
            "entry_count": entries.count(),
            "changes": [(bulk.LABELS[k], shown(k, v)) for k, v in job.changes.items()],
        },
    )
