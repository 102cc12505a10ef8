"""The metadata of an upload: one definition for the web pages, the API, the manifest and the CLI.

Taxonomy fields take an id or an exact name (case does not matter). A child names its parent
implicitly: a class alone sets its category, a community its region; a child that contradicts
its parent is an error, never silently moved.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from noisebank.catalog import models as m
from noisebank.ingest.calibrator import standard_or_typed

# Field name -> model, in the order a child may look up its parent.
TAXONOMY_FIELDS: dict[str, type[Model]] = {
    "dataset_type": m.DatasetType,
    "category": m.Category,
    "sound_class": m.SoundClass,
    "subclass": m.Subclass,
    "region": m.Region,
    "community": m.Community,
    "time_of_day": m.TimeOfDay,
    "device": m.Device,
    "microphone_type": m.MicrophoneType,
}
# Other spellings accepted in manifests and API calls (the export's column names among them).
ALIASES = {
    "class": "sound_class",
    "recording_device": "device",
    "recording_date": "recorded_at",
    "lat": "latitude",
    "lon": "longitude",
    "calibration_db": "calibration_offset_db",
}
FIELDS = [
    "name",
    "description",
    *TAXONOMY_FIELDS,
    "latitude",
    "longitude",
    "recorded_at",
    "calibration_offset_db",
]


def canonical_field(name: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return ALIASES.get(key, key)


def _label(model: type[Model]) -> str:
    return str(model._meta.verbose_name)


def resolve(model: type[Model], value: str, scope: QuerySet[Any] | None = None) -> Any:
    """The taxon named by an id or an exact (case-insensitive) name, or a ValidationError."""
    candidates = scope if scope is not None else model._default_manager.all()
    value = value.strip()
    if value.isdigit():
        found = candidates.filter(pk=int(value)).first()
        if found is not None:
            return found
    matches = list(candidates.filter(name__iexact=value)[:2])
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise forms.ValidationError(
            f"More than one {_label(model)} is named “{value}”; name its parent too, or use its id."
        )
    raise forms.ValidationError(f"Unknown {_label(model)} “{value}”.")


def parse_recorded_at(value: str) -> datetime:
    value = value.strip()
    parsed = parse_datetime(value.replace(" ", "T", 1) if " " in value else value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise forms.ValidationError(
                f"“{value}” is not a date and time; use ISO 8601, e.g. 2026-03-01T08:30:00Z."
            )
        parsed = datetime(day.year, day.month, day.day)
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


class RecordingMetadataForm(forms.Form):
    """Plain text in, model objects out. Every field is optional except what the form says."""

    name = forms.CharField(max_length=200, required=False)
    description = forms.CharField(required=False, max_length=10_000)
    dataset_type = forms.CharField(required=False)
    category = forms.CharField(required=False)
    sound_class = forms.CharField(required=False, label="Class")
    subclass = forms.CharField(required=False)
    region = forms.CharField(required=False)
    community = forms.CharField(required=False)
    time_of_day = forms.CharField(required=False)
    device = forms.CharField(required=False)
    microphone_type = forms.CharField(required=False)
    latitude = forms.FloatField(required=False, min_value=-90, max_value=90)
    longitude = forms.FloatField(required=False, min_value=-180, max_value=180)
    recorded_at = forms.CharField(required=False)
    calibration_offset_db = forms.FloatField(
        required=False, min_value=0, max_value=200, label="Calibration offset (dB)"
    )

    def clean_recorded_at(self) -> datetime | None:
        raw = self.cleaned_data.get("recorded_at") or ""
        return parse_recorded_at(raw) if raw.strip() else None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        resolved: dict[str, Any] = {}

        def take(field: str, scope: QuerySet[Any] | None = None) -> Any:
            raw = (data.get(field) or "").strip()
            if not raw:
                return None
            try:
                resolved[field] = resolve(TAXONOMY_FIELDS[field], raw, scope)
            except forms.ValidationError as e:
                self.add_error(field, e)
                return None
            return resolved[field]

        for plain in ("dataset_type", "time_of_day", "device", "microphone_type"):
            take(plain)
        category = take("category")
        sound_class = take("sound_class", category.classes.all() if category else None)
        subclass = take(
            "subclass",
            sound_class.subclasses.all() if sound_class else None,
        )
        region = take("region")
        community = take("community", region.communities.all() if region else None)
        if subclass is not None and sound_class is None and "sound_class" not in self.errors:
            resolved["sound_class"] = sound_class = subclass.sound_class
        if sound_class is not None and category is None and "category" not in self.errors:
            resolved["category"] = sound_class.category
        if community is not None and region is None and "region" not in self.errors:
            resolved["region"] = community.region
        device = resolved.get("device")
        if device is not None and "microphone_type" not in resolved:
            resolved["microphone_type"] = device.microphone_type
        for field in TAXONOMY_FIELDS:
            data[field] = resolved.get(field)
        return data


@dataclass(frozen=True)
class RecordingMetadata:
    """Validated metadata, ready to become a Recording's fields."""

    fields: dict[str, Any]

    def name_or(self, default: str) -> str:
        return str(self.fields.get("name") or default)


class MetadataInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(self.summary)

    @property
    def summary(self) -> str:
        parts = []
        for field, messages in self.errors.items():
            where = "" if field == "__all__" else f"{field}: "
            parts.append(where + " ".join(messages))
        return "Metadata: " + "; ".join(parts)


def clean_metadata(raw: Mapping[str, Any]) -> RecordingMetadata:
    """Validate metadata given under any accepted spelling; raise MetadataInvalid naming fields."""
    data: dict[str, Any] = {}
    unknown = []
    for key, value in raw.items():
        field = canonical_field(str(key))
        if field not in FIELDS:
            unknown.append(str(key))
            continue
        data[field] = "" if value is None else str(value)
    form = RecordingMetadataForm(data)
    valid = form.is_valid()
    errors = {} if valid else {k: [str(e) for e in v] for k, v in form.errors.items()}
    if unknown:
        errors["__all__"] = [
            f"Unknown field{'s' if len(unknown) > 1 else ''}: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(FIELDS)})."
        ]
    if errors:
        raise MetadataInvalid(errors)
    fields = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
    return RecordingMetadata(fields)


class CalibrationForm(forms.Form):
    """The calibrator page and `noisebank calibrate`: which device, which level, since when."""

    device = forms.CharField()
    nominal = forms.CharField(help_text="94, 114, or the calibrator's level as typed (dB SPL).")
    valid_from = forms.CharField(required=False)

    def clean_device(self) -> Any:
        return resolve(m.Device, self.cleaned_data["device"])

    def clean_nominal(self) -> float:
        try:
            return standard_or_typed(self.cleaned_data["nominal"])
        except ValueError as e:
            raise forms.ValidationError(str(e)) from e

    def clean_valid_from(self) -> datetime | None:
        raw = self.cleaned_data.get("valid_from") or ""
        return parse_recorded_at(raw) if raw.strip() else None
