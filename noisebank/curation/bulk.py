"""Bulk curation: one change to many recordings, previewed, then applied batch by batch.

    spec = bulk_parse(request.POST, user)         # BulkInvalid names each bad field
    preview = bulk_preview(spec, user)            # what would change, before -> after
    job = bulk_create(spec=spec, user=user, preview=preview)
    bulk_run(job.id)                              # inline for small selections, else a task

A spec changes metadata (taxonomy, device, microphone, calibration offset), re-processes, or
deletes. Each batch of BATCH recordings is one transaction: locked, changed, logged (one audit
entry per recording and field: who, when, before -> after, the bulk change's id) and counted;
a batch that fails rolls back alone and stops the run, which then says what was done.

A new calibration changes the unit and values of the levels (calibration.py): recordings with
audio are measured again (re-processed); those without get their levels shifted.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Model, QuerySet
from django.utils import timezone

from noisebank.accounts.roles import review_access
from noisebank.catalog.filters import FilterError, parse_filters
from noisebank.catalog.models import Recording
from noisebank.curation.calibration import (
    CALIBRATION,
    device_offsets,
    effective_calibration,
    levels_recalibrate,
)
from noisebank.curation.models import BulkChange, RecordingChange
from noisebank.ingest.forms import TAXONOMY_FIELDS, resolve
from noisebank.ingest.services import recording_delete, recordings_reprocess

BATCH = 500
# Up to this many recordings a bulk change runs in the request; more go to the worker.
INLINE_MAX = BATCH
MAX_SELECTED = 1000
SAMPLE_ROWS = 20
BULK_FIELDS = (*TAXONOMY_FIELDS, CALIBRATION)
LABELS = {
    "dataset_type": "dataset type", "category": "category", "sound_class": "class",
    "subclass": "subclass", "region": "region", "community": "community",
    "time_of_day": "time of day", "device": "device", "microphone_type": "microphone type",
    CALIBRATION: "calibration offset (dB)",
}  # fmt: skip
# A child and the field that names its parent: setting the child sets the parent; setting the
# parent alone clears a child that belongs to another parent.
PARENTS = {"sound_class": "category", "subclass": "sound_class", "community": "region"}
CLEAR = {"none", "-", "(none)"}
Operation = BulkChange.Operation


class BulkInvalid(ValueError):
    """A bulk change that cannot be made; `errors` maps a form field to its message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class BulkSpec:
    operation: str
    changes: Mapping[str, Any]  # field -> taxon id, a number, or None (cleared)
    noise_ids: tuple[str, ...] = ()
    filters: tuple[tuple[str, str], ...] = ()

    @property
    def scope(self) -> str:
        return "selected" if self.noise_ids else "all"


# --- Parsing ---------------------------------------------------------------------------------


def bulk_parse(data: Any, user: User) -> BulkSpec:
    """The bulk form (a QueryDict or a mapping of lists), validated."""
    get = data.get
    getlist = getattr(data, "getlist", lambda k: data.get(k) or [])
    errors: dict[str, str] = {}
    operation = (get("operation") or "").strip()
    if operation not in Operation.values:
        errors["operation"] = f"operation={operation[:40]}: use {', '.join(Operation.values)}."
    noise_ids: tuple[str, ...] = ()
    filters: tuple[tuple[str, str], ...] = ()
    if (get("scope") or "selected") == "selected":
        noise_ids = tuple(dict.fromkeys(v.strip() for v in getlist("noise_id") if v.strip()))
        if not noise_ids:
            errors["scope"] = "Tick the recordings to change, or choose all matching the filters."
        elif len(noise_ids) > MAX_SELECTED:
            errors["scope"] = (
                f"{len(noise_ids):,} recordings ticked; tick at most {MAX_SELECTED:,}, or change "
                "all that match the filters."
            )
    else:
        pairs = parse_qsl(get("filters") or "", keep_blank_values=False)
        try:
            parsed = parse_filters(_as_lists(pairs), access=review_access(user))
        except FilterError as e:
            errors["filters"] = "The filters cannot be applied: " + " ".join(e.messages)
        else:
            filters = tuple(parsed.query_items())
    changes: dict[str, Any] = {}
    if operation == Operation.SET:
        changes = _parse_changes(get, errors)
        if not changes and not errors:
            errors["changes"] = "Choose at least one field to change."
    if errors:
        raise BulkInvalid(errors)
    return BulkSpec(operation, changes, noise_ids, filters)


