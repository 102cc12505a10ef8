"""The `dataset` options of ZIP bundles, from a download's query string or an export job's body.

    export.zip?dataset=1&split=80,10,10&seed=0&stratify_by=class&group_by=community
              &sample_rate=16000&mono=1&segment_seconds=5&segment_remainder=pad&audio_format=flac

One parser for both entry points: a job's `options.dataset` object is turned into the same
texts first. Each bad value is a ParamError naming its parameter.
"""

import math
from collections.abc import Mapping
from typing import Any

from noisebank.catalog.filters import FilterError, ParamError
from noisebank.exports.engine.audio import AudioSpec
from noisebank.exports.engine.writers import DatasetOptions

# Columns a split may be stratified by (labels) or grouped by (who and where recorded).
LABEL_COLUMNS = ("class", "category", "subclass", "dataset_type", "time_of_day", "microphone_type")
GROUP_COLUMNS = ("community", "region", "collector", "recording_device")
SAMPLE_RATES = (1_000, 384_000)
MAX_SEGMENT_SECONDS = 3_600.0
MAX_SEED = 2**32 - 1
MAX_SHARE = 1e6
DATASET_PARAMETERS = (
    "split",
    "seed",
    "stratify_by",
    "group_by",
    "sample_rate",
    "mono",
    "segment_seconds",
    "segment_remainder",
    "audio_format",
)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(errors: list[ParamError], name: str, raw: str) -> bool:
    text = raw.strip().lower()
    if text not in _TRUE | _FALSE:
        errors.append(ParamError(name, f"{name}={raw}: use 1 or 0."))
    return text in _TRUE


