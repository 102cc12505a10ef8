"""`noisebank backup DIR` and `noisebank restore DIR`: the database and the audio files.

A backup folder holds:
    database.dump     PostgreSQL: pg_dump's custom format (restored with pg_restore)
    database.sqlite3  SQLite: a consistent copy made with SQLite's online backup API
    media.tar         MEDIA_ROOT (the audio), when files are stored locally
    manifest.json     versions, row counts, and the size and sha256 of every file; written last,
                      so a folder without it is an unfinished backup

Finished export files are not backed up: they expire anyway (NOISEBANK_EXPORT_TTL_HOURS) and
can be made again. With NOISEBANK_STORAGE=s3 the audio lives in the bucket, whose versioning or
replication is its backup; the manifest says so.

Restore refuses a database or media folder that holds anything unless `force` is given, checks
every checksum before it touches anything, and refuses a dump of another database engine.
"""

import hashlib
import json
import os
import platform
import sqlite3
import subprocess
import tarfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.recorder import MigrationRecorder

from noisebank import __version__

MANIFEST = "manifest.json"
FORMAT = 1
# Tables whose rows make a database "not empty" for restore.
_CONTENT_TABLES = ("auth_user", "catalog_recording")


class BackupError(Exception):
    pass


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _file_entry(path: Path) -> dict[str, Any]:
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256_of(path)}


def _pg_env(db: dict[str, Any]) -> dict[str, str]:
    """libpq's environment for the database: no password on a command line."""
    env = dict(os.environ)
    for var, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER")):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    if db.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = db["OPTIONS"]["sslmode"]
    return env


def _run(cmd: list[str], env: dict[str, str]) -> str:
    try:
        result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    except FileNotFoundError:
        raise BackupError(
            f"{cmd[0]} is not installed; it comes with the PostgreSQL client "
            "(Debian: apt-get install postgresql-client)."
        ) from None
    if result.returncode != 0:
        raise BackupError(f"{cmd[0]} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def _vendor() -> str:
    return connections[DEFAULT_DB_ALIAS].vendor


def _server_version() -> str:
    conn = connections[DEFAULT_DB_ALIAS]
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        return str(cursor.fetchone()[0])


def table_rows() -> dict[str, int]:
    """Rows of the tables that make a database 'not empty' (missing tables count 0)."""
    conn = connections[DEFAULT_DB_ALIAS]
    existing = set(conn.introspection.table_names())
    counts = {}
    with conn.cursor() as cursor:
        for table in _CONTENT_TABLES:
            if table in existing:
                # A name from _CONTENT_TABLES, quoted: nothing from outside reaches this SQL.
                cursor.execute(f"SELECT COUNT(*) FROM {conn.ops.quote_name(table)}")  # noqa: S608
                counts[table] = int(cursor.fetchone()[0])
            else:
                counts[table] = 0
    return counts


def _latest_migrations() -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connections[DEFAULT_DB_ALIAS]).applied_migrations():
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


def _dump_database(folder: Path) -> dict[str, Any]:
    db = settings.DATABASES[DEFAULT_DB_ALIAS]
    if _vendor() == "postgresql":
        target = folder / "database.dump"
        tool = _run(["pg_dump", "--version"], _pg_env(db)).strip()
        _run(
            ["pg_dump", "--format=custom", "--no-owner", "--file", str(target), str(db["NAME"])],
            _pg_env(db),
        )
    elif _vendor() == "sqlite":
        target = folder / "database.sqlite3"
        tool = f"sqlite3 backup API, SQLite {sqlite3.sqlite_version}"
        source = sqlite3.connect(str(db["NAME"]))
        copy = sqlite3.connect(str(target))
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
    else:
        raise BackupError(f"backups of {_vendor()} databases are not supported")
    return {
        "vendor": _vendor(),
        "server_version": _server_version(),
        "tool": tool,
        **_file_entry(target),
    }


