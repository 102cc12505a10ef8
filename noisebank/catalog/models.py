"""The catalogue: taxonomy, recordings and what was measured of them."""

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery, Value
from django.utils import timezone

from noisebank.lib import checks, zones

if TYPE_CHECKING:
    from noisebank.catalog.filters import RecordingFilter


class Taxon(models.Model):
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Category(Taxon):
    """Top of the sound taxonomy: e.g. "Train pass-by", "Warning signal"."""

    class Meta(Taxon.Meta):
        verbose_name_plural = "categories"
        constraints = [models.UniqueConstraint(fields=["name"], name="category_name_unique")]


class SoundClass(Taxon):
    category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="classes")

    class Meta(Taxon.Meta):
        verbose_name = "class"
        verbose_name_plural = "classes"
        constraints = [
            models.UniqueConstraint(fields=["category", "name"], name="class_name_unique")
        ]


class Subclass(Taxon):
    sound_class = models.ForeignKey(SoundClass, on_delete=models.CASCADE, related_name="subclasses")

    class Meta(Taxon.Meta):
        verbose_name_plural = "subclasses"
        constraints = [
            models.UniqueConstraint(fields=["sound_class", "name"], name="subclass_name_unique")
        ]


def validate_time_zone(name: str) -> None:
    if name and zones.zone_or_none(name) is None:
        raise ValidationError(f"{name!r} is not an IANA time zone (e.g. Africa/Accra).")


class Region(Taxon):
    # The long-term indicators (Lday, Lnight, hourly LAeq) are in the local time of the site.
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        db_default="",
        validators=[validate_time_zone],
        help_text="IANA time zone of its sites, e.g. Africa/Accra. Empty: NOISEBANK_TIME_ZONE.",
    )

    class Meta(Taxon.Meta):
        constraints = [models.UniqueConstraint(fields=["name"], name="region_name_unique")]


class Community(Taxon):
    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="communities")

    class Meta(Taxon.Meta):
        verbose_name_plural = "communities"
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="community_name_unique")
        ]


class MicrophoneType(Taxon):
    class Meta(Taxon.Meta):
        constraints = [models.UniqueConstraint(fields=["name"], name="microphone_name_unique")]


class TimeOfDay(Taxon):
    class Meta(Taxon.Meta):
        verbose_name_plural = "times of day"
        constraints = [models.UniqueConstraint(fields=["name"], name="time_of_day_name_unique")]


class DatasetType(Taxon):
    """What a recording is for: noise, clean speech, mixed, ..."""

    class Meta(Taxon.Meta):
        constraints = [models.UniqueConstraint(fields=["name"], name="dataset_type_name_unique")]


class Device(Taxon):
    """A recorder model or unit; its calibration applies to recordings that have none."""

    microphone_type = models.ForeignKey(
        MicrophoneType, null=True, blank=True, on_delete=models.SET_NULL
    )
    calibration_offset_db = models.FloatField(
        null=True,
        blank=True,
        help_text="dB SPL = dBFS + offset. Empty: levels of its recordings stay in dBFS.",
    )

    class Meta(Taxon.Meta):
        constraints = [models.UniqueConstraint(fields=["name"], name="device_name_unique")]


