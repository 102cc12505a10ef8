from typing import Any

from django.core.management.base import BaseCommand

from noisebank.exports.jobs import exports_cleanup


class Command(BaseCommand):
    help = (
        "Expire export files older than NOISEBANK_EXPORT_TTL_HOURS, delete temporary and "
        "orphaned export files, and fail jobs whose worker died. The worker runs this itself "
        "every NOISEBANK_EXPORT_CLEANUP_MINUTES (15)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        r = exports_cleanup()
        self.stdout.write(
            f"Expired {r.expired} export job(s); removed {r.files} file(s) and "
            f"{r.partial} temporary file(s); marked {r.stale} interrupted job(s) failed."
        )
