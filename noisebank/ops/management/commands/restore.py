from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from noisebank.ops.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `noisebank backup` into this install's database and media "
        "folder. Stop the web server and the workers first. Refuses a database or media folder "
        "that already holds data unless --force is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path, metavar="DIR")
        parser.add_argument(
            "--force", action="store_true", help="Replace a database that already holds data."
        )

    def handle(self, *args: Any, directory: Path, force: bool, **options: Any) -> None:
        try:
            manifest = backup_restore(directory=directory, force=force, say=self.stdout.write)
        except BackupError as e:
            raise CommandError(str(e)) from None
        self.stdout.write(
            f"Restored the backup of {manifest['created_at']} "
            f"(Noisebank {manifest['noisebank_version']}). "
            "Run `noisebank migrate` if this version is newer than the backup's."
        )