def _as_lists(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


def _parse_changes(get: Any, errors: dict[str, str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    taxa: dict[str, Any] = {}
    for name in BULK_FIELDS:
        raw = str(get(f"set_{name}") or "").strip()
        if not raw:
            continue
        if raw.lower() in CLEAR:
            changes[name] = None
        elif name == CALIBRATION:
            try:
                value = float(raw)
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and -200 <= value <= 200):
                errors[f"set_{name}"] = (
                    f"calibration offset {raw[:40]}: a number of dB, -200 to 200."
                )
            else:
                changes[name] = value
        else:
            try:
                taxa[name] = resolve(TAXONOMY_FIELDS[name], raw)
            except ValidationError as e:
                errors[f"set_{name}"] = f"{LABELS[name]}: {' '.join(e.messages)}"
            else:
                changes[name] = taxa[name].pk
    # A child names its parent (class -> category, subclass -> class, community -> region).
    for child in ("subclass", "sound_class", "community"):
        parent = PARENTS[child]
        if child not in taxa:
            continue
        implied = getattr(taxa[child], f"{parent}_id")
        given = changes.get(parent, implied)
        if given != implied:
            errors[f"set_{child}"] = (
                f"{LABELS[child]} “{taxa[child].name}” is not in the {LABELS[parent]} chosen."
            )
        elif parent not in changes:
            changes[parent] = implied
            if parent in PARENTS and parent not in taxa:
                taxa[parent] = TAXONOMY_FIELDS[parent]._default_manager.get(pk=implied)
                grand = PARENTS[parent]
                changes.setdefault(grand, getattr(taxa[parent], f"{grand}_id"))
    return changes


# --- What it selects, and what would change ---------------------------------------------------


def selection(spec: BulkSpec, user: User) -> QuerySet[Recording]:
    if spec.noise_ids:
        return Recording.objects.filter(noise_id__in=spec.noise_ids)
    f = parse_filters(_as_lists(spec.filters), access=review_access(user))
    return Recording.objects.matching(f)


class Names:
    """Taxon names by field and id, each looked up once: how values are shown to people."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, Any], str] = {}

    def __call__(self, name: str, value: Any) -> str:
        """A field's value as people read it: a taxon's name, a number, or '—'."""
        if value is None:
            return "—"
        if name == CALIBRATION:
            return f"{value:g}"
        key = (name, value)
        if key not in self._seen:
            model: type[Model] = TAXONOMY_FIELDS[name]
            found = model._default_manager.filter(pk=value).values_list("name", flat=True)
            self._seen[key] = str(found.first() or f"#{value}")
        return self._seen[key]


def after_values(
    rec: Recording, changes: Mapping[str, Any], parents: Mapping[str, int]
) -> dict[str, Any]:
    """The recording's values of the changed fields (and the children they clear) after the
    change. `parents`: each child taxon id -> its parent's id, for the children in question."""
    out: dict[str, Any] = {}
    for name in BULK_FIELDS:
        if name in changes:
            out[name] = changes[name]
    for child, parent in PARENTS.items():
        if parent in changes and child not in changes:
            current = getattr(rec, f"{child}_id")
            new_parent = out.get(parent)
            # The child stays if it belongs to the new parent; otherwise it is cleared.
            if current is not None and parents.get(f"{child}:{current}") != new_parent:
                out[child] = None
    return out


def child_parents(recs: Sequence[Recording]) -> dict[str, int]:
    """ "sound_class:<id>" -> category id, … for the children these recordings hold."""
    out: dict[str, int] = {}
    for child, parent in PARENTS.items():
        ids = {getattr(r, f"{child}_id") for r in recs} - {None}
        model = TAXONOMY_FIELDS[child]
        for pk, up in model._default_manager.filter(pk__in=ids).values_list("pk", f"{parent}_id"):
            out[f"{child}:{pk}"] = up
    return out


@dataclass
class Preview:
    total: int
    max_id: int
    missing: list[str] = field(default_factory=list)  # ticked but gone
    fields: list[dict[str, Any]] = field(default_factory=list)  # per field: before counts, after
    sample: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def bulk_preview(spec: BulkSpec, user: User) -> Preview:
    qs = selection(spec, user)
    seen = qs.aggregate(top=Max("id"))
    total = qs.count()
    preview = Preview(total=total, max_id=seen["top"] or 0)
    if spec.noise_ids:
        found = set(qs.values_list("noise_id", flat=True))
        preview.missing = [n for n in spec.noise_ids if n not in found]
    if total == 0:
        return preview
    if spec.operation == Operation.SET:
        _preview_set(spec, qs, preview)
    elif spec.operation == Operation.REPROCESS:
        with_audio = qs.exclude(audio="").count()
        busy = qs.exclude(audio="").filter(status=Recording.Status.PROCESSING).count()
        preview.notes.append(
            f"{with_audio - busy:,} with audio will be measured again; "
            f"{total - with_audio:,} without audio and {busy:,} being measured now are left alone."
        )
    else:
        with_audio = qs.exclude(audio="").count()
        preview.notes.append(
            f"{total:,} recordings will be deleted with their measurements, and {with_audio:,} "
            "audio files. This cannot be undone; the audit log keeps who deleted what."
        )
    return preview


def _current(rec: Recording, name: str) -> Any:
    return getattr(rec, name if name == CALIBRATION else f"{name}_id")


def _preview_set(spec: BulkSpec, qs: QuerySet[Recording], preview: Preview) -> None:
    shown = Names()
    for name, value in spec.changes.items():
        counts = Counter(qs.values_list(f"{name}_id" if name != CALIBRATION else name, flat=True))
        before = [(shown(name, v), n) for v, n in counts.most_common(8)]
        rest = sum(counts.values()) - sum(n for _, n in before)
        preview.fields.append(
            {"label": LABELS[name], "before": before, "more": rest, "after": shown(name, value)}
        )
    rows = list(qs.select_related("device").order_by("id")[:SAMPLE_ROWS])
    parents = child_parents(rows)
    for rec in rows:
        after = after_values(rec, spec.changes, parents)
        preview.sample.append(
            {
                "noise_id": rec.noise_id,
                "name": rec.name,
                "changes": [
                    (LABELS[n], shown(n, _current(rec, n)), shown(n, v))
                    for n, v in after.items()
                    if _current(rec, n) != v
                ],
            }
        )
    cleared = [LABELS[c] for c, p in PARENTS.items() if p in spec.changes and c not in spec.changes]
    if cleared:
        preview.notes.append(
            f"A {' or '.join(cleared)} that does not belong to the new value is cleared."
        )
    if CALIBRATION in spec.changes or "device" in spec.changes:
        preview.notes.append(
            "Where the calibration offset changes, levels change unit and value: recordings "
            "with audio are measured again; those without have their levels shifted by the "
            "difference of the offsets."
        )


# --- Running ---------------------------------------------------------------------------------


def bulk_create(*, spec: BulkSpec, user: User, preview: Preview) -> BulkChange:
    """The bulk change to run, for the selection the preview saw (ids up to its max_id)."""
    from noisebank.curation.tasks import run_bulk_change

    job = BulkChange.objects.create(
        user=user,
        operation=spec.operation,
        changes=dict(spec.changes),
        noise_ids=list(spec.noise_ids),
        filters=[list(p) for p in spec.filters],
        max_id=preview.max_id,
        total=preview.total,
    )
    if preview.total > INLINE_MAX:
        transaction.on_commit(lambda: run_bulk_change.enqueue(str(job.pk)))
    return job


def _spec_of(job: BulkChange) -> BulkSpec:
    return BulkSpec(
        job.operation,
        dict(job.changes),
        tuple(job.noise_ids),
        tuple((k, v) for k, v in job.filters),
    )


def _batches(job: BulkChange, user: User) -> Iterator[tuple[list[int], int]]:
    """(ids found, ticked ids not found) a batch at a time, in id order, up to max_id."""
    spec = _spec_of(job)
    if spec.noise_ids:
        for start in range(0, len(spec.noise_ids), BATCH):
            wanted = spec.noise_ids[start : start + BATCH]
            ids = list(
                Recording.objects.filter(noise_id__in=wanted, id__lte=job.max_id)
                .order_by("id")
                .values_list("id", flat=True)
            )
            yield ids, len(wanted) - len(ids)
        return
    qs = selection(spec, user).filter(id__lte=job.max_id).order_by("id")
    last = 0
    while True:
        ids = list(qs.filter(id__gt=last).values_list("id", flat=True)[:BATCH])
        if not ids:
            return
        yield ids, 0
        last = ids[-1]


def bulk_release(job_id: Any) -> bool:
    """Put a running bulk change back in the queue: its worker stopped or died, and its task is
    queued again (noisebank.ops.worker). Each batch was applied whole or not at all, and applying
    a batch again changes nothing more, so the re-run starts from the first batch with fresh
    counts (recordings the first run changed then count as unchanged)."""
    return bool(
        BulkChange.objects.filter(pk=job_id, status=BulkChange.Status.RUNNING).update(
            status=BulkChange.Status.QUEUED, done=0, changed=0, unchanged=0, missing=0, requeued=0
        )
    )


def bulk_run(job_id: Any) -> str:
    """Run a queued bulk change to its end; the status it ended in."""
    claimed = BulkChange.objects.filter(pk=job_id, status=BulkChange.Status.QUEUED).update(
        status=BulkChange.Status.RUNNING
    )
    job = BulkChange.objects.select_related("user").filter(pk=job_id).first()
    if job is None or not claimed:
        return job.status if job else "deleted"
    user = job.user
    batch_no = 0
    try:
        if user is None:
            raise PermissionError("the user who asked for it no longer exists")
        for ids, missing in _batches(job, user):
            batch_no += 1
            with transaction.atomic():
                counts = _apply(job, user, ids)
                BulkChange.objects.filter(pk=job.pk).update(
                    done=job.done + len(ids) + missing,
                    changed=job.changed + counts["changed"],
                    unchanged=job.unchanged + counts["unchanged"],
                    missing=job.missing + missing + counts["missing"],
                    requeued=job.requeued + counts["requeued"],
                )
            job.refresh_from_db()
    except Exception as e:
        BulkChange.objects.filter(pk=job.pk).update(
            status=BulkChange.Status.FAILED,
            finished_at=timezone.now(),
            error=(
                f"Stopped at batch {batch_no} ({type(e).__name__}: {e}); that batch was undone. "
                f"The batches before it were applied; the rest of the selection was not."
            ),
        )
        return BulkChange.Status.FAILED
    BulkChange.objects.filter(pk=job.pk).update(
        status=BulkChange.Status.DONE, finished_at=timezone.now()
    )
    return BulkChange.Status.DONE


def _apply(job: BulkChange, user: User, ids: list[int]) -> dict[str, int]:
    recs = list(Recording.objects.select_for_update().filter(pk__in=ids).order_by("id"))
    counts = {"changed": 0, "unchanged": 0, "missing": len(ids) - len(recs), "requeued": 0}
    now = timezone.now()
    if job.operation == Operation.DELETE:
        entries = [
            RecordingChange(
                recording=r, noise_id=r.noise_id, user=user, at=now,
                kind=RecordingChange.Kind.DELETE, field="recording", before=r.name,
                after="deleted", batch=job.pk,
            )
            for r in recs
        ]  # fmt: skip
        RecordingChange.objects.bulk_create(entries)
        for r in recs:
            recording_delete(recording=r)
        counts["changed"] = len(recs)
        return counts
    if job.operation == Operation.REPROCESS:
        result = recordings_reprocess(recs)
        queued = [r for r in recs if r.audio and r.status != Recording.Status.PROCESSING]
        RecordingChange.objects.bulk_create(
            RecordingChange(
                recording=r, noise_id=r.noise_id, user=user, at=now,
                kind=RecordingChange.Kind.REPROCESS, field="status", before=r.status,
                after=Recording.Status.PENDING, batch=job.pk,
            )
            for r in queued
        )  # fmt: skip
        counts["changed"] = counts["requeued"] = result.queued
        counts["unchanged"] = len(recs) - result.queued
        return counts
    return _apply_set(job, user, recs, counts, now)


def _apply_set(
    job: BulkChange, user: User, recs: list[Recording], counts: dict[str, int], now: Any
) -> dict[str, int]:
    parents = child_parents(recs)
    offsets = device_offsets()
    shown = Names()
    changed: list[Recording] = []
    entries: list[RecordingChange] = []
    remeasure: list[Recording] = []
    shifts: dict[int, tuple[float | None, float | None]] = {}
    touched: set[str] = set()
    for rec in recs:
        after = after_values(rec, job.changes, parents)
        diffs = []
        for name, value in after.items():
            attr = name if name == CALIBRATION else f"{name}_id"
            if getattr(rec, attr) != value:
                diffs.append((name, getattr(rec, attr), value))
        if not diffs:
            counts["unchanged"] += 1
            continue
        old_eff = effective_calibration(rec, {}, offsets)
        new_eff = effective_calibration(rec, after, offsets)
        for name, before, value in diffs:
            setattr(rec, name if name == CALIBRATION else f"{name}_id", value)
            touched.add(name if name == CALIBRATION else f"{name}_id")
            entries.append(
                RecordingChange(
                    recording=rec, noise_id=rec.noise_id, user=user, at=now,
                    kind=RecordingChange.Kind.BULK, field=LABELS[name],
                    before=shown(name, before), after=shown(name, value), batch=job.pk,
                )
            )  # fmt: skip
        rec.updated_at = now
        changed.append(rec)
        if old_eff != new_eff:
            if rec.audio:
                remeasure.append(rec)
            else:
                shifts[rec.pk] = (old_eff, new_eff)
    if changed:
        Recording.objects.bulk_update(changed, [*sorted(touched), "updated_at"])
        RecordingChange.objects.bulk_create(entries)
    if shifts:
        levels_recalibrate(shifts)
    if remeasure:
        counts["requeued"] = recordings_reprocess(remeasure).queued
    counts["changed"] = len(changed)
    return counts
