"""Export jobs: an export run by the worker for the web page, with progress, cancel and history.

The life of a job (noisebank.exports.jobs): queued -> running -> done | failed | cancelled;
a finished file expires after NOISEBANK_EXPORT_TTL_HOURS (expired).
"""

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExportJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"
        CANCELLED = "cancelled"
        EXPIRED = "expired"

    UNFINISHED = (Status.QUEUED, Status.RUNNING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    format = models.CharField(max_length=16)
    # The filter's query items [[name, value], ...] (RecordingFilter.query_items): they parse
    # back to exactly this selection.
    filters = models.JSONField(default=list)
    columns = models.JSONField(default=list)  # column names, in order
    options = models.JSONField(default=dict)  # bom, folder_template, metadata, dataset
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.BigIntegerField(null=True, blank=True)
    rows_done = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(null=True, blank=True)
    # The finished file's name in the "exports" storage; another job may share it (reuse).
    file_name = models.CharField(max_length=255, blank=True)
    download_name = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    # Same selection, columns, format, options and data: the finished file can be reused.
    fingerprint = models.CharField(max_length=64, db_index=True)
    task_id = models.CharField(max_length=64, blank=True)
    worker_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # History and the panel's "newest unfinished job": WHERE owner = ? ORDER BY created.
            models.Index(fields=["owner", "-created_at"], name="exportjob_owner_created_idx"),
            # Stale-job sweeps and the cleanup: WHERE status IN (...).
            models.Index(fields=["status", "finished_at"], name="exportjob_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.format} export {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in self.UNFINISHED

    @property
    def expires_at(self) -> Any:
        if self.status != self.Status.DONE or self.finished_at is None:
            return None
        return self.finished_at + timedelta(hours=settings.NOISEBANK_EXPORT_TTL_HOURS)

    @property
    def duration(self) -> timedelta | None:
        """From the click to the file: what the user waited."""
        if self.finished_at is None:
            return None
        return self.finished_at - self.created_at

    def filter_summary(self) -> str:
        if not self.filters:
            return "All recordings"
        from noisebank.catalog.filters import TAXON_PARAMETERS

        grouped: dict[str, list[str]] = {}
        for name, value in self.filters:
            grouped.setdefault(name, []).append(value)
        for name, values in grouped.items():
            # The catalogue's form sends ids: say the names (a deleted one keeps its id).
            if name in TAXON_PARAMETERS:
                model, _, name_field = TAXON_PARAMETERS[name]
                ids = [int(v) for v in values if v.isascii() and v.isdigit()]
                names = dict(
                    model._default_manager.filter(pk__in=ids).values_list("pk", name_field)
                )
                grouped[name] = [
                    str(names.get(int(v), v)) if v.isascii() and v.isdigit() else v for v in values
                ]
        return "; ".join(f"{k}: {', '.join(v)}" for k, v in grouped.items())
