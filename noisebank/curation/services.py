"""Review decisions and the audit log.

    recordings_review(noise_ids=[…], decision="accepted", note="", reviewer=user)
    recording_resubmit(recording=rec, user=collector)       # a collector's edit: back in the queue
    changes_log(...)                                         # one audit entry per field changed

A decision is one transaction over the rows it locks; recordings deleted meanwhile, already
in that state or uploaded by the reviewer are reported, not decided. Collectors hear of
decisions by e-mail once the transaction has committed (and on their "My recordings" page).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from noisebank.accounts.roles import can_review, is_admin
from noisebank.catalog.models import Recording
from noisebank.curation.models import RecordingChange

log = logging.getLogger(__name__)
Review = Recording.Review

DECISIONS = (Review.ACCEPTED, Review.REJECTED, Review.CHANGES_REQUESTED)
# A decision that must say why: the collector reads it.
NOTE_REQUIRED = {
    Review.REJECTED: "Say why it is rejected: the collector reads it.",
    Review.CHANGES_REQUESTED: "Say which changes are needed: the collector reads it.",
}
MAX_NOTE = 2000


class ReviewRefused(ValueError):
    """A decision that cannot be made at all (bad decision, missing reason)."""


@dataclass
class ReviewResult:
    decision: str
    decided: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # already in that state
    missing: list[str] = field(default_factory=list)  # deleted meanwhile, or never there
    own: list[str] = field(default_factory=list)  # the reviewer's own uploads

    def summary(self) -> list[str]:
        """Sentences for the reviewer, one per kind of outcome."""
        label = Review(self.decision).label.lower()
        out = []
        if self.decided:
            out.append(f"{_count(self.decided)} {label}: {_names(self.decided)}.")
        if self.unchanged:
            out.append(f"Already {label}, left as it was: {_names(self.unchanged)}.")
        if self.missing:
            out.append(
                f"Deleted meanwhile, nothing decided: {_names(self.missing)}."
                if len(self.missing) > 1
                else f"{self.missing[0]} was deleted meanwhile; nothing was decided for it."
            )
        if self.own:
            out.append(
                f"Not decided: you uploaded {_names(self.own)}; another reviewer must review "
                f"{'them' if len(self.own) > 1 else 'it'}."
            )
        return out


def _count(ids: Sequence[str]) -> str:
    return "1 recording" if len(ids) == 1 else f"{len(ids)} recordings"


def _names(ids: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def recordings_review(
    *, noise_ids: Sequence[str], decision: str, note: str = "", reviewer: User
) -> ReviewResult:
    """Accept, reject or ask for changes to recordings, all in one transaction."""
    if not can_review(reviewer):
        raise PermissionDenied("Deciding on recordings needs the reviewer role.")
    if decision not in DECISIONS:
        choices = ", ".join(DECISIONS)
        raise ReviewRefused(f"decision={decision[:40]}: use {choices}.")
    note = note.strip()
    if not note and decision in NOTE_REQUIRED:
        raise ReviewRefused(NOTE_REQUIRED[Review(decision)])
    if len(note) > MAX_NOTE:
        raise ReviewRefused(
            f"The note is {len(note):,} characters long; keep it under {MAX_NOTE:,}."
        )
    result = ReviewResult(decision)
    wanted = list(dict.fromkeys(noise_ids))
    if not wanted:
        raise ReviewRefused("Choose at least one recording.")
    now = timezone.now()
    with transaction.atomic():
        found = {
            r.noise_id: r
            for r in Recording.objects.select_for_update()
            .filter(noise_id__in=wanted)
            .only("id", "noise_id", "name", "collector_id", "review_state", "review_note")
        }
        changes = []
        decided_ids = []
        for noise_id in wanted:
            rec = found.get(noise_id)
            if rec is None:
                result.missing.append(noise_id)
            elif rec.collector_id == reviewer.pk and not is_admin(reviewer):
                result.own.append(noise_id)
            elif rec.review_state == decision and rec.review_note == note:
                result.unchanged.append(noise_id)
            else:
                result.decided.append(noise_id)
                decided_ids.append(rec.pk)
                changes.append(
                    RecordingChange(
                        recording=rec, noise_id=noise_id, user=reviewer, at=now,
                        kind=RecordingChange.Kind.REVIEW, field="review_state",
                        before=rec.review_state, after=decision, note=note,
                    )
                )  # fmt: skip
        if decided_ids:
            Recording.objects.filter(pk__in=decided_ids).update(
                review_state=decision,
                review_note=note,
                reviewed_by=reviewer,
                reviewed_at=now,
                updated_at=now,
            )
            RecordingChange.objects.bulk_create(changes)
            ids = list(decided_ids)
            transaction.on_commit(lambda: notify_collectors(ids, decision, note, reviewer))
    log.info(
        "review: %s %d recording(s)", decision, len(result.decided),
        extra={"event": "review", "decision": decision, "recordings": len(result.decided)},
    )  # fmt: skip
    return result


def recording_resubmit(*, recording: Recording, user: User, reason: str) -> bool:
    """Back to submitted after a change by its collector, so a reviewer sees it again: an
    accepted recording whose metadata its collector changes is reviewed again, and one whose
    collector made the changes asked for goes back to the queue. False if it was submitted."""
    before = recording.review_state
    if before == Review.SUBMITTED:
        return False
    now = timezone.now()
    with transaction.atomic():
        Recording.objects.filter(pk=recording.pk).update(
            review_state=Review.SUBMITTED, updated_at=now
        )
        RecordingChange.objects.create(
            recording=recording, noise_id=recording.noise_id, user=user, at=now,
            kind=RecordingChange.Kind.REVIEW, field="review_state", before=before,
            after=Review.SUBMITTED, note=reason,
        )  # fmt: skip
    recording.review_state = Review.SUBMITTED
    return True


def changes_log(
    *,
    recording: Recording,
    user: User | None,
    kind: str,
    changes: Iterable[tuple[str, Any, Any]],
    batch: UUID | None = None,
    note: str = "",
) -> list[RecordingChange]:
    """One audit entry per (field, before, after) that differ."""
    now = timezone.now()
    entries = [
        RecordingChange(
            recording=recording if recording.pk else None,
            noise_id=recording.noise_id,
            user=user,
            at=now,
            kind=kind,
            field=name,
            before=_shown(before),
            after=_shown(after),
            batch=batch,
            note=note,
        )
        for name, before, after in changes
        if _shown(before) != _shown(after)
    ]
    return RecordingChange.objects.bulk_create(entries)


EDITABLE = (
    "name", "description", "dataset_type", "category", "sound_class", "subclass", "region",
    "community", "time_of_day", "device", "microphone_type", "latitude", "longitude",
    "recorded_at", "calibration_offset_db",
)  # fmt: skip


def recording_fields(rec: Recording) -> dict[str, str]:
    """The editable fields of a recording as people read them (names, not ids): an audit
    entry's before and after."""
    out = {}
    for name in EDITABLE:
        value = getattr(rec, name)
        if hasattr(value, "name") and not isinstance(value, str):
            value = value.name
        out[name] = _shown(value)
    return out


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# --- Telling collectors ---------------------------------------------------------------------

