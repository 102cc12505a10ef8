import argparse
import errno
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, BinaryIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from noisebank.catalog.filters import FilterError, ReviewAccess, parse_filters
from noisebank.exports.columns import resolve_columns
from noisebank.exports.services import (
    FORMATS,
    csv_options,
    export_open,
    writer_for,
)


def is_text(content_type: str) -> bool:
    return content_type.startswith("text/") or "json" in content_type


class Command(BaseCommand):
    help = (
        "Export the recordings matching the filters to a file or stdout, streamed from one "
        "consistent snapshot of the database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", "-f", default="csv", help=f"One of {', '.join(FORMATS)}.")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="A filter, as in the URL (category=Horn, laeq_min=80, recorded_from=2026-01-01);"
            " repeat it. A key given twice matches either value, as in the URL.",
        )
        parser.add_argument(
            "--columns", default="default", help="Column names and presets, comma-separated."
        )
        parser.add_argument(
            "--bom",
            action="store_true",
            help="CSV: start with a UTF-8 BOM, for Excel (turns --excel-safe on too).",
        )
        parser.add_argument(
            "--excel-safe",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="CSV: put a ' before text starting with = + - @ tab or CR, so Excel shows it as "
            "text (alters those values; the manifest says so). Default: on with --bom.",
        )
        parser.add_argument(
            "-o", "--output", help="Write here (atomically: a temporary name, then renamed)."
        )
        parser.add_argument(
            "--manifest", help="Also write the export's manifest (JSON, with sha256) here."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fmt = options["format"]
        params: dict[str, list[str]] = {}
        for item in options["filter"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--filter {item!r}: write it as KEY=VALUE.")
            params.setdefault(key.strip(), []).append(value)
        try:
            writer = writer_for(fmt)
            # The shell is the operator's: every review state may be asked for (review=).
            filters = parse_filters(params, access=ReviewAccess.everything())
            columns = resolve_columns(options["columns"])
            safety = csv_options(fmt, bom=options["bom"], excel_safe=options["excel_safe"])
        except FilterError as e:
            raise CommandError(" ".join(e.messages)) from None
        except ValueError as e:  # an unknown format or column, excel_safe where it means nothing
            raise CommandError(str(e)) from None
        output = options["output"]
        if not output and self.stdout.isatty() and not is_text(writer.content_type):
            raise CommandError(
                f"{fmt} is binary and stdout is a terminal; give -o FILE or redirect the output "
                "(noisebank export ... > file)."
            )

        started = time.monotonic()
        export = export_open(filters=filters, columns=columns, fmt=fmt, options=safety)
        digest = hashlib.sha256()
        size = 0
        try:
            if output:
                size = self._write_file(Path(output), export.chunks(), digest)
            else:
                out: BinaryIO = getattr(self.stdout._out, "buffer", sys.stdout.buffer)
                for chunk in export.chunks():
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                out.flush()
        finally:
            export.close()
        seconds = time.monotonic() - started
        manifest = {**export.manifest, "sha256": digest.hexdigest(), "size": size}
        if options["manifest"]:
            Path(options["manifest"]).write_text(json.dumps(manifest, indent=2) + "\n")
        self.stderr.write(
            f"Exported {export.row_count:,} rows ({fmt}, {size / 1e6:,.1f} MB) "
            f"{'to ' + output + ' ' if output else ''}in {seconds:.2f} s "
            f"({export.row_count / max(seconds, 1e-9):,.0f} rows/s); "
            f"snapshot {manifest['snapshot_at']}; sha256 {manifest['sha256']}"
        )

    def _write_file(self, path: Path, chunks: Any, digest: Any) -> int:
        directory = path.resolve().parent
        if not directory.is_dir():
            raise CommandError(f"-o {path}: the folder {directory} does not exist.")
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".part")
        size = 0
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException as e:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(e, OSError) and e.errno == errno.ENOSPC:
                raise CommandError(
                    f"-o {path}: the disk is full ({size / 1e6:,.1f} MB written before it "
                    "filled); the partial file is deleted. Free some space or export to "
                    "another folder."
                ) from None
            raise
        return size
