"""Every exportable column: its name, label, type, unit, meaning and how the database fetches it.

The original system's 38 columns come first, under their names, since users' analysis scripts
read them; then what it never had. `resolve_columns("default")` or
`resolve_columns("noise_id,laeq,band_1000")` picks and orders them.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Expression,
    F,
    FloatField,
    Func,
    OuterRef,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf

from noisebank.catalog.models import Calibration
from noisebank.exports.engine.columns import Column, ColumnType
from noisebank.lib.bands import BAND_CENTRES


class JsonNumber(Func):
    """A number inside a JSON column (object key or array index); NULL if absent or not a number.

    Written per vendor so a stray string never aborts an export halfway.
    """

    output_field = FloatField()

    def __init__(self, field: str, key: str | int) -> None:
        if not re.fullmatch(r"[0-9A-Za-z_.]+", str(key)):
            raise ValueError(f"unsafe JSON key {key!r}")
        self.key = key
        super().__init__(F(field))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        lhs, params = compiler.compile(self.source_expressions[0])
        # Keys are literals (checked above): a bound parameter would be of unknown type there.
        key = str(self.key) if isinstance(self.key, int) else f"'{self.key}'"
        sql = (
            f"CASE WHEN jsonb_typeof({lhs} -> {key}) = 'number' "
            f"THEN ({lhs} ->> {key})::double precision END"
        )
        return sql, (*params, *params)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        lhs, params = compiler.compile(self.source_expressions[0])
        path = f"'$[{self.key}]'" if isinstance(self.key, int) else f"'$.\"{self.key}\"'"
        sql = (
            f"CASE WHEN json_type({lhs}, {path}) IN ('real', 'integer') "
            f"THEN CAST(json_extract({lhs}, {path}) AS REAL) END"
        )
        return sql, (*params, *params)


class JsonText(Func):
    """A JSON column as its text."""

    output_field = TextField()

    def __init__(self, field: str) -> None:
        super().__init__(F(field))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        lhs, params = compiler.compile(self.source_expressions[0])
        return f"({lhs})::text", params

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return compiler.compile(self.source_expressions[0])


def _device_calibration(field: str) -> Expression:
    """A field of the calibration a recording's levels are in, when it is its device's
    (Recording.calibration_in_force): none when the recording has its own offset."""
    latest = Calibration.objects.filter(
        device_id=OuterRef("device_id"), valid_from__lte=OuterRef("recorded_at")
    ).order_by("-valid_from", "-id")
    return Case(
        When(calibration_offset_db__isnull=True, then=Subquery(latest.values(field)[:1])),
        default=None,
    )


@dataclass(frozen=True)
class ExportColumn:
    column: Column
    expression: Expression | F

    @property
    def name(self) -> str:
        return self.column.name


def _col(
    name: str,
    label: str,
    type_: ColumnType,
    expression: Expression | F | str,
    unit: str = "",
    description: str = "",
) -> ExportColumn:
    expr = F(expression) if isinstance(expression, str) else expression
    return ExportColumn(Column(name, label, type_, unit, description), expr)


# How every frame feature is defined: the mean over the recording's STFT frames.
FRAMES = "Mean over 2048-sample frames every 512 samples of the channel mean at 22,050 Hz of "
LEVEL_UNIT = "dB"
LEVEL_NOTE = "dB SPL when the recording is calibrated, dBFS otherwise (see the unit column)."

ORIGINAL: list[ExportColumn] = [
    _col("noise_id", "Noise ID", "text", "noise_id", "", "Public identifier of the recording."),
    _col("name", "Name", "text", "name"),
    _col("dataset_type", "Dataset type", "text", "dataset_type__name", "", "Noise, clean speech, mixed, …"),
    _col("collector", "Collector", "text", "collector__username", "", "User name of who recorded it."),
    _col("description", "Description", "text", "description"),
    _col("recording_device", "Recording device", "text", "device__name"),
    _col("recording_date", "Recorded at", "datetime", "recorded_at", "UTC", "When the recording started."),
    _col("created_at", "Created at", "datetime", "created_at", "UTC", "When it was uploaded."),
    _col("updated_at", "Updated at", "datetime", "updated_at", "UTC", "Last change to its record."),
    _col("region", "Region", "text", "region__name"),
    _col("community", "Community", "text", "community__name"),
    _col("category", "Category", "text", "category__name"),
    _col("class", "Class", "text", "sound_class__name"),
    _col("subclass", "Subclass", "text", "subclass__name"),
    _col("time_of_day", "Time of day", "text", "time_of_day__name"),
    _col("microphone_type", "Microphone type", "text", "microphone_type__name"),
    _col("audio_file", "Audio file", "text", NullIf(F("audio"), Value(""), output_field=CharField()), "", "Storage path of the audio file, relative to the media folder."),
    _col("audio_size", "Audio size", "integer", "size_bytes", "bytes"),
    _col("audio_duration", "Duration", "float", "features__duration_s", "s"),
    _col("sample_rate", "Sample rate", "integer", "features__sample_rate", "Hz"),
    _col("num_samples", "Samples", "integer", "features__num_samples", "", "Samples per channel."),
    _col("rms_energy", "RMS energy", "float", "features__rms_energy", "", "Root mean square of all samples of all channels after DC removal, full scale = 1 (20·log10 of it is LZeq in dBFS)."),
    _col("zero_crossing_rate", "Zero-crossing rate", "float", "features__zero_crossing_rate", "", FRAMES + "the share of sign changes per sample."),
    _col("spectral_centroid", "Spectral centroid", "float", "features__spectral_centroid", "Hz", FRAMES + "the spectrum's centre of mass."),
    _col("spectral_bandwidth", "Spectral bandwidth", "float", "features__spectral_bandwidth", "Hz", FRAMES + "the spread of the spectrum about its centroid."),
    _col("spectral_rolloff", "Spectral roll-off", "float", "features__spectral_rolloff", "Hz", FRAMES + "the frequency below which 85 % of the energy lies."),
    _col("spectral_flatness", "Spectral flatness", "float", "features__spectral_flatness", "", FRAMES + "geometric over arithmetic mean of the power spectrum: 0 tonal, 1 noise-like."),
    _col("harmonic_ratio", "Harmonic ratio", "float", "features__harmonic_ratio", "", "Share of the spectrogram's energy in the harmonic part (median-filter HPSS over 31 frames by 31 bins, soft masks)."),
    _col("percussive_ratio", "Percussive ratio", "float", "features__percussive_ratio", "", "Share of the spectrogram's energy in the percussive part; harmonic_ratio + percussive_ratio = 1."),
    _col("mean_db", "Mean level", "float", "analysis__mean_db", LEVEL_UNIT, "Mean of the A-weighted Fast level over time. " + LEVEL_NOTE),
    _col("max_db", "Maximum level", "float", "analysis__max_db", LEVEL_UNIT, "Maximum of the A-weighted Fast level (= LAFmax). " + LEVEL_NOTE),
    _col("min_db", "Minimum level", "float", "analysis__min_db", LEVEL_UNIT, "Minimum of the A-weighted Fast level (= LAFmin). " + LEVEL_NOTE),
    _col("std_db", "Level standard deviation", "float", "analysis__std_db", LEVEL_UNIT, "Standard deviation of the A-weighted Fast level over time."),
    _col("peak_count", "Peaks", "integer", "analysis__peak_count", "", "Peaks of the A-weighted Fast level read every 10 ms: standing out by 6 dB within 30 s either side, 0.25 s apart or more."),
    _col("peak_interval_mean", "Mean peak interval", "float", "analysis__peak_interval_mean_s", "s"),
    _col("dominant_frequency", "Dominant frequency", "float", "analysis__dominant_frequency_hz", "Hz"),
    _col("frequency_range", "Frequency range", "float", F("analysis__freq_high_hz") - F("analysis__freq_low_hz"), "Hz", "Width of the band holding 90 % of the energy (freq_high_hz - freq_low_hz)."),
    _col("event_count", "Events", "integer", "analysis__event_count", "", "Exceedances of LA90 + 10 dB lasting at least 0.5 s."),
]  # fmt: skip

LEVELS: list[ExportColumn] = [
    _col("unit", "Level unit", "text", "analysis__unit", "", "dB SPL (calibrated) or dBFS (uncalibrated): the unit of every level column."),
    _col("lzeq", "LZeq", "float", "analysis__lzeq", LEVEL_UNIT, "Unweighted equivalent continuous level. " + LEVEL_NOTE),
    _col("laeq", "LAeq", "float", "analysis__laeq", LEVEL_UNIT, "A-weighted equivalent continuous level. " + LEVEL_NOTE),
    _col("lafmax", "LAFmax", "float", "analysis__lafmax", LEVEL_UNIT, "Maximum A-weighted Fast (125 ms) level. " + LEVEL_NOTE),
    _col("lafmin", "LAFmin", "float", "analysis__lafmin", LEVEL_UNIT, "Minimum A-weighted Fast level. " + LEVEL_NOTE),
    _col("la10", "LA10", "float", "analysis__la10", LEVEL_UNIT, "A-weighted Fast level exceeded 10 % of the time. " + LEVEL_NOTE),
    _col("la50", "LA50", "float", "analysis__la50", LEVEL_UNIT, "A-weighted Fast level exceeded 50 % of the time. " + LEVEL_NOTE),
    _col("la90", "LA90", "float", "analysis__la90", LEVEL_UNIT, "A-weighted Fast level exceeded 90 % of the time. " + LEVEL_NOTE),
]  # fmt: skip

LOCATION: list[ExportColumn] = [
    _col("latitude", "Latitude", "float", "latitude", "degrees", "WGS 84, north positive."),
    _col("longitude", "Longitude", "float", "longitude", "degrees", "WGS 84, east positive."),
]

MORE: list[ExportColumn] = [
    _col("freq_low_hz", "Lower frequency", "float", "analysis__freq_low_hz", "Hz", "Lower edge of the band holding 90 % of the energy."),
    _col("freq_high_hz", "Upper frequency", "float", "analysis__freq_high_hz", "Hz", "Upper edge of the band holding 90 % of the energy."),
    _col("calibration_offset_db", "Calibration offset", "float", Coalesce("calibration_offset_db", _device_calibration("offset_db"), "device__calibration_offset_db"), "dB", "dB SPL = dBFS + offset: the recording's own, else its device's calibration (calibration_id), else the offset typed for its device; empty when uncalibrated."),
    _col("calibration_id", "Calibration", "integer", _device_calibration("id"), "", "The device calibration (from a calibrator recording) the levels are in: the device's latest made at or before recording_date. Empty when the recording has its own offset, its recording time is unknown, or none was made."),
    _col("calibration_date", "Calibration date", "datetime", _device_calibration("valid_from"), "UTC", "When that calibration's calibrator was recorded: it covers the device's recordings from then until its next calibration."),
    _col("status", "Status", "text", "status", "", "Processing status: pending, processing, ready or failed."),
    _col("processing_error", "Processing error", "text", "error", "", "Why processing failed, if it did."),
    _col("review_state", "Review state", "text", "review_state", "", "submitted, accepted, rejected or changes_requested: whether a reviewer accepted it into the dataset."),
    _col("sha256", "SHA-256", "text", "sha256", "", "Of the audio file's bytes."),
    _col("original_filename", "Original file name", "text", "original_filename"),
    _col("channels", "Channels", "integer", "features__channels"),
    _col("event_durations", "Event durations", "text", JsonText("analysis__event_durations_s"), "s", "JSON list of the events' durations in seconds."),
]  # fmt: skip

SPECTRAL: list[ExportColumn] = [
    *(
        _col(f"mfcc_{i}", f"MFCC {i}", "float", JsonNumber("features__mfcc", i - 1), "", FRAMES + f"mel-frequency cepstral coefficient {i} (log-mel clipped 80 dB below its loudest value in the recording).")
        for i in range(1, 14)
    ),
    *(
        _col(f"chroma_{i}", f"Chroma {i}", "float", JsonNumber("features__chroma", i - 1), "", FRAMES + f"the chroma energy of pitch class {i} (C = 1), each frame scaled to its largest class.")
        for i in range(1, 13)
    ),
]  # fmt: skip


CHECKS: list[ExportColumn] = [
    _col("no_signal", "No signal", "boolean", "analysis__no_signal", "", "Digital silence (more than 99 % of the samples below -120 dBFS): the level columns are empty."),
    _col("clipped_share", "Clipped share", "float", "analysis__clipped_share", "", "Share of the samples (all channels) at or within 0.01 dB of full scale, 0-1; above 0.001 the recording counts as clipped. Empty: measured before this check."),
    _col("dc_offset", "DC offset", "float", "analysis__dc_offset", "", "The channel mean farthest from zero, full scale = 1 (signed); flagged beyond ±0.001."),
    _col("channel_laeq", "LAeq per channel", "text", JsonText("analysis__channel_laeq"), LEVEL_UNIT, "JSON list of each channel's LAeq, first channel first. " + LEVEL_NOTE),
    _col("dead_channels", "Dead channels", "text", JsonText("analysis__dead_channels"), "", "JSON list of the channels (1 = first) whose LAeq is more than 6 dB below the loudest one's."),
    _col("level_channels", "Level channels", "text", JsonText("analysis__level_channels"), "", "JSON list of the channels (1 = first) the levels were taken from: the live ones."),
]  # fmt: skip


LOCAL_TIME = "in the local time of the recording's region (time_zone column)"
LONG_TERM: list[ExportColumn] = [
    _col("time_zone", "Time zone", "text", NullIf(F("analysis__time_zone"), Value(""), output_field=CharField()), "", "IANA time zone the long-term indicators are given in: the region's, else the site default."),
    _col("lday", "Lday", "float", "analysis__lday", LEVEL_UNIT, "A-weighted Leq over the covered parts of 07-19 h " + LOCAL_TIME + "; empty if none is covered. " + LEVEL_NOTE),
    _col("levening", "Levening", "float", "analysis__levening", LEVEL_UNIT, "A-weighted Leq over the covered parts of 19-23 h " + LOCAL_TIME + "; empty if none is covered. " + LEVEL_NOTE),
    _col("lnight", "Lnight", "float", "analysis__lnight", LEVEL_UNIT, "A-weighted Leq over the covered parts of 23-07 h " + LOCAL_TIME + "; empty if none is covered. " + LEVEL_NOTE),
    _col("lden", "Lden", "float", "analysis__lden", LEVEL_UNIT, "EU Directive 2002/49/EC: Lday, Levening + 5 dB and Lnight + 10 dB weighted 12/4/8 h; only when a whole day (07 h to 07 h local) is covered. " + LEVEL_NOTE),
    _col("lday_hours", "Day hours covered", "float", "analysis__lday_hours", "h", "Hours of the day period (07-19 h) the recording covers."),
    _col("levening_hours", "Evening hours covered", "float", "analysis__levening_hours", "h", "Hours of the evening period (19-23 h) the recording covers."),
    _col("lnight_hours", "Night hours covered", "float", "analysis__lnight_hours", "h", "Hours of the night period (23-07 h) the recording covers."),
    _col("hourly_laeq", "Hourly LAeq", "text", JsonText("analysis__hourly_laeq"), LEVEL_UNIT, 'JSON list, one entry per local clock hour touched: {"start": local ISO time with offset, "laeq", "covered_s"}.'),
]  # fmt: skip


def band_column_name(centre: str) -> str:
    """band_1000, band_31_5: a name that is safe in every tool (no dot)."""
    return "band_" + centre.replace(".", "_")


BANDS: list[ExportColumn] = [
    _col(band_column_name(c), f"{c} Hz band", "float", JsonNumber("analysis__band_levels", c), LEVEL_UNIT, f"1/3-octave band level at the nominal centre {c} Hz. " + LEVEL_NOTE)
    for c in BAND_CENTRES
]  # fmt: skip

GROUPS = (ORIGINAL, LEVELS, LOCATION, MORE, SPECTRAL, BANDS, CHECKS, LONG_TERM)
COLUMNS: dict[str, ExportColumn] = {c.name: c for group in GROUPS for c in group}
assert len(COLUMNS) == sum(map(len, GROUPS))

ORIGINAL_NAMES = [c.name for c in ORIGINAL]
METADATA_NAMES = [
    "noise_id", "name", "dataset_type", "collector", "description", "recording_device",
    "recording_date", "created_at", "updated_at", "region", "community", "category", "class",
    "subclass", "time_of_day", "microphone_type", "audio_file", "audio_size", "audio_duration",
    "sample_rate", "num_samples", "channels", "latitude", "longitude", "calibration_offset_db",
    "calibration_id", "calibration_date", "status", "processing_error", "review_state", "sha256", "original_filename",
]  # fmt: skip
ACOUSTIC_NAMES = [
    "noise_id", "unit", *(c.name for c in LEVELS[1:]), "mean_db", "max_db", "min_db", "std_db",
    "peak_count", "peak_interval_mean", "dominant_frequency", "frequency_range", "freq_low_hz",
    "freq_high_hz", "event_count", "event_durations", "audio_duration", "sample_rate", "rms_energy",
    "zero_crossing_rate", "spectral_centroid", "spectral_bandwidth", "spectral_rolloff",
    "spectral_flatness", "harmonic_ratio", "percussive_ratio", *(c.name for c in SPECTRAL),
    *(c.name for c in BANDS),
]  # fmt: skip

SUMMARY_NAMES = [
    "noise_id", "name", "category", "class", "subclass", "region", "community",
    "recording_date", "audio_duration", "unit", "laeq", "lafmax", "status",
]  # fmt: skip

PRESETS: dict[str, list[str]] = {
    "default": [*ORIGINAL_NAMES, *(c.name for c in LEVELS), *(c.name for c in LOCATION)],
    "all": list(COLUMNS),
    "metadata": METADATA_NAMES,
    "acoustics": ACOUSTIC_NAMES,
    "summary": SUMMARY_NAMES,
}
PRESET_HELP = {
    "default": "The original system's 38 columns in their order, then the levels and location.",
    "all": "Every column.",
    "metadata": "What, where, when, who and which file: no measurements.",
    "acoustics": "noise_id and every measurement: levels, features, MFCC, chroma, bands.",
    "summary": "What the catalogue list shows (the JSON list API's default).",
}
assert all(n in COLUMNS for names in PRESETS.values() for n in names)


class UnknownColumns(ValueError):
    def __init__(self, names: Sequence[str], message: str | None = None) -> None:
        self.names = list(names)
        super().__init__(
            message
            or f"Unknown column{'s' if len(names) > 1 else ''}: {', '.join(names)}. "
            "See /api/v1/columns for the names, or use a preset: "
            f"{', '.join(PRESETS)}."
        )


def resolve_columns(spec: str | Sequence[str] | None) -> list[ExportColumn]:
    """Column names and preset names (comma-separated), in order, each column once."""
    if spec is None:
        parts = ["default"]
    elif isinstance(spec, str):
        parts = [p.strip() for p in spec.split(",")]
    else:
        parts = [p.strip() for p in spec]
    parts = [p for p in parts if p]
    if not parts:
        raise UnknownColumns([], "columns is empty: name some columns or a preset.")
    unknown = [p for p in parts if p not in COLUMNS and p not in PRESETS]
    if unknown:
        raise UnknownColumns(unknown)
    names: dict[str, None] = {}
    for p in parts:
        for n in PRESETS.get(p, [p]):
            names.setdefault(n, None)
    return [COLUMNS[n] for n in names]
