import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from noisebank.catalog import demo
from noisebank.catalog.models import Recording
from noisebank.lib.progress import ProgressBar


class Command(BaseCommand):
    help = (
        "Create the demo taxonomy, the demo users and N synthetic recordings "
        "(plus a few with real synthesised audio)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--count", type=int, default=23_453, help="Recordings to add (default 23,453)."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing if the catalogue already holds recordings (used by `noisebank demo`).",
        )
        parser.add_argument("--seed", type=int, default=20261128, help="Random seed.")
        parser.add_argument(
            "--audio",
            type=int,
            default=len(demo.AUDIO_DEMOS),
            help="Recordings with real synthesised audio, queued for the worker "
            f"(default {len(demo.AUDIO_DEMOS)}, at most {len(demo.AUDIO_DEMOS)}).",
        )
        parser.add_argument(
            "--password",
            default=None,
            help="Password of the demo logins "
            "(default: $NOISEBANK_DEMO_PASSWORD or noisebank-demo).",
        )

    def handle(
        self, *args: Any, count: int, if_empty: bool, seed: int, audio: int, **options: Any
    ) -> None:
        if count < 0:
            self.stderr.write("--count must be zero or more.")
            sys.exit(2)
        password = options["password"] or demo.demo_password()
        demo.ensure_demo_users(password)
        existing = Recording.objects.count()
        if if_empty and existing:
            self.stdout.write(f"The catalogue already holds {existing:,} recordings; not seeding.")
            return
        started = time.monotonic()
        bar = ProgressBar(count, label="Seeding", stream=sys.stderr)
        written = demo.seed_recordings(count, seed=seed, progress=bar.update)
        bar.close()
        seconds = time.monotonic() - started
        self.stdout.write(
            f"Seeded {written:,} recordings in {seconds:.1f} s "
            f"({written / max(seconds, 1e-9):,.0f}/s); the catalogue holds {existing + written:,}."
        )
        if audio > 0:
            started = time.monotonic()
            made, problems = demo.seed_audio_recordings(audio)
            self.stdout.write(
                f"Added {made} recordings with synthesised audio in "
                f"{time.monotonic() - started:.1f} s; the worker measures them."
            )
            for problem in problems:
                self.stderr.write(f"Demo audio not added: {problem}")
