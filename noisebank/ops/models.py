from django.db import models
from django.utils import timezone


class WorkerHeartbeat(models.Model):
    """One row per running `noisebank worker` process, touched every few seconds.

    A process that stops cleanly deletes its row; one that died leaves it to go stale and to be
    pruned by the others (noisebank.ops.heartbeat).
    """

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            # Health and metrics: WHERE seen_at >= now - N; pruning: WHERE seen_at < now - M.
            models.Index(fields=["seen_at"], name="heartbeat_seen_idx"),
        ]

    def __str__(self) -> str:
        return self.worker_id