SUBJECTS = {
    Review.ACCEPTED: "accepted",
    Review.REJECTED: "rejected",
    Review.CHANGES_REQUESTED: "changes requested",
}
WHAT_NEXT = {
    Review.ACCEPTED: "They are now in the catalogue and in researchers' exports.",
    Review.REJECTED: "They stay out of the catalogue and the exports.",
    Review.CHANGES_REQUESTED: (
        "Open each one, make the changes and save: it goes back to the reviewers."
    ),
}


def notify_collectors(
    recording_ids: Sequence[int], decision: str, note: str, reviewer: User
) -> int:
    """One e-mail per collector listing their recordings that got this decision; how many
    were sent. A mail server that is down is logged, never fails the decision."""
    by_collector: dict[User, list[Recording]] = defaultdict(list)
    recs = (
        Recording.objects.filter(pk__in=recording_ids, collector__isnull=False)
        .select_related("collector")
        .only(
            "noise_id", "name", "collector__email", "collector__username", "collector__first_name"
        )
        .order_by("id")
    )
    for rec in recs:
        if rec.collector and rec.collector.email:
            by_collector[rec.collector].append(rec)
    sent = 0
    base = settings.NOISEBANK_BASE_URL.rstrip("/")
    for collector, own in by_collector.items():
        n = len(own)
        subject = (
            f"Noisebank: {own[0].noise_id} {SUBJECTS[Review(decision)]}"
            if n == 1
            else f"Noisebank: {n} of your recordings {SUBJECTS[Review(decision)]}"
        )
        lines = [
            f"Hello {collector.first_name or collector.get_username()},",
            "",
            f"{reviewer.get_full_name() or reviewer.get_username()} reviewed "
            f"{'your recording' if n == 1 else f'{n} of your recordings'}: "
            f"{SUBJECTS[Review(decision)]}.",
        ]
        if note:
            lines += ["", "Note from the reviewer:", note]
        lines += ["", WHAT_NEXT[Review(decision)], ""]
        lines += [
            f"- {r.noise_id}  {r.name}\n  {base}{reverse('recording-detail', args=[r.noise_id])}"
            for r in own
        ]
        lines += ["", f"All your recordings and their review: {base}{reverse('my-recordings')}"]
        try:
            send_mail(subject, "\n".join(lines), None, [collector.email])
        except Exception:
            log.exception("could not e-mail %s about a review decision", collector.get_username())
            continue
        sent += 1
    return sent
