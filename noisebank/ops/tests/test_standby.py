"""A real PostgreSQL streaming standby as the `replica`: a private primary and its hot standby.

The test makes its own two-server cluster (initdb, pg_basebackup -R) in a temporary folder on
free ports, so the suite's server is untouched. To show where a read went, it pauses the
standby's replay and writes to the primary: what the standby has not replayed yet cannot be in
an answer read from it.
"""

import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from noisebank.ops.tests.servers import (
    Browser,
    Process,
    base_env,
    free_port,
    on_postgres,
    query,
    run,
    shared_tmpdir,
    start_noisebank,
    wait_until,
)

PASSWORD = "standby-test-pw"


def postgres_bin() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout
        if (Path(out.strip()) / "pg_ctl").exists():
            return Path(out.strip())
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


def as_server_user() -> list[str]:
    """PostgreSQL refuses to run as root: run it as `postgres` when the tests run as root."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups"]


@dataclass
class Cluster:
    primary: str
    standby: str
    url: str
    web: Process


def pg(bin_dir: Path, tool: str, *args: str) -> None:
    result = subprocess.run(
        [*as_server_user(), str(bin_dir / tool), *args], capture_output=True, text=True
    )
    assert result.returncode == 0, f"{tool} {' '.join(args)}:\n{result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    bin_dir = postgres_bin()
    if not on_postgres() or bin_dir is None:
        pytest.skip(
            "a streaming standby needs PostgreSQL's server programs: in the PostgreSQL pass"
        )
    folder = shared_tmpdir("noisebank-standby-")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    primary_dir, standby_dir = folder / "primary", folder / "standby"
    ports = {primary_dir: free_port(), standby_dir: free_port()}
    started: list[Path] = []
    web = None
    try:
        pg(
            bin_dir,
            "initdb",
            "-D",
            str(primary_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        )
        settings = (
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{folder}'\n"
            "fsync = off\n"  # a throwaway cluster
        )
        with (primary_dir / "postgresql.conf").open("a") as conf:
            conf.write(settings + f"port = {ports[primary_dir]}\n")
        pg(
            bin_dir,
            "pg_ctl",
            "-D",
            str(primary_dir),
            "-l",
            str(folder / "primary.log"),
            "-w",
            "start",
        )
        started.append(primary_dir)
        pg(
            bin_dir,
            "pg_basebackup",
            "-h", "127.0.0.1", "-p", str(ports[primary_dir]), "-U", "postgres",
            "-D", str(standby_dir), "-R", "-X", "stream",
        )  # fmt: skip
        with (standby_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {ports[standby_dir]}\nhot_standby = on\n")
        pg(
            bin_dir,
            "pg_ctl",
            "-D",
            str(standby_dir),
            "-l",
            str(folder / "standby.log"),
            "-w",
            "start",
        )
        started.append(standby_dir)

        server = "postgres://postgres@127.0.0.1:{}/{}"
        with psycopg.connect(server.format(ports[primary_dir], "postgres"), autocommit=True) as c:
            c.execute("CREATE DATABASE noisebank")
        primary = server.format(ports[primary_dir], "noisebank")
        standby = server.format(ports[standby_dir], "noisebank")
        env = base_env(folder / "data", DATABASE_URL=primary)
        run(["migrate", "-v", "0"], env)
        run(["seed", "--audio", "0", "--count", "30", "--password", PASSWORD], env)
        wait_until(lambda: count(standby) == 30, "the standby to replay the seed", [])

        port = free_port()
        web = start_noisebank(
            "web",
            ["serve", "--port", str(port)],
            env | {"DATABASE_REPLICA_URL": standby},
            folder / "logs",
        )
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: urllib.request.urlopen(url + "/healthz").status == 200, "up", [web])
        yield Cluster(primary, standby, url, web)
    finally:
        if web is not None:
            web.stop()
        for data_dir in reversed(started):
            pg(bin_dir, "pg_ctl", "-D", str(data_dir), "-m", "immediate", "-w", "stop")
        subprocess.run(["rm", "-rf", str(folder)], check=True)


def count(url: str) -> int:
    try:
        with query(url) as q:
            return int(q("SELECT count(*) FROM catalog_recording")[0][0])
    except psycopg.Error:  # not replayed yet: no such database or table
        return -1


def csv_rows(browser: Browser) -> tuple[str, int]:
    response = browser.open("/api/v1/recordings/export.csv?columns=noise_id")
    assert response.status == 200
    lines = response.read().decode().splitlines()
    return response.headers["X-Row-Count"], len(lines) - 1


def test_exports_and_pages_read_the_standby_while_the_primary_moves_on(
    cluster: Cluster, tmp_path: Path
) -> None:
    with query(cluster.standby) as q:
        assert q("SELECT pg_is_in_recovery()") == [(True,)]
        q("SELECT pg_wal_replay_pause()")
    try:
        run(
            ["seed", "--audio", "0", "--count", "5", "--seed", "7", "--password", PASSWORD],
            base_env(tmp_path, DATABASE_URL=cluster.primary),
        )
        assert count(cluster.primary) == 35 and count(cluster.standby) == 30

        browser = Browser(cluster.url)
        browser.log_in("researcher", PASSWORD)  # pinned to the primary: exports ignore the pin
        assert csv_rows(browser) == ("30", 30)  # from a snapshot on the hot standby
        browser.forget_cookie("nb_primary")
        assert json.loads(browser.open("/api/v1/recordings?size=1").read())["count"] == 30
        out = run(
            ["export", "--columns", "noise_id", "-o", str(tmp_path / "x.csv")],
            base_env(tmp_path, DATABASE_URL=cluster.primary, DATABASE_REPLICA_URL=cluster.standby),
        )
        assert "Exported 30 rows" in out
    finally:
        with query(cluster.standby) as q:
            q("SELECT pg_wal_replay_resume()")
    wait_until(lambda: count(cluster.standby) == 35, "the standby to catch up", [cluster.web])
    assert csv_rows(browser) == ("35", 35)


def test_health_reports_the_standbys_replay_lag(cluster: Cluster) -> None:
    with urllib.request.urlopen(cluster.url + "/healthz") as response:
        body = json.loads(response.read())
    assert body["replica"]["status"] == "ok"
    assert isinstance(body["replica"]["lag_s"], float)  # a standby: its replay has a time
