"""The audit log of what reviewers, admins and collectors changed, and bulk changes."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from noisebank.catalog.models import Recording


class RecordingChange(models.Model):
    """One change to one recording: who, when, which field, before -> after (as shown to
    people: names, not ids). Kept when the recording is deleted (noise_id stays)."""

    class Kind(models.TextChoices):
        REVIEW = "review"
        EDIT = "edit"
        BULK = "bulk", "Bulk change"
        REPROCESS = "reprocess", "Re-process"
        DELETE = "delete"

    recording = models.ForeignKey(
        Recording, null=True, on_delete=models.SET_NULL, related_name="changes"
    )
    noise_id = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    field = models.CharField(max_length=64, blank=True)
    before = models.TextField(blank=True)
    after = models.TextField(blank=True)
    note = models.TextField(blank=True)  # a rejection's reason, the changes asked for
    # The bulk change this entry belongs to, if any.
    batch = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # A recording's page: its history, newest first.
            models.Index(fields=["recording", "at"], name="change_recording_idx"),
            # What one bulk change did.
            models.Index(fields=["batch"], name="change_batch_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.noise_id} {self.field}: {self.before} -> {self.after}"


def new_batch_id() -> uuid.UUID:
    return uuid.uuid4()


class BulkChange(models.Model):
    """One change to many recordings, from the catalogue: what, to which, and how it went.

    The selection is either noise ids or the catalogue's filters (as query parameters) read
    again when it runs, up to the highest id at the preview (recordings added later are left
    alone). It runs in batches of one transaction each; `report` says what each did.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    class Operation(models.TextChoices):
        SET = "set", "Change metadata"
        REPROCESS = "reprocess", "Re-process"
        DELETE = "delete"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    operation = models.CharField(max_length=12, choices=Operation.choices)
    # Field -> new value as an id, a number or None (cleared); for operation "set".
    changes = models.JSONField(default=dict)
    noise_ids = models.JSONField(default=list)
    filters = models.JSONField(default=list)  # [name, value] pairs, when noise_ids is empty
    max_id = models.BigIntegerField(default=0)
    total = models.IntegerField(default=0)
    done = models.IntegerField(default=0)  # recordings looked at so far
    changed = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    missing = models.IntegerField(default=0)  # deleted meanwhile
    requeued = models.IntegerField(default=0)  # queued for measuring again
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} of {self.total} recordings"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.done / self.total))
