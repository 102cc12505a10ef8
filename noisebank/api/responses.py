"""Response models of the JSON API, so the OpenAPI schema describes every body and a client
generated from it returns typed objects.

The views build their bodies as dicts (they stream, cache and page by hand); these models are
the contract those dicts keep, checked in the tests by validating real answers against them.
"""

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, create_model

from noisebank.catalog.stats import DURATION_EDGES
from noisebank.exports.columns import COLUMNS
from noisebank.exports.engine.columns import ColumnType

_PYTHON: dict[ColumnType, Any] = {
    "text": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "datetime": datetime,
}

# One row of the list: the columns asked for (`columns=`), each typed as in the data dictionary
# and null when missing; columns not asked for are absent.
RecordingRow: type[Schema] = create_model(  # type: ignore[call-overload]
    "RecordingRow",
    __base__=Schema,
    __doc__="One recording's chosen columns (see /columns); absent when not asked for.",
    **{
        name: (
            _PYTHON[c.column.type] | None,
            Field(None, description=f"{c.column.description} {c.column.unit}".strip()),
        )
        for name, c in COLUMNS.items()
    },
)


class RecordingPage(Schema):
    count: int = Field(description="Recordings matching the filters (all pages).")
    results: list[RecordingRow]  # type: ignore[valid-type]
    next: str | None = Field(description="The cursor of the next page; null on the last.")


class ColumnOut(Schema):
    name: str
    label: str
    type: Literal["text", "integer", "float", "boolean", "datetime"]
    unit: str
    description: str


class PresetOut(Schema):
    description: str
    columns: list[str]


class DataDictionary(Schema):
    columns: list[ColumnOut]
    presets: dict[str, PresetOut]
    filters: dict[str, str]


class Features(Schema):
    duration_s: float | None
    sample_rate: int | None
    num_samples: int | None
    channels: int | None
    rms_energy: float | None
    zero_crossing_rate: float | None
    spectral_centroid: float | None
    spectral_bandwidth: float | None
    spectral_rolloff: float | None
    spectral_flatness: float | None
    harmonic_ratio: float | None
    percussive_ratio: float | None
    mfcc: list[float] | None = Field(description="Means of 13 MFCCs.")
    chroma: list[float] | None = Field(description="Means of the 12 chroma bins (C first).")


class Levels(Schema):
    unit: str = Field(description="dB SPL (calibrated) or dBFS: the unit of every level.")
    lzeq: float | None
    laeq: float | None
    lafmax: float | None
    lafmin: float | None
    la10: float | None
    la50: float | None
    la90: float | None
    mean_db: float | None
    max_db: float | None
    min_db: float | None
    std_db: float | None
    dominant_frequency_hz: float | None
    freq_low_hz: float | None
    freq_high_hz: float | None
    peak_count: int | None
    peak_interval_mean_s: float | None
    event_count: int | None
    event_durations_s: list[float] | None
    band_levels: dict[str, float] | None = Field(
        description="1/3-octave band levels by nominal centre frequency (Hz)."
    )


class CalibrationOut(Schema):
    offset_db: float | None = Field(
        description="The offset the levels are in (dB SPL = dBFS + offset); null: dBFS."
    )
    source: Literal["recording", "calibration", "device"] | None = Field(
        description="Where the offset comes from: the recording's own, the device's calibration "
        "from a calibrator recording covering recorded_at, the offset typed for the device; "
        "null when there is none."
    )
    calibrated_at: datetime | None = Field(
        description="When the calibrator was recorded (source calibration), else null."
    )
    calibrator_db: float | None = Field(
        description="The calibrator's level, dB SPL (source calibration), else null."
    )


class RecordingDetail(Schema):
    model_config = ConfigDict(extra="allow")

    noise_id: str
    name: str
    status: Literal["pending", "processing", "ready", "failed"]
    error: str
    review_state: Literal["submitted", "accepted", "rejected", "changes_requested"]
    review_note: str = Field(description="The reviewer's reason, or the changes asked for.")
    url: str
    description: str
    collector: str | None
    dataset_type: str | None
    category: str | None
    sound_class: str | None
    subclass: str | None
    region: str | None
    community: str | None
    time_of_day: str | None
    device: str | None
    microphone_type: str | None
    latitude: float | None
    longitude: float | None
    recorded_at: datetime | None = Field(description="Null when the uploader did not say.")
    created_at: datetime
    calibration_offset_db: float | None = Field(
        description="The recording's own offset, if it has one (see calibration)."
    )
    calibration: CalibrationOut = Field(description="The calibration the levels are in.")
    original_filename: str
    size_bytes: int | None
    sha256: str | None
    has_audio: bool
    features: Features | None
    levels: Levels | None