class Calibration(models.Model):
    """A device's calibration from a recording of an acoustic calibrator (IEC 60942).

    It applies to the device's recordings made from ``valid_from`` until the device's next
    calibration, unless a recording has an offset of its own (``Recording.calibration_in_force``).
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="calibrations")
    nominal_db = models.FloatField(help_text="The calibrator's level, dB SPL (94, 114, ...).")
    measured_dbfs = models.FloatField(help_text="Unweighted RMS level of the steady tone.")
    offset_db = models.FloatField(help_text="nominal_db - measured_dbfs: dB SPL = dBFS + offset.")
    frequency_hz = models.FloatField()
    steadiness_db = models.FloatField(help_text="Range of the 100 ms levels measured over.")
    steady_s = models.FloatField(help_text="Seconds of steady tone measured over.")
    valid_from = models.DateTimeField(help_text="When the calibrator was recorded.")
    file = models.FileField(upload_to="calibrations/%Y/%m/", max_length=255)
    original_filename = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # When the worker queued the recordings it covers for measuring again (once only).
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-valid_from", "-id"]
        indexes = [
            # The calibration covering a recording: WHERE device_id = ? AND valid_from <=
            # recorded_at ORDER BY valid_from DESC, id DESC LIMIT 1 (detail page, worker, export).
            models.Index(fields=["device", "valid_from", "id"], name="calibration_device_idx"),
        ]

    def __str__(self) -> str:
        return f"calibration {self.pk} of {self.device}, {self.valid_from:%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class CalibrationInForce:
    """The offset a recording's levels are in, and where it comes from."""

    offset_db: float | None
    source: str  # "recording", "calibration", "device" or "" (none: dBFS)
    calibration: Calibration | None = None


def covering_calibration(device_id: int, at: datetime | None) -> Calibration | None:
    """The device's latest calibration made at or before ``at``; none when ``at`` is unknown."""
    if at is None:
        return None
    return (
        Calibration.objects.filter(device_id=device_id, valid_from__lte=at)
        .order_by("-valid_from", "-id")
        .first()
    )


def collector_code(username: str) -> str:
    """The readable collector part of a noise_id: letters and digits, upper case, ≤ 8 long."""
    ascii_name = unicodedata.normalize("NFKD", username).encode("ascii", "ignore").decode()
    code = "".join(c for c in ascii_name.upper() if c.isalnum())[:8]
    return code or "ANON"


def new_noise_id(username: str, at: datetime | None = None, token: str | None = None) -> str:
    at = (at or timezone.now()).astimezone(UTC)
    return (
        f"NSE-{collector_code(username)}-{at:%Y%m%d%H%M%S}-{token or secrets.token_hex(3).upper()}"
    )


