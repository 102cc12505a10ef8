import pytest

from noisebank.exports.columns import COLUMNS, PRESETS, UnknownColumns, resolve_columns

# As DESIGN.md lists them.
ORIGINAL_38 = [
    "noise_id", "name", "dataset_type", "collector", "description", "recording_device",
    "recording_date", "created_at", "updated_at", "region", "community", "category", "class",
    "subclass", "time_of_day", "microphone_type", "audio_file", "audio_size", "audio_duration",
    "sample_rate", "num_samples", "rms_energy", "zero_crossing_rate", "spectral_centroid",
    "spectral_bandwidth", "spectral_rolloff", "spectral_flatness", "harmonic_ratio",
    "percussive_ratio", "mean_db", "max_db", "min_db", "std_db", "peak_count",
    "peak_interval_mean", "dominant_frequency", "frequency_range", "event_count",
]  # fmt: skip


def test_the_original_38_columns_come_first_in_their_order() -> None:
    assert len(ORIGINAL_38) == 38
    assert list(COLUMNS)[:38] == ORIGINAL_38
    assert PRESETS["default"][:38] == ORIGINAL_38
    assert PRESETS["default"][38:] == [
        "unit", "lzeq", "laeq", "lafmax", "lafmin", "la10", "la50", "la90", "latitude",
        "longitude",
    ]  # fmt: skip


def test_new_columns_are_there_with_units() -> None:
    for name in ("mfcc_13", "chroma_12", "band_25", "band_31_5", "band_20000", "sha256"):
        assert name in COLUMNS
    assert COLUMNS["laeq"].column.unit == "dB"
    assert COLUMNS["audio_duration"].column.unit == "s"
    assert COLUMNS["frequency_range"].column.unit == "Hz"
    assert COLUMNS["recording_date"].column.type == "datetime"
    assert all(c.column.label and c.column.type for c in COLUMNS.values())


def test_names_and_presets_select_and_order_each_column_once() -> None:
    names = [c.name for c in resolve_columns("laeq, noise_id,summary,laeq")]
    assert names[:2] == ["laeq", "noise_id"]
    assert names.count("laeq") == 1 and "status" in names
    assert [c.name for c in resolve_columns(None)] == PRESETS["default"]
    assert len(resolve_columns("all")) == len(COLUMNS)


@pytest.mark.parametrize(
    ("spec", "names", "message"),
    [
        ("noise_id,loudness", ["loudness"], "Unknown column: loudness."),
        ("a,b", ["a", "b"], "Unknown columns: a, b."),
        (" , ", [], "columns is empty"),
    ],
)
def test_unknown_columns_are_named(spec: str, names: list[str], message: str) -> None:
    with pytest.raises(UnknownColumns) as caught:
        resolve_columns(spec)
    assert caught.value.names == names
    assert message in str(caught.value)
