"""noisebank import FOLDER [--manifest FILE.csv] [--collector USERNAME]"""

import sys
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from noisebank.accounts.roles import can_upload
from noisebank.ingest.manifest import ManifestInvalid, read_manifest
from noisebank.ingest.services import UploadRejected, recording_create
from noisebank.lib.progress import ProgressBar

AUDIO_SUFFIXES = {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".mp4", ".aac"}


class Command(BaseCommand):
    help = (
        "Import the audio files of a folder (and its sub-folders) through the upload service; "
        "the worker measures them. With --manifest, only the files the CSV lists, with its "
        "metadata. Exit status 1 if any file was rejected for a reason other than being a "
        "duplicate, so a re-run of a finished import succeeds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument("--manifest", type=Path, help="CSV: a `file` column plus metadata.")
        parser.add_argument("--collector", help="User name the recordings belong to.")

    def handle(self, *args: Any, folder: Path, manifest: Path | None, **options: Any) -> None:
        folder = folder.expanduser().resolve()
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder.")
        collector = self._collector(options.get("collector"))
        jobs = self._jobs(folder, manifest)
        if not jobs:
            raise CommandError(f"No audio files found in {folder}.")
        bar = ProgressBar(len(jobs), label="Importing", stream=sys.stderr)
        imported: list[str] = []
        duplicates: list[tuple[str, str]] = []
        rejected: list[tuple[str, str]] = []
        for done, (shown, path, metadata, problem) in enumerate(jobs, start=1):
            if problem:
                rejected.append((shown, problem))
            else:
                assert path is not None
                try:
                    created = recording_create(
                        file=path, filename=path.name, metadata=metadata, collector=collector
                    )
                    imported.append(created.recording.noise_id)
                except UploadRejected as e:
                    (duplicates if e.kind == "duplicate" else rejected).append((shown, e.reason))
            bar.update(done)
        bar.close()
        for shown, reason in rejected:
            self.stderr.write(f"rejected  {shown}: {reason}")
        self.stdout.write(
            f"Imported {len(imported)} file(s); {len(duplicates)} already in the catalogue; "
            f"{len(rejected)} rejected. The worker measures the new recordings "
            "(noisebank worker)."
        )
        if rejected:
            sys.exit(1)

    def _collector(self, username: str | None) -> Any:
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        if not can_upload(user):
            raise CommandError(f"{username} cannot upload (needs the collector role or higher).")
        return user

    def _jobs(
        self, folder: Path, manifest: Path | None
    ) -> list[tuple[str, Path | None, dict[str, str], str | None]]:
        """(name shown, file, metadata, reason it cannot be taken) for every file to import."""
        if manifest is None:
            files = sorted(
                p
                for p in folder.rglob("*")
                if p.is_file()
                and p.suffix.lower() in AUDIO_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(folder).parts)
            )
            return [(str(p.relative_to(folder)), p, {}, None) for p in files]
        try:
            rows = read_manifest(manifest.expanduser().read_bytes())
        except OSError as e:
            raise CommandError(f"Cannot read the manifest: {e.strerror}.") from e
        except ManifestInvalid as e:
            raise CommandError(f"{manifest}: {e.reason}") from e
        jobs: list[tuple[str, Path | None, dict[str, str], str | None]] = []
        for row in rows:
            shown = f"{row.file} (line {row.line})"
            target = (folder / row.file).resolve()
            if not target.is_relative_to(folder):
                jobs.append((shown, None, {}, "The manifest names a file outside the folder."))
            elif not target.is_file():
                jobs.append((shown, None, {}, "No such file in the folder."))
            else:
                jobs.append((shown, target, row.metadata, None))
        return jobs