class RecordingQuerySet(models.QuerySet["Recording"]):
    def matching(self, f: "RecordingFilter") -> "RecordingQuerySet":
        """The recordings a parsed filter selects (noisebank.catalog.filters)."""
        q = Q()
        for term in f.terms:
            q &= (
                Q(noise_id__icontains=term)
                | Q(name__icontains=term)
                | Q(description__icontains=term)
            )
        for fk, ids in f.ids.items():
            q &= Q(**{f"{fk}_id__in": ids})
        if f.recorded_from is not None:
            q &= Q(recorded_at__gte=f.recorded_from)
        if f.recorded_before is not None:
            q &= Q(recorded_at__lt=f.recorded_before)
        # The measurements are read from the recording's copies of them (MEASURED_COPIES): one
        # table, so a filter on the recording and one on a level meet in one index.
        if f.laeq_min is not None:
            q &= Q(laeq__gte=f.laeq_min)
        if f.laeq_max is not None:
            q &= Q(laeq__lte=f.laeq_max)
        if f.duration_min is not None:
            q &= Q(duration_s__gte=f.duration_min)
        if f.duration_max is not None:
            q &= Q(duration_s__lte=f.duration_max)
        if f.statuses:
            q &= Q(status__in=f.statuses)
        if f.clipped is not None:
            clipped = Q(clipped_share__gt=checks.CLIPPED_SHARE_LIMIT)
            q &= clipped if f.clipped else Q(clipped_share__lte=checks.CLIPPED_SHARE_LIMIT)
        if f.has_audio is not None:
            q &= ~Q(audio="") if f.has_audio else Q(audio="")
        if f.units:
            q &= Q(level_unit__in=f.units)
        if f.calibrated is not None:
            # Recording.effective_calibration: its own offset, else its device's calibration
            # covering its recording time, else the offset typed for its device.
            covered = Exists(
                Calibration.objects.filter(
                    device_id=OuterRef("device_id"), valid_from__lte=OuterRef("recorded_at")
                )
            )
            calibrated = (
                Q(calibration_offset_db__isnull=False)
                | Q(device__calibration_offset_db__isnull=False)
                | Q(covered)
            )
            q &= calibrated if f.calibrated else ~calibrated
        if f.bbox is not None:
            q &= Q(latitude__gte=f.bbox.south, latitude__lte=f.bbox.north)
            within = Q(longitude__gte=f.bbox.west, longitude__lte=f.bbox.east)
            # -180 and 180 are one meridian: a box reaching either edge holds points on both.
            if f.bbox.east == 180:
                within |= Q(longitude=-180)
            if f.bbox.west == -180:
                within |= Q(longitude=180)
            q &= within
        if f.noise_ids:
            q &= Q(noise_id__in=f.noise_ids)
        if set(f.review_states) != set(Recording.Review.values):
            q &= Q(review_state__in=f.review_states)
        if f.review_owner is not None and set(f.review_states) != {Recording.Review.ACCEPTED}:
            # A collector: others' recordings only once accepted, their own in any state.
            q &= Q(review_state=Recording.Review.ACCEPTED) | Q(collector_id=f.review_owner)
        return self.filter(q)

    def copy_measurements(self) -> int:
        """Copy the measurements filtered and sorted on (MEASURED_COPIES) from each recording's
        NoiseAnalysis and AudioFeatures onto it (NULL where it has none); moves updated_at.

        Every write of those two tables calls it for the recordings written, in the same
        transaction (ingest.services, curation.calibration, the seeder, the admin, the test
        builders); catalog/tests/test_measured_copies.py checks each path."""
        copies = {}
        for field, (model, source) in MEASURED_COPIES.items():
            rows = model._default_manager.filter(recording_id=OuterRef("pk"))
            copies[field] = Subquery(rows.values(source)[:1])
        return self.update(**copies, updated_at=timezone.now())

    def for_list(self) -> "RecordingQuerySet":
        """The shape of the catalogue list: one query, only the columns it shows."""
        return self.select_related(
            "category", "sound_class", "region", "community", "features", "analysis"
        ).only(
            "noise_id",
            "name",
            "recorded_at",
            "status",
            "category__name",
            "sound_class__name",
            "region__name",
            "community__name",
            "features__duration_s",
            "analysis__laeq",
            "analysis__lafmax",
            "analysis__unit",
        )


