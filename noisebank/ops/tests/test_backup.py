"""`noisebank backup` and `noisebank restore`, round trip, on the suite's database engine
(pg_dump/pg_restore on PostgreSQL, SQLite's backup API on SQLite), as an operator runs them."""

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from noisebank.ops.tests.servers import NOISEBANK, ROOT, base_env, fresh_database, query, run

MEDIA = {
    "audio/2026/03/pass-by 1.wav": os.urandom(150_000),
    "audio/2026/03/Übung.flac": os.urandom(20_000),
    "audio/2026/04/empty.wav": b"",
}


@dataclass
class Installs:
    tmp: Path
    source: str
    target: str
    source_env: dict[str, str]
    target_env: dict[str, str]
    backup: Path


def attempt(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NOISEBANK, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    with query(url) as q:
        return {
            "recordings": q(
                "SELECT id, noise_id, name, recorded_at FROM catalog_recording ORDER BY id"
            ),
            "levels": q("SELECT recording_id, laeq, la90 FROM catalog_noiseanalysis ORDER BY 1"),
            "users": q("SELECT username, password FROM auth_user ORDER BY username"),
            "groups": q("SELECT COUNT(*) FROM auth_user_groups"),
        }


def media_of(data: Path) -> dict[str, bytes]:
    root = data / "media"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def installs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installs]:
    tmp = tmp_path_factory.mktemp("backup")
    with fresh_database("bk_source", tmp) as source, fresh_database("bk_target", tmp) as target:
        source_env = base_env(tmp / "source", DATABASE_URL=source)
        target_env = base_env(tmp / "target", DATABASE_URL=target)
        run(["migrate", "-v", "0"], source_env)
        run(["seed", "--audio", "0", "--count", "50", "--password", "pw-1"], source_env)
        for name, body in MEDIA.items():
            path = tmp / "source" / "media" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)
        backup = tmp / "backups" / "first"
        run(["backup", str(backup)], source_env)
        yield Installs(tmp, source, target, source_env, target_env, backup)


def test_a_backup_holds_the_database_media_and_a_manifest_of_checksums(
    installs: Installs,
) -> None:
    manifest = json.loads((installs.backup / "manifest.json").read_text())
    db, media = manifest["database"], manifest["media"]
    expected = "database.dump" if installs.source.startswith("postgres") else "database.sqlite3"
    assert db["file"] == expected and db["vendor"] in ("postgresql", "sqlite")
    assert media == {
        "storage": "local",
        "files": 3,
        **{k: media[k] for k in ("file", "bytes", "sha256")},
    }
    for entry in (db, media):
        body = (installs.backup / entry["file"]).read_bytes()
        assert len(body) == entry["bytes"] and hashlib.sha256(body).hexdigest() == entry["sha256"]
    assert manifest["rows"]["catalog_recording"] == 50 and manifest["rows"]["auth_user"] >= 3
    latest = max(p.stem for p in (ROOT / "noisebank/catalog/migrations").glob("0*.py"))
    assert manifest["migrations"]["catalog"] == latest  # the schema the dump holds
    assert manifest["migrations"]["ops"] == "0001_worker_heartbeat"
    assert manifest["noisebank_version"] and manifest["django_version"].startswith("5.2")


def test_restore_into_an_empty_install_gives_back_the_same_data_and_files(
    installs: Installs,
) -> None:
    run(["restore", str(installs.backup)], installs.target_env)
    assert snapshot(installs.target) == snapshot(installs.source)
    assert media_of(installs.tmp / "target") == MEDIA
    # The restored install works on: new rows get new ids after the restored ones.
    run(["seed", "--audio", "0", "--count", "5", "--password", "pw-1"], installs.target_env)
    with query(installs.target) as q:
        assert q("SELECT COUNT(*), COUNT(DISTINCT id) FROM catalog_recording") == [(55, 55)]


def test_restore_refuses_an_install_that_holds_data_unless_forced(installs: Installs) -> None:
    refused = attempt(["restore", str(installs.backup)], installs.source_env)
    assert refused.returncode != 0
    assert "the database is not empty" in refused.stderr and "--force" in refused.stderr
    assert "rows in catalog_recording" in refused.stderr

    run(["seed", "--audio", "0", "--count", "3", "--password", "pw-1"], installs.source_env)
    run(["restore", "--force", str(installs.backup)], installs.source_env)
    with query(installs.source) as q:
        assert q("SELECT COUNT(*) FROM catalog_recording") == [(50,)]


