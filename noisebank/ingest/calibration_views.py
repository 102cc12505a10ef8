"""The calibration page: calibrate a device from a calibrator recording; the latest ones.

GET  /calibrations/   the form and the latest calibrations
POST /calibrations/   check the tone, keep the calibration, say what it covers
"""

from pathlib import Path

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from noisebank.accounts.roles import action_required
from noisebank.catalog import models as m
from noisebank.ingest.calibrations import CalibrationRefused, calibration_create
from noisebank.ingest.forms import CalibrationForm
from noisebank.ingest.uploads import too_large_reason

LATEST = 50


@action_required("calibrate")
def calibrations(request: HttpRequest) -> HttpResponse:
    form = CalibrationForm(request.POST if request.method == "POST" else None)
    problem = None
    if request.method == "POST":
        file = request.FILES.get("file")
        if getattr(request, "oversized_uploads", None):
            problem = too_large_reason()
        elif file is None:
            problem = "Choose the calibrator recording to upload."
        elif form.is_valid():
            try:
                done = calibration_create(
                    device=form.cleaned_data["device"],
                    file=Path(file.temporary_file_path()),  # type: ignore[attr-defined]
                    filename=file.name or "",
                    nominal_db=form.cleaned_data["nominal"],
                    valid_from=form.cleaned_data["valid_from"],
                    user=request.user,  # type: ignore[arg-type]
                    move=True,
                )
            except CalibrationRefused as e:
                problem = e.reason
            else:
                cal = done.calibration
                messages.success(
                    request,
                    f"{cal.device}: {cal.nominal_db:g} dB SPL read {cal.measured_dbfs:.2f} dBFS, "
                    f"so its offset is {cal.offset_db:+.2f} dB from "
                    f"{cal.valid_from:%Y-%m-%d %H:%M} UTC. It covers {done.covered} "
                    f"recording(s); {done.remeasured} with audio are being measured again in "
                    "the background.",
                )
                return redirect("calibrations")
        else:
            problem = "Not calibrated: see the fields marked below."
    context = {
        "form": form,
        "problem": problem,
        "devices": m.Device.objects.all(),
        "latest": m.Calibration.objects.select_related("device", "created_by")[:LATEST],
        "values": request.POST if request.method == "POST" else {},
    }
    return render(request, "ingest/calibrations.html", context, status=422 if problem else 200)