class Recording(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        READY = "ready"
        FAILED = "failed"

    class Review(models.TextChoices):
        """Whether a recording counts: separate from its processing status. Uploads start
        submitted; researchers see accepted ones only (catalog.filters)."""

        SUBMITTED = "submitted"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    noise_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    dataset_type = models.ForeignKey(DatasetType, null=True, blank=True, on_delete=models.PROTECT)
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="recordings"
    )
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT)
    sound_class = models.ForeignKey(SoundClass, null=True, blank=True, on_delete=models.PROTECT)
    subclass = models.ForeignKey(Subclass, null=True, blank=True, on_delete=models.PROTECT)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.PROTECT)
    community = models.ForeignKey(Community, null=True, blank=True, on_delete=models.PROTECT)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    # When the recording started; NULL when nobody said (never the upload time in disguise).
    recorded_at = models.DateTimeField(null=True, blank=True)
    time_of_day = models.ForeignKey(TimeOfDay, null=True, blank=True, on_delete=models.PROTECT)
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.PROTECT)
    microphone_type = models.ForeignKey(
        MicrophoneType, null=True, blank=True, on_delete=models.PROTECT
    )
    calibration_offset_db = models.FloatField(
        null=True, blank=True, help_text="dB SPL = dBFS + offset; overrides the device's."
    )
    audio = models.FileField(upload_to="audio/%Y/%m/", max_length=255, blank=True)
    original_filename = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    # Unique: an upload whose bytes are already here is refused, naming the existing noise_id.
    sha256 = models.CharField(max_length=64, null=True, blank=True, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    review_state = models.CharField(max_length=20, choices=Review.choices, default=Review.SUBMITTED)
    # Why it was rejected, or which changes were asked for: shown to its collector.
    review_note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # Copies of what was measured (MEASURED_COPIES), written by copy_measurements() only: the
    # catalogue's filters and sorts on a level combined with one on the recording are then
    # answered by one index on this table ((category, laeq, id), ...) instead of a join of a
    # million rows. The detail page and the exports read the measurement tables themselves.
    laeq = models.FloatField(null=True, blank=True, editable=False)
    lafmax = models.FloatField(null=True, blank=True, editable=False)
    level_unit = models.CharField(max_length=8, null=True, blank=True, editable=False)
    clipped_share = models.FloatField(null=True, blank=True, editable=False)
    duration_s = models.FloatField(null=True, blank=True, editable=False)

    objects = RecordingQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [
            # The catalogue's default order and its keyset pages: ORDER BY recorded_at DESC, id DESC
            # WHERE (recorded_at, id) < (last seen); also recorded_from/recorded_to filters.
            models.Index(fields=["recorded_at", "id"], name="recording_recorded_idx"),
            # A page jump in that order (page=N, and the original's ?page=N links): SELECT
            # recorded_at, id … WHERE review_state = 'accepted' ORDER BY recorded_at DESC, id DESC
            # OFFSET k LIMIT 1. Partial on the catalogue's rows, the skip is index-only; through
            # the index above it reads the table for every row skipped (README, Measured).
            models.Index(
                fields=["recorded_at", "id"],
                name="recording_accepted_time_idx",
                condition=Q(review_state="accepted"),
            ),
            # The catalogue sorted by name (sort=name / -name): keyset pages on (name, id).
            models.Index(fields=["name", "id"], name="recording_name_idx"),
            # The catalogue sorted by category (sort=category): one category at a time, by id.
            models.Index(fields=["category", "id"], name="recording_category_idx"),
            # The data version the catalogue's cached counts are keyed by: max(updated_at).
            models.Index(fields=["updated_at"], name="recording_updated_idx"),
            # The catalogue sorted by LAeq / LAFmax / duration (keyset pages on (value, id)) and
            # the laeq_min/laeq_max and duration filters alone.
            models.Index(fields=["laeq", "id"], name="recording_laeq_idx"),
            models.Index(fields=["lafmax", "id"], name="recording_lafmax_idx"),
            models.Index(fields=["duration_s", "id"], name="recording_duration_idx"),
            # A category with an LAeq range or sorted by LAeq: WHERE category_id = ? AND laeq
            # >= ? ORDER BY laeq DESC, id DESC, one range of one index. Partial, as the
            # catalogue's selections are (accepted unless a reviewer says otherwise): so their
            # count is read from the index alone.
            models.Index(
                fields=["category", "laeq", "id"],
                name="recording_category_laeq_idx",
                condition=Q(review_state="accepted"),
            ),
            # A region with a unit (region=...&unit=dB SPL) and a bbox: their counts from the
            # index alone, as above.
            models.Index(
                fields=["region", "level_unit", "id"],
                name="recording_region_unit_idx",
                condition=Q(review_state="accepted"),
            ),
            models.Index(
                fields=["latitude", "longitude", "id"],
                name="recording_location_idx",
                condition=Q(review_state="accepted"),
            ),
            # has_audio=yes: the few recordings with a file (most rows are metadata only), in
            # the catalogue's default order.
            models.Index(
                fields=["recorded_at", "id"],
                name="recording_audio_idx",
                condition=~Q(audio=""),
            ),
            # Filter by processing status (the worker's backlog, the status filter).
            models.Index(fields=["status"], name="recording_status_idx"),
            # Newest uploads first (a collector's "my uploads", admin list).
            models.Index(fields=["created_at"], name="recording_created_idx"),
            # The review queue, oldest first: WHERE review_state = 'submitted' ORDER BY
            # created_at, id. Partial: accepted recordings (nearly all) stay out of it.
            models.Index(
                fields=["review_state", "created_at", "id"],
                name="recording_review_idx",
                condition=~Q(review_state="accepted"),
            ),
        ]

    def __str__(self) -> str:
        return self.noise_id

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Not the measurement copies: an instance read before its recording was measured (a
        # form, the admin, a bulk change) would put the old values back.
        updating = not (self._state.adding or args or kwargs.get("force_insert"))
        if updating and kwargs.get("update_fields") is None:
            deferred = self.get_deferred_fields()
            kwargs["update_fields"] = [
                f.attname
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in MEASURED_COPIES and f.attname not in deferred
            ]
        super().save(*args, **kwargs)

    @property
    def effective_calibration_db(self) -> float | None:
        return self.calibration_in_force().offset_db

    def calibration_in_force(self) -> CalibrationInForce:
        """Its own offset, else the device's calibration covering ``recorded_at``, else the
        offset typed for the device, else none (levels in dBFS)."""
        if self.calibration_offset_db is not None:
            return CalibrationInForce(self.calibration_offset_db, "recording")
        device = self.device
        if device is None:
            return CalibrationInForce(None, "")
        if device.pk is not None:
            calibration = covering_calibration(device.pk, self.recorded_at)
            if calibration is not None:
                return CalibrationInForce(calibration.offset_db, "calibration", calibration)
        typed = device.calibration_offset_db
        return CalibrationInForce(typed, "" if typed is None else "device")


class AudioFeatures(models.Model):
    """Descriptive audio features (librosa / numpy), one row per recording."""

    recording = models.OneToOneField(
        Recording, primary_key=True, on_delete=models.CASCADE, related_name="features"
    )
    duration_s = models.FloatField()
    sample_rate = models.IntegerField()
    num_samples = models.BigIntegerField()
    channels = models.SmallIntegerField(default=1)
    rms_energy = models.FloatField(null=True)
    zero_crossing_rate = models.FloatField(null=True)
    spectral_centroid = models.FloatField(null=True, help_text="Hz")
    spectral_bandwidth = models.FloatField(null=True, help_text="Hz")
    spectral_rolloff = models.FloatField(null=True, help_text="Hz")
    spectral_flatness = models.FloatField(null=True)
    harmonic_ratio = models.FloatField(null=True)
    percussive_ratio = models.FloatField(null=True)
    mfcc = models.JSONField(default=list, help_text="13 MFCC means")
    chroma = models.JSONField(default=list, help_text="12 chroma means")

    class Meta:
        verbose_name_plural = "audio features"

        indexes = [
            # duration_min / duration_max filters, and the catalogue sorted by duration: keyset
            # pages on (duration_s, recording_id), the join to the recording by its primary key.
            models.Index(fields=["duration_s", "recording"], name="features_duration_idx"),
        ]

    def __str__(self) -> str:
        return f"features of recording {self.pk}"


class NoiseAnalysis(models.Model):
    """Acoustic levels of a recording: dB SPL when calibrated, dBFS otherwise."""

    class Unit(models.TextChoices):
        DBFS = "dBFS"
        DB_SPL = "dB SPL"

    recording = models.OneToOneField(
        Recording, primary_key=True, on_delete=models.CASCADE, related_name="analysis"
    )
    unit = models.CharField(max_length=8, choices=Unit.choices, default=Unit.DBFS)
    lzeq = models.FloatField(null=True)
    laeq = models.FloatField(null=True)
    lafmax = models.FloatField(null=True)
    lafmin = models.FloatField(null=True)
    la10 = models.FloatField(null=True)
    la50 = models.FloatField(null=True)
    la90 = models.FloatField(null=True)
    # Statistics of the A-weighted Fast level over time (replace the original's per-sample dB).
    mean_db = models.FloatField(null=True)
    max_db = models.FloatField(null=True)
    min_db = models.FloatField(null=True)
    std_db = models.FloatField(null=True)
    dominant_frequency_hz = models.FloatField(null=True)
    freq_low_hz = models.FloatField(null=True, help_text="Lower edge of the 90 % energy band")
    freq_high_hz = models.FloatField(null=True, help_text="Upper edge of the 90 % energy band")
    peak_count = models.IntegerField(null=True)
    peak_interval_mean_s = models.FloatField(null=True)
    event_count = models.IntegerField(null=True)
    event_durations_s = models.JSONField(default=list)
    band_levels = models.JSONField(default=dict, help_text="1/3-octave centre (Hz) -> level")
    # Down-sampled A-weighted Fast level against time, for the detail page's plot.
    level_series = models.JSONField(default=dict, blank=True)
    # What the signal checks found (noisebank.lib.checks draws the lines). Empty: measured
    # before the checks existed.
    # Database defaults too: rows written by raw INSERTs (the demo seeder) leave them out.
    no_signal = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Digital silence (> 99 % of the samples below -120 dBFS): no levels.",
    )
    clipped_share = models.FloatField(
        null=True, help_text="Share of samples at or within 0.01 dB of full scale (0-1)."
    )
    dc_offset = models.FloatField(
        null=True, help_text="The largest channel mean, full scale = 1 (signed)."
    )
    channel_laeq = models.JSONField(
        default=list,
        db_default=Value([], output_field=models.JSONField()),
        blank=True,
        help_text="LAeq of each channel, in the recording's unit.",
    )
    dead_channels = models.JSONField(
        default=list,
        db_default=Value([], output_field=models.JSONField()),
        blank=True,
        help_text="Channels (1 = first) > 6 dB below the loudest.",
    )
    # The indicators of long-term monitoring, in the local time of the recording's region
    # (noisebank.ingest.longterm). Empty where the recording does not cover a period.
    time_zone = models.CharField(max_length=64, blank=True, db_default="", default="")
    hourly_laeq = models.JSONField(
        default=list,
        db_default=Value([], output_field=models.JSONField()),
        blank=True,
        help_text='LAeq per local clock hour: [{"start", "laeq", "covered_s"}, ...].',
    )
    lday = models.FloatField(null=True, help_text="LAeq over the covered parts of 07-19 h.")
    levening = models.FloatField(null=True, help_text="LAeq over the covered parts of 19-23 h.")
    lnight = models.FloatField(null=True, help_text="LAeq over the covered parts of 23-07 h.")
    lden = models.FloatField(null=True, help_text="EU 2002/49/EC; only for a whole day covered.")
    lday_hours = models.FloatField(null=True, help_text="Hours of 07-19 h covered.")
    levening_hours = models.FloatField(null=True, help_text="Hours of 19-23 h covered.")
    lnight_hours = models.FloatField(null=True, help_text="Hours of 23-07 h covered.")
    level_channels = models.JSONField(
        default=list,
        db_default=Value([], output_field=models.JSONField()),
        blank=True,
        help_text="Channels (1 = first) the levels were taken from.",
    )

    class Meta:
        verbose_name_plural = "noise analyses"

        indexes = [
            # The clipped filter (clipped=yes: clipped_share > CLIPPED_SHARE_LIMIT) and the
            # processing page's count of clipped recordings.
            models.Index(fields=["clipped_share", "recording"], name="analysis_clipped_idx"),
            # laeq_min / laeq_max filters, and the catalogue sorted by LAeq: keyset pages on
            # (laeq, recording_id), the join to the recording by its primary key.
            models.Index(fields=["laeq", "recording"], name="analysis_laeq_idx"),
            # The catalogue sorted by LAFmax, the same way.
            models.Index(fields=["lafmax", "recording"], name="analysis_lafmax_idx"),
        ]

    def __str__(self) -> str:
        return f"levels of recording {self.pk}"


# Recording field -> (the model and field it copies): what the catalogue filters and sorts on.
MEASURED_COPIES: dict[str, tuple[type[models.Model], str]] = {
    "laeq": (NoiseAnalysis, "laeq"),
    "lafmax": (NoiseAnalysis, "lafmax"),
    "level_unit": (NoiseAnalysis, "unit"),
    "clipped_share": (NoiseAnalysis, "clipped_share"),
    "duration_s": (AudioFeatures, "duration_s"),
}
