"""The read replica: a real server with two databases, one of them as `replica`.

The two databases hold different recordings, so every page says which one it read. (A real
replica is a copy the database server keeps; two independent databases make the routing
visible, which a copy would hide.)
"""

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, router

from noisebank.catalog.models import Recording
from noisebank.ops.replica import read_alias, reads_may_use_replica
from noisebank.ops.tests.servers import (
    Browser,
    base_env,
    free_port,
    fresh_database,
    query,
    run,
    start_noisebank,
    wait_until,
)

PASSWORD = "replica-test-pw"


def test_without_a_replica_everything_reads_and_writes_the_primary() -> None:
    assert read_alias() == DEFAULT_DB_ALIAS
    token = reads_may_use_replica.set(True)
    try:
        assert router.db_for_read(Recording) == DEFAULT_DB_ALIAS
    finally:
        reads_may_use_replica.reset(token)
    assert router.db_for_write(Recording) == DEFAULT_DB_ALIAS


@dataclass
class TwoDatabases:
    primary: str
    replica: str
    url: str
    primary_ids: set[str]
    replica_ids: set[str]


def noise_ids(url: str) -> set[str]:
    with query(url) as q:
        return {row[0] for row in q("SELECT noise_id FROM catalog_recording")}


@pytest.fixture(scope="module")
def two_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoDatabases]:
    tmp = tmp_path_factory.mktemp("replica")
    with fresh_database("primary", tmp) as primary, fresh_database("replica", tmp) as replica:
        for url, seed, count in ((primary, 1, 3), (replica, 2, 4)):
            env = base_env(tmp, DATABASE_URL=url)
            run(["migrate", "-v", "0"], env)
            run(
                [
                    "seed",
                    "--audio",
                    "0",
                    "--count",
                    str(count),
                    "--seed",
                    str(seed),
                    "--password",
                    PASSWORD,
                ],
                env,
            )
        port = free_port()
        env = base_env(
            tmp,
            DATABASE_URL=primary,
            DATABASE_REPLICA_URL=replica,
            NOISEBANK_REPLICA_PIN_SECONDS="60",
        )
        server = start_noisebank("web", ["serve", "--port", str(port)], env, tmp / "logs")
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(
                lambda: urllib.request.urlopen(url + "/healthz").status == 200, "up", [server]
            )
            yield TwoDatabases(primary, replica, url, noise_ids(primary), noise_ids(replica))
        finally:
            server.stop()


def shown(page: bytes, ids: set[str]) -> set[str]:
    return {i for i in ids if i.encode() in page}


def test_catalogue_pages_read_the_replica(two_databases: TwoDatabases) -> None:
    d = two_databases
    assert len(d.primary_ids) == 3 and len(d.replica_ids) == 4 and not d.primary_ids & d.replica_ids
    browser = Browser(d.url)
    browser.log_in("researcher", PASSWORD)
    browser.forget_cookie("nb_primary")
    page = browser.open("/recordings/").read()
    assert shown(page, d.replica_ids) == d.replica_ids
    assert shown(page, d.primary_ids) == set()


def test_after_a_write_the_browser_reads_the_primary_for_a_while(
    two_databases: TwoDatabases,
) -> None:
    d = two_databases
    browser = Browser(d.url)
    browser.log_in("researcher", PASSWORD)  # a POST: pins this browser to the primary
    assert browser.cookie("nb_primary") == "1"
    page = browser.open("/recordings/").read()
    assert shown(page, d.primary_ids) == d.primary_ids
    assert shown(page, d.replica_ids) == set()


def test_sessions_and_users_stay_on_the_primary(two_databases: TwoDatabases) -> None:
    d = two_databases
    with query(d.primary) as q:
        before = q("SELECT COUNT(*) FROM django_session")[0][0]
    Browser(d.url).log_in("researcher", PASSWORD)
    with query(d.primary) as q:
        assert q("SELECT COUNT(*) FROM django_session")[0][0] == before + 1
    with query(d.replica) as q:
        assert q("SELECT COUNT(*) FROM django_session") == [(0,)]


def test_health_reports_the_replica(two_databases: TwoDatabases) -> None:
    with urllib.request.urlopen(two_databases.url + "/healthz") as response:
        body = json.loads(response.read())
    assert body["replica"] == {"status": "ok", "lag_s": None}  # not a standby: no replay lag


def test_read_alias_names_the_replica_when_there_is_one(
    two_databases: TwoDatabases, tmp_path: Path
) -> None:
    env = base_env(
        tmp_path, DATABASE_URL=two_databases.primary, DATABASE_REPLICA_URL=two_databases.replica
    )
    code = (
        "from noisebank.ops.replica import read_alias; "
        "from noisebank.catalog.models import Recording; "
        "print(read_alias(), Recording.objects.using(read_alias()).count(), "
        "Recording.objects.count())"
    )
    out = run(["shell", "-v", "0", "-c", code], env)
    assert out.split() == ["replica", "4", "3"]  # outside a GET request: the primary


def test_a_download_reads_the_replica_even_when_the_browser_is_pinned(
    two_databases: TwoDatabases,
) -> None:
    """An export is a long read: it goes to the replica (read_alias), pin or no pin."""
    d = two_databases
    browser = Browser(d.url)
    browser.log_in("researcher", PASSWORD)
    assert browser.cookie("nb_primary") == "1"
    response = browser.open("/api/v1/recordings/export.csv?columns=noise_id")
    lines = response.read().decode().splitlines()
    assert response.status == 200 and response.headers["X-Row-Count"] == "4"
    assert lines[0] == "noise_id" and set(lines[1:]) == d.replica_ids


def test_the_original_batch_api_reads_the_replica(two_databases: TwoDatabases) -> None:
    d = two_databases
    browser = Browser(d.url)
    browser.log_in("researcher", PASSWORD)  # pinned to the primary, as above
    body = json.loads(browser.open("/api/export-data/?batch_size=100").read())
    assert body["total"] == 4
    assert shown(json.dumps(body).encode(), d.replica_ids | d.primary_ids) == d.replica_ids


def test_the_list_api_reads_the_replica(two_databases: TwoDatabases) -> None:
    d = two_databases
    browser = Browser(d.url)
    browser.log_in("researcher", PASSWORD)
    browser.forget_cookie("nb_primary")  # an API client that sends no pin
    body = json.loads(browser.open("/api/v1/recordings?columns=noise_id").read())
    assert body["count"] == 4
    assert {r["noise_id"] for r in body["results"]} == d.replica_ids


def test_the_export_command_reads_the_replica(two_databases: TwoDatabases, tmp_path: Path) -> None:
    env = base_env(
        tmp_path, DATABASE_URL=two_databases.primary, DATABASE_REPLICA_URL=two_databases.replica
    )
    out = run(["export", "--columns", "noise_id", "-o", str(tmp_path / "x.csv")], env)
    lines = (tmp_path / "x.csv").read_text().splitlines()
    assert "Exported 4 rows" in out
    assert lines[0] == "noise_id" and set(lines[1:]) == two_databases.replica_ids
