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