def test_a_damaged_backup_is_refused_before_anything_is_touched(
    installs: Installs, tmp_path: Path
) -> None:
    damaged = tmp_path / "damaged"
    subprocess.run(["cp", "-r", str(installs.backup), str(damaged)], check=True)
    tar = damaged / "media.tar"
    body = bytearray(tar.read_bytes())
    body[700] ^= 0xFF
    tar.write_bytes(bytes(body))
    with fresh_database("bk_damaged", tmp_path) as url:
        env = base_env(tmp_path / "fresh", DATABASE_URL=url)
        run(["migrate", "-v", "0"], env)
        refused = attempt(["restore", str(damaged)], env)
        assert refused.returncode != 0
        assert "media.tar does not match its checksum in the manifest: damaged" in refused.stderr
        with query(url) as q:
            assert q("SELECT COUNT(*) FROM catalog_recording") == [(0,)]


def test_a_backup_needs_a_new_folder_and_a_restore_a_finished_backup(
    installs: Installs, tmp_path: Path
) -> None:
    again = attempt(["backup", str(installs.backup)], installs.source_env)
    assert again.returncode != 0 and "is not empty; give a new folder" in again.stderr
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "database.dump").write_bytes(b"...")
    unfinished = attempt(["restore", str(tmp_path / "half")], installs.target_env)
    assert unfinished.returncode != 0
    assert "holds no manifest.json: not a (finished) Noisebank backup" in unfinished.stderr


def test_a_backup_of_another_database_engine_is_refused(installs: Installs, tmp_path: Path) -> None:
    other = tmp_path / "other"
    subprocess.run(["cp", "-r", str(installs.backup), str(other)], check=True)
    manifest = json.loads((other / "manifest.json").read_text())
    theirs = "sqlite" if manifest["database"]["vendor"] == "postgresql" else "postgresql"
    manifest["database"]["vendor"] = theirs
    (other / "manifest.json").write_text(json.dumps(manifest))
    refused = attempt(["restore", "--force", str(other)], installs.target_env)
    assert refused.returncode != 0
    assert f"this backup holds a {theirs} database" in refused.stderr


def test_restore_into_a_freshly_migrated_install_replaces_its_empty_tables(
    installs: Installs, tmp_path: Path
) -> None:
    """What `docker compose up` leaves: the migrate service has run, nobody has logged in."""
    with fresh_database("bk_migrated", tmp_path) as url:
        env = base_env(tmp_path / "migrated", DATABASE_URL=url)
        run(["migrate", "-v", "0"], env)
        run(["restore", str(installs.backup)], env)
        restored = snapshot(url)
    assert restored["recordings"] == snapshot(installs.source)["recordings"][:50]
    assert len(restored["recordings"]) == 50


def test_backup_wipe_restore_drill_gives_back_byte_equal_exports(tmp_path: Path) -> None:
    """The drill an operator runs: export, back up, lose everything (database dropped, media
    folder deleted), restore into the same place, export again: the same bytes."""

    def exports(env: dict[str, str], into: Path) -> dict[str, str]:
        into.mkdir()
        sums = {}
        for fmt in ("csv", "jsonl", "xlsx", "zip"):
            out = into / f"all.{fmt}"
            run(["export", "--format", fmt, "--columns", "all", "--output", str(out)], env)
            if fmt in ("xlsx", "zip"):
                # Archives: each member's bytes; the members' timestamps and the bundle's own
                # manifest.json (when it was made) and the workbook's creation date are of today.
                with zipfile.ZipFile(out) as archive:
                    members = {n: archive.read(n) for n in archive.namelist()}
                if fmt == "zip":
                    assert any(n.endswith((".wav", ".flac")) for n in members)  # audio went in
                for volatile in ("manifest.json", "docProps/core.xml"):
                    members.pop(volatile, None)
                body = json.dumps({n: hashlib.sha256(b).hexdigest() for n, b in members.items()})
            else:
                body = out.read_bytes().decode("latin-1")
            sums[fmt] = hashlib.sha256(body.encode("latin-1", "replace")).hexdigest()
        return sums

    with fresh_database("bk_drill", tmp_path) as url:
        env = base_env(tmp_path / "site", DATABASE_URL=url)
        run(["migrate", "-v", "0"], env)
        run(["seed", "--audio", "2", "--count", "300", "--password", "pw-1"], env)
        before = exports(env, tmp_path / "before")
        run(["backup", str(tmp_path / "backup")], env)

    # Wiped: the database is gone (dropped, or its file deleted) and so is every media file.
    shutil.rmtree(tmp_path / "site" / "media")
    (tmp_path / "bk_drill.sqlite3").unlink(missing_ok=True)  # on PostgreSQL: dropped above
    assert not (tmp_path / "site" / "media").exists()
    with fresh_database("bk_drill", tmp_path) as url:
        run(["restore", str(tmp_path / "backup")], env)
        after = exports(env, tmp_path / "after")
    assert after == before
