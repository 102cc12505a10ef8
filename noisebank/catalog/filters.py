"""The one filter definition: query parameters in, which recordings out.

The catalogue page, the JSON list API, every export and the compatibility endpoint parse their
parameters here and hand the result to `Recording.objects.matching()`, so what the list shows is
what an export holds.

    parse_filters(request.GET, extra={"size", "after"})  ->  RecordingFilter (or FilterError)
    parse_filters(request.GET, access=review_access(request.user))   # reviewers: other states

Review states: a filter selects accepted recordings unless it says otherwise (`review=`), and
only callers whose ReviewAccess allows it may say otherwise (accounts.roles.review_access).
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils import timezone

from noisebank.catalog import models as m

# parameter -> (model, the Recording foreign key it filters, the model field holding its name)
TAXON_PARAMETERS: dict[str, tuple[type[Model], str, str]] = {
    "category": (m.Category, "category", "name"),
    "class": (m.SoundClass, "sound_class", "name"),
    "subclass": (m.Subclass, "subclass", "name"),
    "region": (m.Region, "region", "name"),
    "community": (m.Community, "community", "name"),
    "dataset_type": (m.DatasetType, "dataset_type", "name"),
    "collector": (User, "collector", "username"),
    "microphone_type": (m.MicrophoneType, "microphone_type", "name"),
    "time_of_day": (m.TimeOfDay, "time_of_day", "name"),
}
RANGES = (("laeq_min", "laeq_max"), ("duration_min", "duration_max"))
# What a filter bound may be: levels in dB (SPL or FS), durations in seconds (24 h recordings,
# with room to spare).
LEVEL_BOUNDS = (-200.0, 200.0)
Q_MAX_LENGTH = 200
DURATION_BOUNDS = (0.0, 1_000_000.0)
REPEATABLE = {*TAXON_PARAMETERS, "status", "unit", "review", "noise_id"}
UNITS: tuple[str, ...] = tuple(m.NoiseAnalysis.Unit.values)
# noise_id=: one or more public ids a value (separated by commas or white space, as pasted
# into the page's box), at most this many in all: a bound on the query's IN list.
NOISE_ID_MAX = 1000
NOISE_ID_LENGTH = m.Recording._meta.get_field("noise_id").max_length or 64
NOISE_ID_SEPARATORS = re.compile(r"[\s,]+")
# Parameters whose one value is a comma-separated list (a JSON body may give it as a list).
LIST_VALUED = {"bbox"}
# A coordinate as written in decimal degrees: digits, an optional point, an optional sign (no
# exponent, no inf/nan).
DECIMAL_DEGREES = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
LONGITUDE_BOUNDS = (-180.0, 180.0)
LATITUDE_BOUNDS = (-90.0, 90.0)
REVIEW_STATES: tuple[str, ...] = tuple(m.Recording.Review.values)
DEFAULT_REVIEW: tuple[str, ...] = (m.Recording.Review.ACCEPTED.value,)
ALL_REVIEW = "all"  # review=all: every state the caller may see


@dataclass(frozen=True)
class ReviewAccess:
    """Which review states a caller may select; accounts.roles.review_access makes one a user.

    The default, accepted only, is what researchers get and what a caller that does not say
    gets. Reviewers, admins and the command line get `everything()`. A collector gets every
    state, `own` set to their id: states other than accepted then show their own recordings only.
    """

    states: frozenset[str] = frozenset(DEFAULT_REVIEW)
    own: int | None = None

    @classmethod
    def everything(cls) -> "ReviewAccess":
        return cls(frozenset(REVIEW_STATES))

    @classmethod
    def own_recordings(cls, user_id: int) -> "ReviewAccess":
        return cls(frozenset(REVIEW_STATES), own=user_id)


@dataclass(frozen=True)
class ParamError:
    param: str
    message: str


class FilterError(ValueError):
    """Bad query parameters; each error names the parameter it is about."""

    def __init__(self, errors: Sequence[ParamError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)

    @property
    def messages(self) -> list[str]:
        return [e.message for e in self.errors]

    def as_json(self) -> dict[str, Any]:
        return {
            "detail": " ".join(self.messages),
            "errors": [{"param": e.param, "message": e.message} for e in self.errors],
        }


@dataclass(frozen=True)
class BBox:
    """A box of longitude/latitude in decimal degrees (WGS 84), edges included; west <= east
    and south <= north (a box across the antimeridian is refused: ask for each side)."""

    west: float
    south: float
    east: float
    north: float


@dataclass(frozen=True)
class RecordingFilter:
    """A parsed, validated selection of recordings. Empty means everything."""

    terms: tuple[str, ...] = ()
    # Recording foreign key ("category", "sound_class", ...) -> ids, any of which matches.
    ids: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    recorded_from: datetime | None = None  # inclusive
    recorded_before: datetime | None = None  # exclusive
    laeq_min: float | None = None
    laeq_max: float | None = None
    duration_min: float | None = None
    duration_max: float | None = None
    statuses: tuple[str, ...] = ()
    clipped: bool | None = None  # True: more than 0.1 % clipped samples; False: measured, not
    has_audio: bool | None = None  # True: an audio file is stored
    units: tuple[str, ...] = ()  # NoiseAnalysis.Unit values, any of which matches
    calibrated: bool | None = None  # True: Recording.effective_calibration finds one
    bbox: BBox | None = None
    noise_ids: tuple[str, ...] = ()
    review_states: tuple[str, ...] = DEFAULT_REVIEW
    # Set for a collector: states other than accepted are limited to this collector's recordings.
    review_owner: int | None = None
    # The parameters as given (without the empty ones): for manifests, jobs and links.
    params: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Said to a person, not errors: a range whose minimum is above its maximum.
    notes: tuple[str, ...] = ()

    def query_items(self) -> list[tuple[str, str]]:
        """(name, value) pairs that parse back to this filter, in a stable order."""
        return [(k, v) for k in FILTER_PARAMETERS if k in self.params for v in self.params[k]]

    def as_dict(self) -> dict[str, str | list[str]]:
        """JSON-friendly form for manifests: repeatable parameters as lists. The review states
        are always there, given or not, since they decide what an export holds."""
        out: dict[str, str | list[str]] = {
            k: list(self.params[k]) if k in REPEATABLE else self.params[k][0]
            for k in FILTER_PARAMETERS
            if k in self.params
        }
        out["review"] = list(self.review_states)
        return out


class TaxonField(forms.Field):
    """Ids or exact names (case-insensitive), any of which matches."""

    widget = forms.MultipleHiddenInput

    def __init__(self, model: type[Model], name_field: str, param: str, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.model = model
        self.name_field = name_field
        self.param = param

    def clean(self, value: Any) -> tuple[int, ...]:
        values = [v.strip() for v in value or [] if v.strip()]
        if not values:
            return ()
        known = dict(self.model._default_manager.values_list("id", self.name_field))
        by_name: dict[str, list[int]] = {}
        for pk, name in known.items():
            by_name.setdefault(name.casefold(), []).append(pk)
        ids: list[int] = []
        for v in values:
            if v.isascii() and v.isdigit():
                if int(v) not in known:
                    raise ValidationError(f"there is no {self.label} with id {v}")
                ids.append(int(v))
            elif v.casefold() in by_name:
                ids.extend(by_name[v.casefold()])
            else:
                raise ValidationError(f"there is no {self.label} named {v!r}{self._elsewhere(v)}")
        return tuple(sorted(set(ids)))

    def _elsewhere(self, name: str) -> str:
        """'; 'Horn' is a class: use class=Horn', when the name exists at another level."""
        if "\x00" in name:  # no name holds one (PostgreSQL text cannot), and it cannot be sent
            return ""
        for param, (model, _, name_field) in TAXON_PARAMETERS.items():
            if param == self.param:
                continue
            found = (
                model._default_manager.filter(**{f"{name_field}__iexact": name})
                .values_list(name_field, flat=True)
                .first()
            )
            if found is not None:
                label = "collector" if model is User else str(model._meta.verbose_name)
                return f"; {found!r} is a {label}: use {param}={found}"
        return ""


class StatusField(forms.Field):
    widget = forms.MultipleHiddenInput

    def clean(self, value: Any) -> tuple[str, ...]:
        values = [v.strip().lower() for v in value or [] if v.strip()]
        allowed = m.Recording.Status.values
        for v in values:
            if v not in allowed:
                raise ValidationError(f"{v!r} is not one of {', '.join(allowed)}")
        return tuple(sorted(set(values)))


class ReviewField(forms.Field):
    widget = forms.MultipleHiddenInput

    def clean(self, value: Any) -> tuple[str, ...]:
        values = [v.strip().lower() for v in value or [] if v.strip()]
        for v in values:
            if v not in (*REVIEW_STATES, ALL_REVIEW):
                raise ValidationError(f"{v!r} is not one of {', '.join(REVIEW_STATES)} or all")
        return tuple(sorted(set(values)))


class UnitField(forms.Field):
    """dBFS or dB SPL (any case)."""

    widget = forms.MultipleHiddenInput

    def clean(self, value: Any) -> tuple[str, ...]:
        by_key = {u.casefold(): u for u in UNITS}
        values = [v.strip() for v in value or [] if v.strip()]
        for v in values:
            if v.casefold() not in by_key:
                raise ValidationError(f"{v!r} is not one of {' or '.join(UNITS)}")
        return tuple(u for u in UNITS if u.casefold() in {v.casefold() for v in values})


class NoiseIdField(forms.Field):
    """Public ids, any of which matches; a value may hold several, separated by commas or
    white space."""

    widget = forms.MultipleHiddenInput

    def clean(self, value: Any) -> tuple[str, ...]:
        ids = [i for v in value or [] for i in NOISE_ID_SEPARATORS.split(v) if i]
        for i in ids:
            if len(i) > NOISE_ID_LENGTH:
                raise ValidationError(
                    f"{i[:20]!r}… is longer than a noise_id can be ({NOISE_ID_LENGTH} characters)"
                )
            if "\x00" in i:
                raise ValidationError("a noise_id cannot hold a NUL character")
        unique = tuple(sorted(set(ids)))
        if len(unique) > NOISE_ID_MAX:
            raise ValidationError(
                f"{len(unique):,} ids given; at most {NOISE_ID_MAX:,} at a time (for more, "
                "export by another filter or in several parts)"
            )
        return unique


class BBoxField(forms.Field):
    """west,south,east,north in decimal degrees."""

    def clean(self, value: Any) -> BBox | None:
        text = (value or "").strip()
        if not text:
            return None
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 4:
            raise ValidationError(
                "must be four numbers, west,south,east,north in decimal degrees "
                "(e.g. -0.3,5.5,0.1,5.8)"
            )
        numbers = []
        for name, part in zip(("west", "south", "east", "north"), parts, strict=True):
            if not DECIMAL_DEGREES.fullmatch(part):
                raise ValidationError(f"{name} {part!r} is not a number in decimal degrees")
            low, high = LATITUDE_BOUNDS if name in ("south", "north") else LONGITUDE_BOUNDS
            # Compared exactly: 180.0000000000000001 is beyond 180, as a float would not say.
            if not low <= Decimal(part) <= high:
                kind = "latitude" if name in ("south", "north") else "longitude"
                raise ValidationError(f"{name} {part[:30]} is not a {kind} ({low:g} to {high:g})")
            numbers.append(float(part))
        box = BBox(*numbers)
        if box.west > box.east:
            raise ValidationError(
                f"west {parts[0]} is east of east {parts[2]}: a box across the antimeridian "
                "(180°) is not supported; ask for each side of it separately"
            )
        if box.south > box.north:
            raise ValidationError(f"south {parts[1]} is north of north {parts[3]}")
        return box


class MomentField(forms.Field):
    """An ISO 8601 date or date-time; a date means the whole day, UTC."""

    def __init__(self, *, end: bool, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.end = end

    def clean(self, value: Any) -> datetime | None:
        text = (value or "").strip()
        if not text:
            return None
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            start = datetime.combine(day, time(), tzinfo=UTC)
            return _later(start, timedelta(days=1)) if self.end else start
        # RFC 3339 allows a lower-case t and z, and a leap second (23:59:60): the last moment
        # of that minute here.
        rfc = _LEAP_SECOND.sub(r"\1:59.999999", text.upper())
        try:
            moment = datetime.fromisoformat(rfc)
        except ValueError:
            raise ValidationError(
                f"{text!r} is not an ISO 8601 date or date-time (e.g. 2026-03-01 or "
                "2026-03-01T08:30:00Z)"
            ) from None
        if timezone.is_naive(moment):
            moment = moment.replace(tzinfo=UTC)
        try:
            moment = moment.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before the first UTC moment there is
            moment = EARLIEST if moment.year == 1 else LATEST
        # An inclusive end moment becomes the exclusive bound just after it.
        return _later(moment, timedelta(microseconds=1)) if self.end else moment


EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
_LEAP_SECOND = re.compile(r"(T\d\d:\d\d):60(?:[.,]\d+)?")


def _later(moment: datetime, step: timedelta) -> datetime:
    try:
        return moment + step
    except OverflowError:
        return LATEST


class NumberField(forms.FloatField):
    """A finite number within [low, high]: a bound no recording can reach is a mistake (a typo,
    a unit mix-up), so it gets an error rather than an empty list."""

    def __init__(self, low: float, high: float, unit: str, **kwargs: Any) -> None:
        super().__init__(required=False, **kwargs)
        self.low, self.high = low, high
        self.error_messages["invalid"] = "must be a number"
        self.range_message = f"must be between {low:g} and {high:g} {unit}"

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not self.low <= value <= self.high:
            raise ValidationError(self.range_message, code="bounds")


class YesNoField(forms.Field):
    """yes/no (also true/false, 1/0); empty means either."""

    def clean(self, value: Any) -> bool | None:
        text = (value or "").strip().lower()
        if not text:
            return None
        if text in ("yes", "true", "1"):
            return True
        if text in ("no", "false", "0"):
            return False
        raise ValidationError("must be yes or no")


class RecordingFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=Q_MAX_LENGTH, strip=True)
    recorded_from = MomentField(end=False)
    recorded_to = MomentField(end=True)
    laeq_min = NumberField(*LEVEL_BOUNDS, "dB")
    laeq_max = NumberField(*LEVEL_BOUNDS, "dB")
    duration_min = NumberField(*DURATION_BOUNDS, "s")
    duration_max = NumberField(*DURATION_BOUNDS, "s")
    status = StatusField(required=False)
    clipped = YesNoField(required=False)
    has_audio = YesNoField(required=False)
    unit = UnitField(required=False)
    calibrated = YesNoField(required=False)
    bbox = BBoxField(required=False)
    noise_id = NoiseIdField(required=False)
    review = ReviewField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # "class" cannot be a class attribute; the taxon fields are built from one table.
        for name, (model, _, name_field) in TAXON_PARAMETERS.items():
            label = "collector" if model is User else str(model._meta.verbose_name)
            self.fields[name] = TaxonField(model, name_field, name, label=label)

    def empty_ranges(self) -> list[str]:
        """A minimum above its maximum matches nothing: not an error (each bound is valid, and
        an API client may build them apart), but worth saying on the page."""
        notes = []
        for low, high in (("recorded_from", "recorded_to"), *RANGES):
            lo, hi = self.cleaned_data.get(low), self.cleaned_data.get(high)
            if lo is None or hi is None:
                continue
            # recorded_to is held as the exclusive bound just after it, hence >= for moments.
            if lo >= hi if low == "recorded_from" else lo > hi:
                word = "after" if low == "recorded_from" else "greater than"
                notes.append(
                    f"{low}={self.data[low]} is {word} {high}={self.data[high]}: nothing can match."
                )
        return notes


FILTER_PARAMETERS: tuple[str, ...] = (
    "q",
    *TAXON_PARAMETERS,
    "recorded_from",
    "recorded_to",
    "laeq_min",
    "laeq_max",
    "duration_min",
    "duration_max",
    "status",
    "clipped",
    "has_audio",
    "unit",
    "calibrated",
    "bbox",
    "noise_id",
    "review",
)

HELP: dict[str, str] = {
    "q": "Text search: every word must occur in the noise_id, name or description.",
    **{
        p: f"{p.replace('_', ' ').capitalize()}: an id or an exact name (case-insensitive); "
        "repeat for any of several."
        for p in TAXON_PARAMETERS
    },
    "collector": "Collector: a user id or user name (case-insensitive); repeat for several.",
    "recorded_from": "Recorded at or after: ISO 8601 date (from its start, UTC) or date-time.",
    "recorded_to": "Recorded at or before: ISO 8601 date (to its end, UTC) or date-time.",
    "laeq_min": "LAeq at least (dB, the recording's unit; -200 to 200).",
    "laeq_max": "LAeq at most (dB, the recording's unit; -200 to 200).",
    "duration_min": "Duration at least (seconds, 0 to 1,000,000).",
    "duration_max": "Duration at most (seconds, 0 to 1,000,000).",
    "status": "Processing status: pending, processing, ready or failed; repeat for several.",
    "clipped": "yes: recordings with more than 0.1 % clipped samples; no: measured, not clipped.",
    "has_audio": "yes: recordings with a stored audio file; no: metadata only.",
    "unit": "Unit of the measured levels: dBFS (uncalibrated) or dB SPL (calibrated); repeat "
    "for either.",
    "calibrated": "yes: recordings with a calibration: their own offset, their device's "
    "calibration covering their recording time, or the offset typed for their device (levels "
    "in dB SPL once measured); no: none of these.",
    "bbox": "Location within west,south,east,north (decimal degrees, WGS 84; longitude -180 to "
    "180, latitude -90 to 90; the edges included). West must not be east of east: for a box "
    "across the antimeridian ask for each side.",
    "noise_id": f"Public ids (noise_id), exact; repeat, or separate them with commas or white "
    f"space; at most {NOISE_ID_MAX:,} in all.",
    "review": "Review state: submitted, accepted, rejected, changes_requested, or all; repeat "
    "for several. Default: accepted. Other states need the reviewer or admin role (a collector "
    "sees their own recordings in them).",
}


def _as_lists(params: Mapping[str, Any]) -> dict[str, list[str]]:
    """A QueryDict or a plain mapping (values a string or a list of strings) as lists."""
    getlist = getattr(params, "getlist", None)
    out: dict[str, list[str]] = {}
    for key in params:
        raw = getlist(key) if getlist else params[key]
        values = list(raw) if isinstance(raw, list | tuple) else [raw]
        out[key] = [str(v) for v in values]
    return out


def parse_filters(
    params: Mapping[str, Any], *, extra: Iterable[str] = (), access: ReviewAccess | None = None
) -> RecordingFilter:
    """Validate query parameters; `extra` names the caller's own parameters, left alone.

    `access` says which review states the caller may select (default: accepted only)."""
    access = access or ReviewAccess()
    given = _as_lists(params)
    allowed = set(FILTER_PARAMETERS) | set(extra)
    errors = [
        ParamError(p, f"Unknown parameter: {p}. Known: {', '.join(sorted(allowed))}.")
        for p in given
        if p not in allowed
    ]
    for p in FILTER_PARAMETERS:
        if p not in REPEATABLE and len(given.get(p, [])) > 1:
            errors.append(ParamError(p, f"{p} is given {len(given[p])} times; give it once."))
    kept = {
        p: tuple(v for v in given[p] if v.strip())
        for p in FILTER_PARAMETERS
        if p in given and any(v.strip() for v in given[p])
    }
    form_data = {p: list(v) if p in REPEATABLE else v[-1] for p, v in kept.items()}
    form = RecordingFilterForm(data=form_data)
    if not form.is_valid():
        for p in FILTER_PARAMETERS:
            for error in form.errors.as_data().get(p, []):
                message = " ".join(error.messages)
                # A repeatable filter's message names the value at fault; others show it.
                where = p if p in REPEATABLE else f"{p}={kept[p][-1]}"
                errors.append(ParamError(p, f"{where}: {message}."))
    review_states = DEFAULT_REVIEW
    if not errors:
        try:
            review_states = _review_states(form.cleaned_data.get("review") or (), access)
        except FilterError as e:
            errors += e.errors
    if errors:
        raise FilterError(errors)
    data = form.cleaned_data
    return RecordingFilter(
        terms=tuple(data["q"].split()) if data.get("q") else (),
        ids={TAXON_PARAMETERS[p][1]: data[p] for p in TAXON_PARAMETERS if data.get(p)},
        recorded_from=data.get("recorded_from"),
        recorded_before=data.get("recorded_to"),
        laeq_min=data.get("laeq_min"),
        laeq_max=data.get("laeq_max"),
        duration_min=data.get("duration_min"),
        duration_max=data.get("duration_max"),
        statuses=data.get("status") or (),
        clipped=data.get("clipped"),
        has_audio=data.get("has_audio"),
        units=data.get("unit") or (),
        calibrated=data.get("calibrated"),
        bbox=data.get("bbox"),
        noise_ids=data.get("noise_id") or (),
        review_states=review_states,
        review_owner=access.own if set(review_states) - set(DEFAULT_REVIEW) else None,
        params=kept,
        notes=tuple(form.empty_ranges()),
    )


def _review_states(asked: Sequence[str], access: ReviewAccess) -> tuple[str, ...]:
    """The states `review=` asks for (accepted when it is not given), in REVIEW_STATES order."""
    if not asked:
        return DEFAULT_REVIEW
    wanted = set(access.states) if ALL_REVIEW in asked else set(asked)
    refused = sorted(wanted - access.states)
    if refused:
        raise FilterError(
            [
                ParamError(
                    "review",
                    f"review={','.join(refused)}: only reviewers and admins can select "
                    f"recordings in {' or '.join(refused)} review; you see "
                    f"{', '.join(sorted(access.states))} ones.",
                )
            ]
        )
    return tuple(s for s in REVIEW_STATES if s in wanted)


# The original system's parameter names (its list page and its export API), for the
# compatibility endpoint and old bookmarks. Its taxon filters took names on the list page and
# ids in the export API; ours accept both, so they pass through unchanged.
ORIGINAL_ALIASES = {"search": "q"}
ORIGINAL_DATE_RANGES = ("today", "week", "month", "year")


def from_original(params: Mapping[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """The original's parameters (search, date_range) translated to ours; others unchanged."""
    out = _as_lists(params)
    for old, new in ORIGINAL_ALIASES.items():
        if old in out:
            out.setdefault(new, [])
            out[new] = out[new] + out.pop(old)
    if "date_range" in out:
        ranges = out.pop("date_range")
        choice = (ranges[-1] if ranges else "").strip().lower()
        today = (now or timezone.now()).astimezone(UTC).date()
        starts = {
            "today": today,
            "week": today - timedelta(days=today.weekday()),
            "month": today.replace(day=1),
            "year": today.replace(month=1, day=1),
        }
        if choice in starts:
            out["recorded_from"] = [starts[choice].isoformat()]
        elif choice:
            raise FilterError(
                [
                    ParamError(
                        "date_range",
                        f"date_range={choice}: must be one of {', '.join(ORIGINAL_DATE_RANGES)}.",
                    )
                ]
            )
    return out
