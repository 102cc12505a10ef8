"""Taking recordings in and measuring them: the one path every way of uploading goes through.

    recording_create      validate, store the bytes, insert the row, queue the measurement
    recording_process     what the worker runs: pending -> processing -> ready / failed
    recordings_reprocess  queue recordings again (admin action, detail page)
    recordings_sweep_stale  recover recordings whose worker died mid-processing
    recording_delete      the row, its measurements and its file

No signals: saving a Recording never queues anything; only these functions do, and only after
their transaction commits.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from noisebank.accounts.roles import can_upload
from noisebank.catalog.models import AudioFeatures, NoiseAnalysis, Recording, new_noise_id
from noisebank.ingest.audio import (
    AudioRejected,
    probe_audio,
    sanitize_filename,
    sha256_of,
)
from noisebank.ingest.decode import AudioSource, open_audio
from noisebank.ingest.forms import MetadataInvalid, RecordingMetadata, clean_metadata
from noisebank.ingest.longterm import LongTerm
from noisebank.ingest.uploads import max_upload_bytes, too_large_reason
from noisebank.lib.stopping import WorkerStopped
from noisebank.lib.zones import zone_or_none

log = logging.getLogger(__name__)

EXTENSIONS = {"WAV": "wav", "FLAC": "flac", "OGG": "ogg", "MP3": "mp3", "M4A": "m4a", "AAC": "aac"}
INTERRUPTED = "Processing was interrupted"
HEARTBEAT_S = 60.0
LONG_TERM_LEVELS = (
    "lday", "levening", "lnight", "lden", "lday_hours", "levening_hours", "lnight_hours",
)  # fmt: skip


class UploadRejected(Exception):
    """An upload that was not taken in, with the reason in words for the uploader.

    ``kind``: "metadata", "audio", "duplicate", "too_large", "forbidden" or "no_space" (the
    server's disk is full: nothing was stored, the same upload can be sent again later).
    """

    def __init__(
        self,
        reason: str,
        *,
        kind: str,
        errors: dict[str, list[str]] | None = None,
        existing_noise_id: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.errors = errors or {}
        self.existing_noise_id = existing_noise_id


@dataclass
class Created:
    recording: Recording
    notes: list[str] = field(default_factory=list)


def audio_limits() -> dict[str, Any]:
    return {
        "max_duration_s": float(settings.NOISEBANK_MAX_DURATION_S),
        "min_duration_s": float(settings.NOISEBANK_MIN_DURATION_S),
    }


def recording_create(
    *,
    file: Path,
    filename: str,
    metadata: Mapping[str, Any] | RecordingMetadata,
    collector: User | None,
    move: bool = False,
) -> Created:
    """Take one file in: checks, then the bytes under MEDIA_ROOT, the row, and a queued task.

    ``move`` hands the file over (an upload's temporary file); otherwise it is copied (the CLI
    leaves the collector's folder untouched). Raises UploadRejected; nothing is stored then.
    """
    if collector is not None and not can_upload(collector):
        raise UploadRejected("Uploading needs the collector role.", kind="forbidden")
    notes = []
    original = sanitize_filename(filename)
    if original != filename:
        notes.append(
            f"The file name was made safe: “{original}” (directory parts, control characters "
            "and reserved characters removed)."
        )
    if not isinstance(metadata, RecordingMetadata):
        try:
            metadata = clean_metadata(metadata)
        except MetadataInvalid as e:
            raise UploadRejected(e.summary, kind="metadata", errors=e.errors) from e
    size = file.stat().st_size
    if size > max_upload_bytes():
        raise UploadRejected(too_large_reason(size), kind="too_large")
    try:
        info = probe_audio(file, **audio_limits())
    except AudioRejected as e:
        raise UploadRejected(e.reason, kind="audio") from e
    digest = sha256_of(file)
    existing = Recording.objects.filter(sha256=digest).values_list("noise_id", flat=True).first()
    if existing:
        raise _duplicate(existing)

    username = collector.get_username() if collector is not None else "import"
    now = timezone.now()
    while True:
        # The random part makes a clash rare; never let one overwrite another recording's file.
        noise_id = new_noise_id(username)
        relative = f"audio/{now:%Y/%m}/{noise_id}.{EXTENSIONS[info.format]}"
        stored = Path(settings.MEDIA_ROOT) / relative
        if not stored.exists() and not Recording.objects.filter(noise_id=noise_id).exists():
            break
    _store(file, stored, move=move)
    fields = dict(metadata.fields)
    fields["name"] = metadata.name_or(Path(original).stem or original)
    try:
        with transaction.atomic():
            recording = Recording.objects.create(
                noise_id=noise_id,
                collector=collector,
                audio=relative,
                original_filename=original,
                size_bytes=size,
                sha256=digest,
                status=Recording.Status.PENDING,
                **fields,
            )
            _enqueue_on_commit([recording.pk])
    except IntegrityError as e:
        stored.unlink(missing_ok=True)
        # Another upload of the same bytes won the race.
        winner = Recording.objects.filter(sha256=digest).values_list("noise_id", flat=True)
        if winner.first():
            raise _duplicate(str(winner.first())) from e
        raise
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    return Created(recording, notes)


def _duplicate(noise_id: str) -> UploadRejected:
    return UploadRejected(
        f"This file is already in the catalogue as {noise_id} (same content, sha256).",
        kind="duplicate",
        existing_noise_id=noise_id,
    )


NO_SPACE = (
    "The server is out of disk space: the file was not stored and nothing was added. Send it "
    "again later, or tell an administrator."
)


def _store(source: Path, target: Path, *, move: bool) -> None:
    """The bytes at `target`, whole or not at all (a copy cut short is deleted); `source` is
    kept unless the move succeeded, so a failed upload can be retried."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        if move:
            shutil.move(source, partial)
        else:
            shutil.copyfile(source, partial)
        os.chmod(partial, 0o640)
        os.replace(partial, target)
    except OSError as e:
        partial.unlink(missing_ok=True)
        if e.errno == errno.ENOSPC:
            raise UploadRejected(NO_SPACE, kind="no_space") from e
        raise


def _enqueue_on_commit(recording_ids: Iterable[int]) -> None:
    from noisebank.ingest.tasks import process_recording

    def enqueue(pk: int) -> None:
        process_recording.enqueue(pk)

    for pk in recording_ids:
        transaction.on_commit(functools.partial(enqueue, pk))


def recording_process(recording_id: int) -> str:
    """Measure one pending recording; returns the status it ends in ("skipped" if not pending).

    Claiming is a conditional UPDATE, so two workers given the same id measure it once.
    """
    claimed = Recording.objects.filter(pk=recording_id, status=Recording.Status.PENDING).update(
        status=Recording.Status.PROCESSING, updated_at=timezone.now()
    )
    if not claimed:
        return "skipped"
    recording = Recording.objects.select_related("device", "region").get(pk=recording_id)
    try:
        source = _open_stored(recording)
        measured = _measure(source, recording, recording_id)
    except AudioRejected as e:
        _fail(recording_id, e.reason)
        return Recording.Status.FAILED
    except Exception as e:
        log.exception("Processing recording %s failed", recording.noise_id)
        _fail(
            recording_id,
            f"Processing failed unexpectedly ({type(e).__name__}: {e}). The file is kept; "
            "an admin can re-process it.",
        )
        return Recording.Status.FAILED
    except WorkerStopped:
        raise  # the worker hands the task back, and the recording with it (recording_release)
    except BaseException:
        # The worker is being stopped: hand the recording back instead of leaving it stuck.
        requeued = Recording.objects.filter(
            pk=recording_id, status=Recording.Status.PROCESSING
        ).update(status=Recording.Status.PENDING)
        if requeued:
            _enqueue_on_commit([recording_id])
        raise
    return _save_measurements(recording_id, measured)


def _open_stored(recording: Recording) -> AudioSource:
    if not recording.audio:
        raise AudioRejected("No audio file is stored for this recording.")
    path = Path(recording.audio.path)
    if not path.exists():
        raise AudioRejected("The stored audio file is missing from the server.")
    return open_audio(path, **audio_limits())


def site_time_zone(recording: Recording) -> ZoneInfo:
    """The local time of the recording's site: its region's zone, else NOISEBANK_TIME_ZONE."""
    name = recording.region.time_zone if recording.region is not None else ""
    return zone_or_none(name) or ZoneInfo(settings.NOISEBANK_TIME_ZONE)


def _measure(source: AudioSource, recording: Recording, recording_id: int) -> dict[str, Any]:
    from noisebank.ingest.analysis import Levels, analyse

    calibration_offset_db = recording.effective_calibration_db
    result = analyse(
        source,
        calibration_offset_db=calibration_offset_db,
        progress=_still_processing(recording_id),
        started_at=recording.recorded_at,
        time_zone=site_time_zone(recording),
    )
    series = {
        "level_times_s": result.series.level_times_s,
        "laf_levels": result.series.laf_levels,
        **result.plots,
    }
    if result.levels is not None:
        levels = vars(result.levels)
    else:  # no signal: every level empty, also those of an earlier measurement
        levels = {f.name: None for f in dataclasses.fields(Levels)}
        levels.update(unit=_unit(calibration_offset_db), event_durations_s=[], band_levels={})
    return {
        "features": vars(result.features),
        "levels": {
            **levels,
            **vars(result.signal),
            **_long_term_fields(result.long_term),
            "level_series": series,
        },
    }


def _long_term_fields(long_term: LongTerm | None) -> dict[str, Any]:
    """The NoiseAnalysis fields of the long-term indicators; all empty without them."""
    if long_term is None:
        return {"time_zone": "", "hourly_laeq": [], **dict.fromkeys(LONG_TERM_LEVELS)}
    return {
        "time_zone": long_term.time_zone,
        "hourly_laeq": long_term.hourly_json(),
        "lday": long_term.lday,
        "levening": long_term.levening,
        "lnight": long_term.lnight,
        "lden": long_term.lden,
        "lday_hours": long_term.day_hours,
        "levening_hours": long_term.evening_hours,
        "lnight_hours": long_term.night_hours,
    }


def _unit(calibration_offset_db: float | None) -> str:
    if calibration_offset_db is None:
        return NoiseAnalysis.Unit.DBFS
    return NoiseAnalysis.Unit.DB_SPL


def _still_processing(recording_id: int) -> Callable[[float], None]:
    """A heartbeat for long recordings: ``updated_at`` moves on every minute of work, so the
    stale sweep (which judges by it) never takes a day-long file still being measured for one
    whose worker died."""
    last = time.monotonic()

    def beat(_: float) -> None:
        nonlocal last
        if time.monotonic() - last >= HEARTBEAT_S:
            last = time.monotonic()
            Recording.objects.filter(pk=recording_id, status=Recording.Status.PROCESSING).update(
                updated_at=timezone.now()
            )

    return beat


def _save_measurements(recording_id: int, measured: dict[str, Any]) -> str:
    with transaction.atomic():
        locked = (
            Recording.objects.select_for_update()
            .filter(pk=recording_id, status=Recording.Status.PROCESSING)
            .exists()
        )
        if not locked:
            return "skipped"  # deleted or re-queued meanwhile
        AudioFeatures.objects.update_or_create(
            recording_id=recording_id, defaults=measured["features"]
        )
        NoiseAnalysis.objects.update_or_create(
            recording_id=recording_id, defaults=measured["levels"]
        )
        Recording.objects.filter(pk=recording_id).copy_measurements()
        Recording.objects.filter(pk=recording_id).update(
            status=Recording.Status.READY, error="", updated_at=timezone.now()
        )
    return Recording.Status.READY


def _fail(recording_id: int, reason: str) -> None:
    with transaction.atomic():
        updated = Recording.objects.filter(
            pk=recording_id, status=Recording.Status.PROCESSING
        ).update(status=Recording.Status.FAILED, error=reason, updated_at=timezone.now())
        if updated:
            # Levels of an earlier run would contradict the failed status.
            AudioFeatures.objects.filter(recording_id=recording_id).delete()
            NoiseAnalysis.objects.filter(recording_id=recording_id).delete()
            Recording.objects.filter(pk=recording_id).copy_measurements()


@dataclass
class Requeued:
    queued: int
    without_audio: int
    busy: int


def recordings_reprocess(recordings: Iterable[Recording]) -> Requeued:
    """Queue recordings for measuring again; those without audio or processing now are skipped."""
    ids_with_audio = []
    without_audio = busy = 0
    for rec in recordings:
        if not rec.audio:
            without_audio += 1
        elif rec.status == Recording.Status.PROCESSING:
            busy += 1
        else:
            ids_with_audio.append(rec.pk)
    with transaction.atomic():
        for start in range(0, len(ids_with_audio), 500):
            batch = ids_with_audio[start : start + 500]
            Recording.objects.filter(pk__in=batch).exclude(
                status=Recording.Status.PROCESSING
            ).update(status=Recording.Status.PENDING, error="", updated_at=timezone.now())
        _enqueue_on_commit(ids_with_audio)
    return Requeued(len(ids_with_audio), without_audio, busy)


def recording_release(recording_id: int, *, lost: bool) -> str | None:
    """Undo the claim of a run that will not finish: its task goes back to the queue (the
    worker calls this in the same transaction). A stopped worker's recording is simply pending
    again; a lost worker's is queued again once, and failed the second time, so a file that
    kills the worker (e.g. by running it out of memory) does not loop forever. The status it
    ends in, or None if it was not processing."""
    row = Recording.objects.filter(pk=recording_id, status=Recording.Status.PROCESSING)
    error = row.values_list("error", flat=True).first()
    if error is None:
        return None
    status: str = Recording.Status.PENDING
    message = error
    if lost:
        status, message = _interrupted(error)
    row.update(status=status, error=message, updated_at=timezone.now())
    return status


def _interrupted(error: str) -> tuple[str, str]:
    if error.startswith(INTERRUPTED):
        return Recording.Status.FAILED, (
            f"{INTERRUPTED} twice (the worker stopped or ran out of memory while measuring "
            "this file). The file is kept; an admin can re-process it."
        )
    return Recording.Status.PENDING, (
        f"{INTERRUPTED} at {timezone.now():%Y-%m-%d %H:%M} UTC (the worker stopped); "
        "it was queued again."
    )


def recordings_sweep_stale() -> tuple[int, int]:
    """Recover recordings left in `processing` with no worker known to hold them: (re-queued,
    failed). (A worker that dies is noticed by its heartbeat, and its task queued again with
    the recording: noisebank.ops.worker.) This is the fallback for a recording whose task is
    gone: once it has been processing for NOISEBANK_PROCESSING_TIMEOUT_S (far longer than the
    longest allowed file takes) it is queued again once, failed the second time (recording_release).
    Runs at every worker start and before every processing task.
    """
    from django_tasks_db.models import DBTaskResult

    from noisebank.ingest.tasks import process_recording

    cutoff = timezone.now() - timedelta(seconds=settings.NOISEBANK_PROCESSING_TIMEOUT_S)
    stale = Recording.objects.filter(status=Recording.Status.PROCESSING, updated_at__lt=cutoff)
    candidates = list(stale.values_list("pk", "error"))
    if not candidates:
        return 0, 0
    held = {
        r["args"][0]
        for r in DBTaskResult.objects.filter(
            status="RUNNING", task_path=process_recording.module_path
        ).values_list("args_kwargs", flat=True)
        if r and r.get("args")
    }
    requeued: list[int] = []
    failed = 0
    for pk, error in candidates:
        if pk in held:
            continue  # a worker holds its task: its heartbeat decides (ops.worker)
        new_status, new_error = _interrupted(error)
        with transaction.atomic():
            changed = Recording.objects.filter(
                pk=pk, status=Recording.Status.PROCESSING, updated_at__lt=cutoff
            ).update(status=new_status, error=new_error, updated_at=timezone.now())
            if changed and new_status == Recording.Status.PENDING:
                requeued.append(pk)
                _enqueue_on_commit([pk])
            elif changed:
                failed += 1
    if requeued or failed:
        log.warning("Stale processing: %d re-queued, %d failed", len(requeued), failed)
    return len(requeued), failed


def recording_update(*, recording: Recording, metadata: Mapping[str, Any]) -> Recording:
    """Change a recording's metadata. Measurements stay; a new calibration needs a re-process."""
    try:
        cleaned = clean_metadata(metadata)
    except MetadataInvalid as e:
        raise UploadRejected(e.summary, kind="metadata", errors=e.errors) from e
    fields = cleaned.fields
    recording.description = fields.get("description", "")
    for name in (
        "dataset_type",
        "category",
        "sound_class",
        "subclass",
        "region",
        "community",
        "time_of_day",
        "device",
        "microphone_type",
        "latitude",
        "longitude",
        "calibration_offset_db",
    ):
        setattr(recording, name, fields.get(name))
    recording.name = fields.get("name") or recording.name
    recording.recorded_at = fields.get("recorded_at")  # emptied: not known
    recording.save()
    return recording


def recording_delete(*, recording: Recording) -> None:
    """Delete the row (measurements cascade) and, once that has committed, its file."""
    path = Path(recording.audio.path) if recording.audio else None
    with transaction.atomic():
        recording.delete()
        if path is not None:
            transaction.on_commit(lambda: path.unlink(missing_ok=True))