def _number(errors: list[ParamError], name: str, raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        errors.append(ParamError(name, f"{name}={raw}: not a number."))
        return None
    return value


def _choice(errors: list[ParamError], name: str, raw: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        errors.append(ParamError(name, f"{name}={raw}: use {', '.join(allowed)}."))
    return raw


def parse_dataset(params: Mapping[str, str], fmt: str) -> DatasetOptions | None:
    """DatasetOptions when `dataset` is on, None when it is off; FilterError for bad values
    (including dataset options given without dataset=1, or for another format than zip)."""
    errors: list[ParamError] = []
    on = _flag(errors, "dataset", params.get("dataset", ""))
    given = [p for p in DATASET_PARAMETERS if params.get(p, "").strip()]
    if errors:
        raise FilterError(errors)
    if not on:
        if given:
            raise FilterError(
                [
                    ParamError(p, f"{p}: only for dataset bundles (format zip, dataset=1).")
                    for p in given
                ]
            )
        return None
    if fmt != "zip":
        raise FilterError([ParamError("dataset", "dataset=1: only for the zip format.")])
    get = {p: params.get(p, "").strip() for p in DATASET_PARAMETERS}

    ratios = DatasetOptions.ratios
    if get["split"]:
        parts = [_number(errors, "split", p) for p in get["split"].split(",")]
        numbers = [p for p in parts if p is not None]
        if len(numbers) == len(parts):
            total = sum(numbers)
            if (
                len(numbers) != 3
                or any(not 0 <= n <= MAX_SHARE for n in numbers)
                or numbers[0] <= 0
                or total <= 0
            ):
                errors.append(
                    ParamError(
                        "split",
                        f"split={get['split']}: three shares, train,validation,test (80,10,10 "
                        f"or 0.8,0.1,0.1), each 0 to {MAX_SHARE:,.0f}, train above 0.",
                    )
                )
            else:
                ratios = (numbers[0] / total, numbers[1] / total, numbers[2] / total)

    seed = DatasetOptions.seed
    if get["seed"]:
        if get["seed"].isascii() and get["seed"].isdigit() and int(get["seed"]) <= MAX_SEED:
            seed = int(get["seed"])
        else:
            errors.append(ParamError("seed", f"seed={get['seed']}: a whole number, 0-{MAX_SEED}."))

    stratify_by: str | None = DatasetOptions.stratify_by
    if raw := get["stratify_by"]:
        if raw == "none" or raw in LABEL_COLUMNS:
            stratify_by = None if raw == "none" else raw
        else:
            errors.append(
                ParamError(
                    "stratify_by", f"stratify_by={raw}: use {', '.join(LABEL_COLUMNS)} or none."
                )
            )

    group_by = DatasetOptions.group_by
    if get["group_by"]:
        names = [g.strip() for g in get["group_by"].split(",") if g.strip()]
        if names == ["none"]:
            group_by = ()
        else:
            bad = [g for g in names if g not in GROUP_COLUMNS]
            if bad or not names:
                errors.append(
                    ParamError(
                        "group_by",
                        f"group_by={get['group_by']}: one or more of "
                        f"{', '.join(GROUP_COLUMNS)} (comma-separated), or none.",
                    )
                )
            group_by = tuple(dict.fromkeys(names))

    sample_rate = None
    if get["sample_rate"]:
        low, high = SAMPLE_RATES
        raw = get["sample_rate"]
        if raw.isascii() and raw.isdigit() and low <= int(raw) <= high:
            sample_rate = int(raw)
        else:
            errors.append(
                ParamError("sample_rate", f"sample_rate={raw}: a whole number of Hz, {low}-{high}.")
            )

    mono = _flag(errors, "mono", get["mono"])

    segment_seconds = None
    if get["segment_seconds"]:
        value = _number(errors, "segment_seconds", get["segment_seconds"])
        if value is not None and not 0.01 <= value <= MAX_SEGMENT_SECONDS:
            errors.append(
                ParamError(
                    "segment_seconds",
                    f"segment_seconds={get['segment_seconds']}: 0.01 to {MAX_SEGMENT_SECONDS:g}.",
                )
            )
        elif value is not None:
            segment_seconds = value
    remainder = _choice(
        errors, "segment_remainder", get["segment_remainder"] or "pad", ("pad", "keep", "drop")
    )
    audio_format = _choice(
        errors, "audio_format", get["audio_format"] or "original", ("original", "wav", "flac")
    )
    if errors:
        raise FilterError(errors)
    return DatasetOptions(
        ratios=ratios,
        seed=seed,
        stratify_by=stratify_by,
        group_by=group_by,
        audio=AudioSpec(
            sample_rate=sample_rate,
            mono=mono,
            segment_seconds=segment_seconds,
            segment_remainder=remainder,  # type: ignore[arg-type]
            audio_format=audio_format,  # type: ignore[arg-type]
        ),
    )


def dataset_json(ds: DatasetOptions) -> dict[str, Any]:
    """The options as stored with a job and recorded in the manifest (parse_dataset reads it)."""
    audio = ds.audio
    return {
        "split": [round(r, 12) for r in ds.ratios],
        "seed": ds.seed,
        "stratify_by": ds.stratify_by or "none",
        "group_by": list(ds.group_by) or ["none"],
        "sample_rate": audio.sample_rate,
        "mono": audio.mono,
        "segment_seconds": audio.segment_seconds,
        "segment_remainder": audio.segment_remainder,
        "audio_format": audio.audio_format,
    }


def dataset_params(raw: Any) -> dict[str, str]:
    """A job's `options.dataset` (true, or an object of the options) as query-string texts."""
    if raw is None or raw is False:
        return {}
    if raw is True:
        return {"dataset": "1"}
    if not isinstance(raw, Mapping):
        raise FilterError(
            [ParamError("options.dataset", "options.dataset: true, or an object of its options.")]
        )
    errors = [
        ParamError(
            f"options.dataset.{k}",
            f"Unknown dataset option: {k}. Known: {', '.join(DATASET_PARAMETERS)}.",
        )
        for k in sorted(set(raw) - set(DATASET_PARAMETERS))
    ]
    if errors:
        raise FilterError(errors)
    texts = {"dataset": "1"}
    for key, value in raw.items():
        if value is None:
            continue
        if isinstance(value, bool):
            texts[key] = "1" if value else "0"
        elif isinstance(value, float) and value.is_integer():
            texts[key] = str(int(value))  # JSON's 40566.0 is the whole number 40566
        elif isinstance(value, list):
            texts[key] = ",".join(str(v) for v in value)
        else:
            texts[key] = str(value)
    return texts
