"""Calibrating a recording device from a recording of its acoustic calibrator.

    calibration_create   check the tone, store the file and the row, queue the re-measuring
    calibration_apply    what the worker runs: measure again the recordings it now covers
    covered_recordings   the device's recordings whose levels are in this calibration

A calibration applies to the device's recordings made from its ``valid_from`` until the device's
next calibration, unless a recording has an offset of its own; recordings without a recording
time are not covered (nobody knows whether they came after it). See
``Recording.calibration_in_force``.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from noisebank.accounts.roles import may
from noisebank.catalog.models import Calibration, Device, Recording
from noisebank.curation.calibration import DeviceOffsets, levels_recalibrate
from noisebank.ingest import calibrator
from noisebank.ingest.audio import AudioRejected, sanitize_filename
from noisebank.ingest.decode import open_audio
from noisebank.ingest.services import EXTENSIONS, recordings_reprocess


class CalibrationRefused(Exception):
    """Not taken: ``reason`` says why, with what was measured."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Calibrated:
    calibration: Calibration
    reading: calibrator.ToneReading
    covered: int  # recordings of the device it now covers
    remeasured: int  # of those, the ones with audio: measured again in the background


def calibration_create(
    *,
    device: Device,
    file: Path,
    filename: str,
    nominal_db: float,
    valid_from: datetime | None,
    user: User | None,
    move: bool = False,
) -> Calibrated:
    """Check that ``file`` holds a steady 1 kHz calibrator tone, keep the calibration (offset =
    nominal - measured dBFS) with its file, and queue the recordings it covers for measuring
    again once it has committed. ``valid_from``: when the calibrator was recorded (default
    now). Raises CalibrationRefused; nothing is stored then."""
    if user is not None and not may(user, "calibrate"):
        raise CalibrationRefused("Calibrating a device needs the collector role.")
    try:
        source = open_audio(file, max_duration_s=calibrator.MAX_CALIBRATOR_S)
        reading = calibrator.read_tone(source)
    except (AudioRejected, calibrator.NotACalibratorTone) as e:
        raise CalibrationRefused(e.reason) from e
    now = timezone.now()
    relative = (
        f"calibrations/{now:%Y/%m}/device-{device.pk}-{now:%Y%m%d%H%M%S}-"
        f"{secrets.token_hex(3)}.{EXTENSIONS[source.format]}"
    )
    stored = Path(settings.MEDIA_ROOT) / relative
    stored.parent.mkdir(parents=True, exist_ok=True)
    partial = stored.with_name(stored.name + ".part")
    (shutil.move if move else shutil.copyfile)(file, partial)
    os.chmod(partial, 0o640)
    os.replace(partial, stored)
    try:
        with transaction.atomic():
            calibration = Calibration.objects.create(
                device=device,
                nominal_db=nominal_db,
                measured_dbfs=reading.level_dbfs,
                offset_db=reading.offset_db(nominal_db),
                frequency_hz=reading.frequency_hz,
                steadiness_db=reading.steadiness_db,
                steady_s=reading.steady_s,
                valid_from=valid_from or now,
                file=relative,
                original_filename=sanitize_filename(filename),
                created_by=user,
                created_at=now,
            )
            covered = covered_recordings(calibration)
            counts = (covered.count(), covered.exclude(audio="").count())
            transaction.on_commit(lambda: _enqueue(calibration.pk))
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    return Calibrated(calibration, reading, *counts)


def _enqueue(calibration_id: int) -> None:
    from noisebank.ingest.tasks import apply_calibration

    apply_calibration.enqueue(calibration_id)


def covered_recordings(calibration: Calibration) -> QuerySet[Recording]:
    """The device's recordings without an offset of their own made from ``valid_from`` until
    the device's next calibration."""
    found = Recording.objects.filter(
        device_id=calibration.device_id,
        calibration_offset_db__isnull=True,
        recorded_at__gte=calibration.valid_from,
    )
    later = (
        Calibration.objects.filter(device_id=calibration.device_id)
        .filter(
            Q(valid_from__gt=calibration.valid_from)
            | Q(valid_from=calibration.valid_from, pk__gt=calibration.pk)
        )
        .order_by("valid_from", "pk")
        .values_list("valid_from", flat=True)
        .first()
    )
    if later is not None:
        found = found.filter(recorded_at__lt=later)
    return found


def calibration_apply(calibration_id: int) -> str:
    """Measure again the recordings a new calibration covers (once per calibration); those
    without audio get their stored levels shifted by the change of offset instead."""
    with transaction.atomic():
        calibration = Calibration.objects.select_for_update().filter(pk=calibration_id).first()
        if calibration is None or calibration.applied_at is not None:
            return "skipped"
        recordings = list(
            covered_recordings(calibration).only(
                "pk", "audio", "status", "device_id", "recorded_at", "calibration_offset_db"
            )
        )
        offsets = DeviceOffsets(excluding=calibration.pk)  # as they were before it
        before = {
            r.pk: offsets.offset(calibration.device_id, r.recorded_at)
            for r in recordings
            if not r.audio
        }
        levels_recalibrate(
            {
                pk: (old, calibration.offset_db)
                for pk, old in before.items()
                if old != calibration.offset_db
            }
        )
        queued = recordings_reprocess([r for r in recordings if r.audio])
        calibration.applied_at = timezone.now()
        calibration.save(update_fields=["applied_at"])
    return f"queued {queued.queued}, shifted {len(before)}, busy {queued.busy}"
