"""Pages of the ingest app: upload (one file, bulk), a recording's detail page, its audio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from noisebank.accounts.roles import (
    action_required,
    can_browse,
    can_delete_recording,
    can_edit_recording,
    can_reprocess_recording,
    can_review,
    can_view_recording,
)
from noisebank.catalog import models as m
from noisebank.curation.models import RecordingChange
from noisebank.curation.services import changes_log, recording_fields, recording_resubmit
from noisebank.files import protected_file_response
from noisebank.ingest import chunks, plots
from noisebank.ingest.api import DETAIL_RELATIONS, metadata_of
from noisebank.ingest.forms import FIELDS
from noisebank.ingest.services import (
    UploadRejected,
    recording_create,
    recording_delete,
    recording_update,
    recordings_reprocess,
)
from noisebank.ingest.uploads import too_large_reason
from noisebank.lib import checks

HISTORY_ROWS = 100
AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
}


def taxonomy_choices() -> dict[str, Any]:
    """Everything the metadata selects offer; children carry their parent's id for the cascade."""
    return {
        "dataset_types": m.DatasetType.objects.all(),
        "categories": m.Category.objects.all(),
        "classes": m.SoundClass.objects.all(),
        "subclasses": m.Subclass.objects.all(),
        "regions": m.Region.objects.all(),
        "communities": m.Community.objects.all(),
        "times_of_day": m.TimeOfDay.objects.all(),
        "devices": m.Device.objects.all(),
        "microphones": m.MicrophoneType.objects.all(),
    }


def _form_context(values: dict[str, Any] | None = None, errors: Any = None) -> dict[str, Any]:
    return {
        "choices": taxonomy_choices(),
        "values": values or {},
        "field_errors": errors or {},
        "general_errors": (errors or {}).get("__all__", []),
        "settings_max_mb": settings.NOISEBANK_MAX_UPLOAD_MB,
    }


@action_required("upload")
def upload(request: HttpRequest) -> HttpResponse:
    """One file with its metadata. Works without JavaScript; the script adds drag and drop."""
    if request.method != "POST":
        return render(request, "ingest/upload.html", _form_context())
    values = metadata_of(request.POST)
    file = request.FILES.get("file")
    problem = None
    if getattr(request, "oversized_uploads", None):
        problem = UploadRejected(too_large_reason(), kind="too_large")
    elif file is None:
        problem = UploadRejected("Choose an audio file to upload.", kind="metadata")
    if problem is None:
        assert file is not None
        try:
            created = recording_create(
                file=Path(file.temporary_file_path()),  # type: ignore[attr-defined]
                filename=file.name or "",
                metadata=values,
                collector=request.user,  # type: ignore[arg-type]
                move=True,
            )
        except UploadRejected as e:
            problem = e
        else:
            rec = created.recording
            messages.success(request, f"Uploaded as {rec.noise_id}; it is being measured now.")
            for note in created.notes:
                messages.info(request, note)
            return redirect("recording-detail", rec.noise_id)
    assert problem is not None
    context = _form_context(values, problem.errors)
    context["problem"] = problem
    status = {"duplicate": 409, "too_large": 413, "audio": 422}.get(problem.kind, 400)
    return render(request, "ingest/upload.html", context, status=status)


@action_required("upload")
def bulk_upload(request: HttpRequest) -> HttpResponse:
    context = _form_context()
    context["chunk_size"] = chunks.CHUNK_SIZE
    context["fields"] = FIELDS
    return render(request, "ingest/bulk.html", context)


def _recording_or_404(noise_id: str, *, full: bool = True, user: Any = None) -> m.Recording:
    """The recording, if `user` (when given) may see it: one not yet accepted is a 404 to
    everyone but its collector and the reviewers, as if it were not there."""
    qs = m.Recording.objects.select_related(*DETAIL_RELATIONS) if full else m.Recording.objects
    rec = qs.filter(noise_id=noise_id).first()
    if rec is None or (user is not None and not can_view_recording(user, rec)):
        raise Http404(f"No recording {noise_id}.")
    return rec


