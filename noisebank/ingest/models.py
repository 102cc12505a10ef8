"""Chunked uploads in progress: the bytes live in UPLOAD_ROOT/<id>.part until finished."""

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone


class ChunkedUpload(models.Model):
    """One file arriving in pieces. Its offset is the size of the part file, nothing else.

    Keeping no counter in the database means a chunk interrupted half way leaves a file whose
    length is exactly what arrived, and a client that asks for the offset resumes from there.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Expiry sweep: WHERE created_at < cutoff.
            models.Index(fields=["created_at"], name="upload_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.size} bytes)"

    @property
    def path(self) -> Path:
        return Path(settings.UPLOAD_ROOT) / f"{self.id}.part"

    @property
    def offset(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0