class ExportJobOut(Schema):
    model_config = ConfigDict(extra="allow")

    id: str
    status: Literal["queued", "running", "done", "failed", "cancelled", "expired"]
    format: str
    owner: str | None
    filters: Any = Field(description="The filters as given: [name, value] pairs.")
    filter_summary: str
    columns: list[str]
    options: dict[str, Any]
    rows_total: int | None
    rows_done: int
    bytes: int | None
    rate: float | None = Field(description="Rows a second so far.")
    eta: float | None = Field(description="Seconds left at that rate (running jobs).")
    error: str | None
    created: datetime
    started: datetime | None
    finished: datetime | None
    expires: datetime | None
    sha256: str | None
    download_url: str | None
    filename: str | None
    manifest: dict[str, Any] | None
    workers: int | None = Field(
        None, description="Queued jobs: how many workers are alive to pick it up."
    )


class ExportJobList(Schema):
    results: list[ExportJobOut]


class ChunkAccepted(Schema):
    offset: int
    size: int
    complete: bool


class ManifestRow(Schema):
    line: int
    file: str
    metadata: dict[str, Any]


class ManifestRows(Schema):
    rows: list[ManifestRow]


class StatsGroup(Schema):
    id: int | None = Field(
        description="The taxon's id (null for status and unit, and for rows without a value)."
    )
    name: str | None = Field(description="Its name or value; null: rows without one.")
    count: int


class StatsBreakdown(Schema):
    category: list[StatsGroup]
    class_: list[StatsGroup] = Field(alias="class")
    region: list[StatsGroup]
    community: list[StatsGroup]
    dataset_type: list[StatsGroup]
    time_of_day: list[StatsGroup]
    collector: list[StatsGroup] = Field(
        description="The uploading user: their full name, else their user name."
    )
    status: list[StatsGroup]
    unit: list[StatsGroup] = Field(description="dBFS, dB SPL, or null: not measured.")


class StatsBin(Schema):
    low: float = Field(description="From this level (dB), included.")
    high: float = Field(description="To this level (dB), excluded.")
    count: int


class DurationBin(Schema):
    low: float = Field(description="From this duration (s), included.")
    high: float | None = Field(description="To this duration (s), excluded; null: no end.")
    count: int


class MonthCount(Schema):
    month: str = Field(description="A UTC month, YYYY-MM.", examples=["2026-03"])
    count: int


class Distribution(Schema):
    n: int = Field(description="Rows holding a value.")
    min: float | None
    p10: float | None
    median: float | None
    p90: float | None
    max: float | None


class SelectionStats(Schema):
    count: int = Field(description="Recordings matching the filters.")
    by: StatsBreakdown = Field(description="Counts by each, largest first.")
    laeq_histogram: dict[str, list[StatsBin]] = Field(
        description="LAeq in 1 dB bins, for each unit (dBFS, dB SPL), lowest first."
    )
    laeq: dict[str, Distribution] = Field(description="LAeq (dB) of each unit.")
    lafmax: dict[str, Distribution] = Field(description="LAFmax (dB) of each unit.")
    la90: dict[str, Distribution] = Field(description="LA90 (dB) of each unit.")
    duration_s: Distribution = Field(description="Duration (s).")
    duration_histogram: list[DurationBin] = Field(
        description="Durations in bins with these edges (s): "
        f"{', '.join(f'{e:g}' for e in DURATION_EDGES)} and no end; shortest first, bins "
        "without rows left out."
    )
    recorded_by_month: list[MonthCount] = Field(
        description="Recordings per UTC month of their recording time, oldest first; months "
        "without any left out."
    )
    recorded_unknown: int = Field(description="Matching recordings with no recording time.")
    clipped: int = Field(
        description="Matching recordings flagged clipped: more than 0.1 % of their samples at or "
        "within 0.01 dB of full scale (the clipped=yes filter)."
    )
    audio_files: int = Field(description="Matching recordings with a stored audio file.")
    audio_bytes: int = Field(description="Their total size (bytes; unknown sizes left out).")