def charts_of(analysis: m.NoiseAnalysis | None) -> dict[str, str]:
    """The detail page's plots (inline SVG drawn from what the worker stored), by name."""
    if analysis is None:
        return {}
    series = analysis.level_series or {}
    marks = {"LAeq": analysis.laeq, "LA10": analysis.la10, "LA90": analysis.la90}
    charts = {
        "level": plots.level_svg(series, marks, analysis.unit),
        "waveform": plots.waveform_svg(series.get("waveform") or {}),
        "spectrogram": plots.spectrogram_svg(series.get("spectrogram") or {}),
        "bands": plots.bands_svg(analysis.band_levels or {}, analysis.unit),
        "hourly": plots.hourly_svg(analysis.hourly_laeq or [], analysis.unit),
    }
    return {k: mark_safe(v) for k, v in charts.items() if v}  # noqa: S308 (our own SVG)


def recording_detail(request: HttpRequest, noise_id: str) -> HttpResponse:
    if not can_browse(request.user):
        raise PermissionDenied("Browsing the catalogue needs the collector role.")
    rec = _recording_or_404(noise_id, user=request.user)
    features = getattr(rec, "features", None)
    analysis = getattr(rec, "analysis", None)
    context = {
        "rec": rec,
        "features": features,
        "analysis": analysis,
        "signal": _signal_checks(analysis),
        "charts": charts_of(analysis),
        "calibration": rec.calibration_in_force(),
        "can_edit": can_edit_recording(request.user, rec),
        "can_review_it": can_review(request.user),
        "history": list(rec.changes.select_related("user")[:HISTORY_ROWS]),
        "can_delete": can_delete_recording(request.user),
        "can_reprocess": can_reprocess_recording(request.user) and bool(rec.audio),
        "audio_url": reverse("recording-audio", args=[rec.noise_id]) if rec.audio else None,
        "in_progress": rec.status in (m.Recording.Status.PENDING, m.Recording.Status.PROCESSING)
        and bool(rec.audio),
    }
    return render(request, "ingest/recording_detail.html", context)


def _signal_checks(analysis: m.NoiseAnalysis | None) -> dict[str, Any] | None:
    """The signal checks for the page; None for levels measured before the checks existed."""
    if analysis is None or (analysis.clipped_share is None and not analysis.no_signal):
        return None
    dead = set(analysis.dead_channels or [])
    share = analysis.clipped_share or 0.0
    return {
        "clipped_percent": f"{100 * share:.3g}",
        "clipped": share > checks.CLIPPED_SHARE_LIMIT,
        "dc": abs(analysis.dc_offset or 0.0) > checks.DC_OFFSET_LIMIT,
        "channels": [
            {"number": i, "laeq": level, "dead": i in dead}
            for i, level in enumerate(analysis.channel_laeq or [], start=1)
        ]
        if len(analysis.channel_laeq or []) > 1
        else [],
        "level_channels": ", ".join(str(c) for c in analysis.level_channels or []),
        "dead_channels": ", ".join(str(c) for c in sorted(dead)),
    }


def recording_audio(request: HttpRequest, noise_id: str) -> HttpResponseBase:
    if not can_browse(request.user):
        raise PermissionDenied("Listening needs the collector role.")
    rec = _recording_or_404(noise_id, full=False, user=request.user)
    if not rec.audio:
        raise Http404("No audio is stored for this recording.")
    path = Path(rec.audio.path)
    if not path.exists():
        raise Http404("The audio file is missing from the server.")
    return protected_file_response(
        request,
        path,
        download_name=rec.original_filename or path.name,
        content_type=AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream"),
        as_attachment=request.GET.get("download") == "1",
    )


