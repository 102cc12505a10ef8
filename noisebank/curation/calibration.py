"""Calibration and levels: which offset a recording's levels are in, and moving stored levels
to a new one without the audio.

Levels are the dBFS level plus the calibration offset (dB SPL = dBFS + offset), so a new offset
adds the difference of the two to every level, band and point of the level series; spreads,
counts and frequencies stay. Recordings with audio are measured again instead (exact, and it
refreshes everything the worker derives).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from noisebank.catalog.models import Calibration, Device, NoiseAnalysis, Recording

CALIBRATION = "calibration_offset_db"
LEVEL_FIELDS = ("lzeq", "laeq", "lafmax", "lafmin", "la10", "la50", "la90", "mean_db", "max_db",
                "min_db")  # fmt: skip


class DeviceOffsets:
    """Every device's calibrations and typed offset, read once for a batch of recordings: the
    rule of ``Recording.calibration_in_force`` without a query per recording."""

    def __init__(self, *, excluding: int | None = None) -> None:
        self.typed: dict[int, float | None] = dict(
            Device.objects.values_list("pk", "calibration_offset_db")
        )
        self.calibrations: dict[int, list[tuple[datetime, float]]] = {}
        made = Calibration.objects.all()
        if excluding is not None:
            made = made.exclude(pk=excluding)
        rows = made.order_by("valid_from", "id").values_list("device_id", "valid_from", "offset_db")
        for device_id, valid_from, offset in rows:
            self.calibrations.setdefault(device_id, []).append((valid_from, offset))

    def offset(self, device_id: int, at: datetime | None) -> float | None:
        if at is not None:
            made = [
                offset
                for valid_from, offset in self.calibrations.get(device_id, [])
                if valid_from <= at
            ]
            if made:
                return made[-1]
        return self.typed.get(device_id)


def device_offsets() -> DeviceOffsets:
    return DeviceOffsets()


def effective_calibration(
    rec: Recording, values: Mapping[str, Any], offsets: DeviceOffsets
) -> float | None:
    """The offset the levels are in: the recording's own, else its device's calibration
    covering its time, else the device's typed offset (as `values` would set them)."""
    own = values.get(CALIBRATION, rec.calibration_offset_db)
    if own is not None:
        return float(own)
    device_id = values.get("device", rec.device_id)
    if device_id is None:
        return None
    return offsets.offset(device_id, values.get("recorded_at", rec.recorded_at))


def levels_recalibrate(shifts: Mapping[int, tuple[float | None, float | None]]) -> int:
    """Shift stored levels to a new calibration: recording id -> (old offset, new offset).

    Levels are the dBFS level plus the offset, so the difference of the offsets is added to
    every level (the spread, counts and frequencies stay); the unit follows the new offset. A
    level stored in dB SPL without an old offset to take off is left alone."""
    done = 0
    for a in NoiseAnalysis.objects.select_for_update().filter(recording_id__in=list(shifts)):
        old, new = shifts[a.recording_id]
        base = 0.0 if a.unit == NoiseAnalysis.Unit.DBFS else old
        if base is None:
            continue
        delta = (new or 0.0) - base
        for name in LEVEL_FIELDS:
            value = getattr(a, name)
            if value is not None:
                setattr(a, name, value + delta)
        a.band_levels = {
            k: v + delta if isinstance(v, int | float) else v
            for k, v in (a.band_levels or {}).items()
        }
        series = dict(a.level_series or {})
        if isinstance(series.get("laf_levels"), list):
            series["laf_levels"] = [
                v + delta if isinstance(v, int | float) else v for v in series["laf_levels"]
            ]
        a.level_series = series
        a.unit = NoiseAnalysis.Unit.DB_SPL if new is not None else NoiseAnalysis.Unit.DBFS
        a.save()
        done += 1
    ids = list(shifts)
    for start in range(0, len(ids), 500):
        Recording.objects.filter(pk__in=ids[start : start + 500]).copy_measurements()
    return done
