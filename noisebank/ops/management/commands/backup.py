from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from noisebank.ops.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Back up the database and the audio files into DIR (a new or empty folder): "
        "pg_dump or SQLite's backup API, media.tar and a manifest with checksums."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, metavar="DIR")

    def handle(self, *args: Any, directory: Path, **options: Any) -> None:
        try:
            manifest = backup_create(directory=directory, say=self.stdout.write)
        except BackupError as e:
            raise CommandError(str(e)) from None
        db, media = manifest["database"], manifest["media"]
        files = f"{media['files']:,} media files" if "files" in media else media["note"]
        self.stdout.write(
            f"Backed up to {directory}: {db['vendor']} database ({db['bytes']:,} bytes), {files}."
        )