def recording_edit(request: HttpRequest, noise_id: str) -> HttpResponse:
    rec = _recording_or_404(noise_id)
    if not can_edit_recording(request.user, rec):
        raise PermissionDenied("Only its collector, a reviewer or an admin can edit a recording.")
    if request.method == "POST":
        values = metadata_of(request.POST)
        calibration_before = rec.effective_calibration_db
        before = recording_fields(rec)
        try:
            recording_update(recording=rec, metadata=values)
        except UploadRejected as e:
            context = _form_context(values, e.errors)
            context.update({"rec": rec, "problem": e})
            return render(request, "ingest/recording_edit.html", context, status=400)
        messages.success(request, "Saved.")
        after = recording_fields(rec)
        changes_log(
            recording=rec,
            user=request.user,  # type: ignore[arg-type]
            kind=RecordingChange.Kind.EDIT,
            changes=[(name, before[name], after[name]) for name in after],
        )
        if not can_review(request.user) and recording_resubmit(
            recording=rec,
            user=request.user,  # type: ignore[arg-type]
            reason="Edited by its collector.",
        ):
            messages.info(request, "It goes back to the reviewers, who see your changes.")
        if rec.effective_calibration_db != calibration_before and rec.audio:
            # Levels are stored in the unit of the calibration they were measured with.
            recordings_reprocess([rec])
            messages.info(request, "The calibration changed: the levels are being measured again.")
        return redirect("recording-detail", rec.noise_id)
    values = {
        "name": rec.name,
        "description": rec.description,
        "latitude": "" if rec.latitude is None else rec.latitude,
        "longitude": "" if rec.longitude is None else rec.longitude,
        "recorded_at": rec.recorded_at.strftime("%Y-%m-%dT%H:%M") if rec.recorded_at else "",
        "calibration_offset_db": ""
        if rec.calibration_offset_db is None
        else rec.calibration_offset_db,
    }
    for field in (
        "dataset_type",
        "category",
        "sound_class",
        "subclass",
        "region",
        "community",
        "time_of_day",
        "device",
        "microphone_type",
    ):
        values[field] = str(getattr(rec, f"{field}_id") or "")
    context = _form_context(values)
    context["rec"] = rec
    return render(request, "ingest/recording_edit.html", context)


@require_POST
def recording_delete_view(request: HttpRequest, noise_id: str) -> HttpResponse:
    if not can_delete_recording(request.user):
        raise PermissionDenied("Only a reviewer or an admin can delete a recording.")
    rec = _recording_or_404(noise_id, full=False)
    with transaction.atomic():
        changes_log(
            recording=rec,
            user=request.user,  # type: ignore[arg-type]
            kind=RecordingChange.Kind.DELETE,
            changes=[("recording", rec.name, "deleted")],
        )
        recording_delete(recording=rec)
    messages.success(request, f"Deleted {noise_id} and its audio file.")
    return redirect("recording-list")


@require_POST
def recording_reprocess(request: HttpRequest, noise_id: str) -> HttpResponse:
    if not can_reprocess_recording(request.user):
        raise PermissionDenied("Only a reviewer or an admin can re-process a recording.")
    rec = _recording_or_404(noise_id, full=False)
    result = recordings_reprocess([rec])
    if result.queued:
        changes_log(
            recording=rec,
            user=request.user,  # type: ignore[arg-type]
            kind=RecordingChange.Kind.REPROCESS,
            changes=[("status", rec.status, m.Recording.Status.PENDING)],
        )
        messages.success(request, "Queued for measuring again.")
    else:
        messages.error(request, "Not queued: it has no audio, or is being measured right now.")
    return redirect("recording-detail", rec.noise_id)


@action_required("administer")
def processing_status(request: HttpRequest) -> HttpResponse:
    """Counts by status and the latest failures; refreshes itself while work is queued."""
    counts = dict(
        m.Recording.objects.exclude(audio="")
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    failed = (
        m.Recording.objects.filter(status=m.Recording.Status.FAILED)
        .exclude(audio="")
        .order_by("-updated_at")
        .only("noise_id", "name", "error", "updated_at")[:20]
    )
    busy = counts.get("pending", 0) + counts.get("processing", 0)
    limit_clip, limit_dc = checks.CLIPPED_SHARE_LIMIT, checks.DC_OFFSET_LIMIT
    flags = m.NoiseAnalysis.objects.aggregate(
        clipped=Count("pk", filter=Q(clipped_share__gt=limit_clip)),
        no_signal=Count("pk", filter=Q(no_signal=True)),
        dead_channel=Count("pk", filter=Q(dead_channels__0__isnull=False)),
        dc_offset=Count("pk", filter=Q(dc_offset__gt=limit_dc) | Q(dc_offset__lt=-limit_dc)),
    )
    context = {
        "flags": flags,
        "counts": [(s, counts.get(s, 0)) for s in m.Recording.Status.values],
        "failed": failed,
        "busy": busy,
        "total": sum(counts.values()),
    }
    return render(request, "ingest/status.html", context)
