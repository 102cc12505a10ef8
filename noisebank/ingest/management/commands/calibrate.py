"""noisebank calibrate DEVICE FILE --nominal 94 [--at TIME] [--user USERNAME]"""

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from noisebank.ingest.calibrations import CalibrationRefused, calibration_create
from noisebank.ingest.forms import CalibrationForm


class Command(BaseCommand):
    help = (
        "Calibrate a recording device from a recording of its acoustic calibrator (a steady "
        "1 kHz tone, IEC 60942). Its recordings from --at on (default: now) are then in dB SPL; "
        "those already in the catalogue are measured again by the worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("device", help="The device's id or exact name.")
        parser.add_argument("file", type=Path, help="The calibrator recording.")
        parser.add_argument(
            "--nominal", required=True, help="The calibrator's level in dB SPL: 94, 114, ..."
        )
        parser.add_argument(
            "--at", default="", help="When the calibrator was recorded (ISO 8601; default now)."
        )
        parser.add_argument("--user", help="User name the calibration is made by.")

    def handle(self, *args: Any, device: str, file: Path, **options: Any) -> None:
        form = CalibrationForm(
            {"device": device, "nominal": options["nominal"], "valid_from": options["at"]}
        )
        if not form.is_valid():
            problems = form.errors.get_json_data()
            raise CommandError(
                " ".join(f"{name}: {e['message']}" for name, errs in problems.items() for e in errs)
            )
        if not file.is_file():
            raise CommandError(f"{file} is not a file.")
        user = None
        if options.get("user"):
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        try:
            done = calibration_create(
                device=form.cleaned_data["device"],
                file=file,
                filename=file.name,
                nominal_db=form.cleaned_data["nominal"],
                valid_from=form.cleaned_data["valid_from"],
                user=user,
            )
        except CalibrationRefused as e:
            raise CommandError(e.reason) from e
        cal = done.calibration
        self.stdout.write(
            f"Calibration {cal.pk} of {cal.device}: {cal.nominal_db:g} dB SPL read "
            f"{cal.measured_dbfs:.2f} dBFS ({cal.frequency_hz:,.1f} Hz, steady within "
            f"{cal.steadiness_db:.2f} dB over {cal.steady_s:.1f} s), offset {cal.offset_db:+.2f} "
            f"dB, from {cal.valid_from:%Y-%m-%d %H:%M} UTC. It covers {done.covered} recording(s); "
            f"{done.remeasured} with audio are measured again by the worker."
        )