def _archive_media(folder: Path) -> dict[str, Any]:
    if settings.NOISEBANK_STORAGE != "local":
        return {
            "storage": settings.NOISEBANK_STORAGE,
            "note": "audio files live in object storage; back up the bucket there",
        }
    root = Path(settings.MEDIA_ROOT)
    target = folder / "media.tar"
    files = 0
    with tarfile.open(target, "w") as tar:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    tar.add(path, arcname=path.relative_to(root).as_posix(), recursive=False)
                    files += 1
    return {"storage": "local", "files": files, **_file_entry(target)}


def backup_create(*, directory: Path, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Write a backup into `directory` (new or empty); returns the manifest."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} is not empty; give a new folder for each backup")
    directory.mkdir(parents=True, exist_ok=True)
    say(f"Dumping the {_vendor()} database …")
    database = _dump_database(directory)
    say("Archiving the media folder …")
    media = _archive_media(directory)
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "noisebank_version": __version__,
        "django_version": django.get_version(),
        "python_version": platform.python_version(),
        "database": database,
        "migrations": _latest_migrations(),
        "rows": table_rows(),
        "media": media,
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise BackupError(f"{directory} holds no {MANIFEST}: not a (finished) Noisebank backup")
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except ValueError as e:
        raise BackupError(f"{path} is not valid JSON: {e}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: unknown backup format {manifest.get('format')!r}")
    return manifest


def verify(directory: Path, manifest: dict[str, Any]) -> None:
    for part in ("database", "media"):
        entry = manifest[part]
        if "file" not in entry:
            continue
        path = Path(directory) / entry["file"]
        if not path.is_file():
            raise BackupError(f"{path} is missing")
        if path.stat().st_size != entry["bytes"] or sha256_of(path) != entry["sha256"]:
            raise BackupError(f"{path} does not match its checksum in the manifest: damaged")


def _restore_database(directory: Path, entry: dict[str, Any]) -> None:
    db = settings.DATABASES[DEFAULT_DB_ALIAS]
    source = Path(directory) / entry["file"]
    connections.close_all()
    if entry["vendor"] == "postgresql":
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                str(db["NAME"]),
                str(source),
            ],
            _pg_env(db),
        )
    else:
        backup = sqlite3.connect(str(source))
        target = sqlite3.connect(str(db["NAME"]))
        try:
            backup.backup(target)
        finally:
            target.close()
            backup.close()


def _media_is_empty() -> bool:
    root = Path(settings.MEDIA_ROOT)
    return not root.is_dir() or not any(p.is_file() for p in root.rglob("*"))


def _restore_media(directory: Path, entry: dict[str, Any]) -> None:
    root = Path(settings.MEDIA_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(Path(directory) / entry["file"]) as tar:
        # "data": no absolute paths, no escaping the folder, no devices or odd permissions.
        tar.extractall(root, filter="data")


def backup_restore(
    *, directory: Path, force: bool = False, say: Callable[[str], None] = print
) -> dict[str, Any]:
    manifest = read_manifest(directory)
    if manifest["database"]["vendor"] != _vendor():
        raise BackupError(
            f"this backup holds a {manifest['database']['vendor']} database; "
            f"this install uses {_vendor()}"
        )
    say("Checking the backup's checksums …")
    verify(directory, manifest)
    if not force:
        rows = {table: n for table, n in table_rows().items() if n}
        if rows:
            held = ", ".join(f"{n:,} rows in {table}" for table, n in rows.items())
            raise BackupError(
                f"the database is not empty ({held}); restoring would replace it. "
                "Use --force to replace it anyway."
            )
        if "file" in manifest["media"] and not _media_is_empty():
            raise BackupError(
                f"{settings.MEDIA_ROOT} already holds files; use --force to restore over them."
            )
    say(f"Restoring the {_vendor()} database …")
    _restore_database(directory, manifest["database"])
    if "file" in manifest["media"]:
        say(f"Restoring {manifest['media']['files']:,} media files …")
        _restore_media(directory, manifest["media"])
    return manifest
