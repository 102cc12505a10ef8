import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from noisebank.ops import metrics
from noisebank.ops.tests import tasks
from noisebank.ops.tests.servers import base_env, free_port, run, start_noisebank, wait_until

TOKEN = "scrape-me-0123456789"


@pytest.fixture
def metrics_on(settings: Any) -> None:
    settings.NOISEBANK_METRICS_TOKEN = TOKEN


def scrape(client: Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    return samples(response.content.decode())


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scraped: dict[Any, float], name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_do_not_exist_until_a_token_is_set(client: Client, db: None, settings: Any) -> None:
    settings.NOISEBANK_METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer x"}).status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_metrics_need_the_token(
    client: Client, db: None, metrics_on: None, header: str | None
) -> None:
    response = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"noisebank_" not in response.content


def test_the_metrics_token_is_not_taken_for_an_api_token(
    client: Client, db: None, metrics_on: None
) -> None:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")


def test_exports_jobs_and_failed_ingests_are_counted(
    client: Client, db: None, metrics_on: None
) -> None:
    before = scrape(client)
    metrics.export_finished("CSV", rows=1000, bytes=835_000, seconds=2.5)
    metrics.export_finished("csv", rows=500, bytes=400_000, seconds=1.0)
    metrics.job_finished("export", "SUCCESSFUL", 12.0)
    metrics.ingest_failed("Unreadable audio!")
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("noisebank_exports_total", format="csv") == 2
    assert grew("noisebank_export_rows_total", format="csv") == 1500
    assert grew("noisebank_export_bytes_total", format="csv") == 1_235_000
    assert grew("noisebank_export_duration_seconds_sum", format="csv") == 3.5
    assert grew("noisebank_jobs_total", kind="export", status="successful") == 1
    assert grew("noisebank_job_duration_seconds_count", kind="export") == 1
    assert grew("noisebank_ingest_failures_total", reason="unreadable_audio") == 1


def test_requests_are_counted_by_view_and_status(
    client: Client, db: None, metrics_on: None
) -> None:
    before = scrape(client)
    client.get("/recordings/")  # anonymous: redirected to the login page
    client.get("/no/such/page")
    after = scrape(client)
    labels = {"method": "GET", "view": "recording-list", "status": "302"}
    assert (
        value(after, "noisebank_http_requests_total", **labels)
        - value(before, "noisebank_http_requests_total", **labels)
        == 1
    )
    unmatched = {"method": "GET", "view": "unmatched", "status": "404"}
    assert value(after, "noisebank_http_requests_total", **unmatched) > value(
        before, "noisebank_http_requests_total", **unmatched
    )


@pytest.fixture
def restore_signals() -> Iterator[None]:
    """db_worker installs SIGINT/SIGTERM handlers; give the test process its own back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


@pytest.mark.django_db(transaction=True)
def test_queue_depth_is_read_from_the_queue_and_finished_tasks_are_counted(
    client: Client, metrics_on: None, restore_signals: None
) -> None:
    for n in range(3):
        tasks.add.enqueue(n, 1)
    waiting = scrape(client)
    assert value(waiting, "noisebank_task_queue_depth", queue="default", status="ready") == 3
    assert value(waiting, "noisebank_task_oldest_ready_seconds") >= 0

    metrics.connect_task_signals()
    call_command("db_worker", batch=True, interval=0, startup_delay=False, verbosity=0)
    done = scrape(client)
    assert value(done, "noisebank_task_queue_depth", queue="default", status="ready") == 0
    assert (
        value(done, "noisebank_jobs_total", kind="add", status="successful")
        - value(waiting, "noisebank_jobs_total", kind="add", status="successful")
        == 3
    )


def test_workers_alive_comes_from_the_heartbeats(
    client: Client, db: None, metrics_on: None
) -> None:
    from noisebank.ops.heartbeat import beat

    assert value(scrape(client), "noisebank_workers_alive") == 0
    beat("w-a")
    beat("w-b")
    assert value(scrape(client), "noisebank_workers_alive") == 2


def test_label_values_stay_bounded() -> None:
    assert metrics._code("Audio/x; DROP TABLE") == "audio_x_drop_table"
    assert len(metrics._code("x" * 500)) == 40 and metrics._code("!!!") == "unknown"


def test_several_uvicorn_workers_report_one_sum(tmp_path: Path) -> None:
    """`serve --workers 2`: every scrape, whichever process answers it, sees all requests."""
    port = free_port()
    env = base_env(tmp_path, NOISEBANK_METRICS_TOKEN=TOKEN)
    run(["migrate", "-v", "0"], env)
    args = ["serve", "--port", str(port), "--workers", "2"]
    server = start_noisebank("web", args, env, tmp_path / "logs")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: urllib.request.urlopen(url + "/healthz").status == 200, "up", [server])
        for _ in range(40):
            urllib.request.urlopen(url + "/accounts/login/").read()
        counts = set()
        for _ in range(6):
            request = urllib.request.Request(
                url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            with urllib.request.urlopen(request) as response:
                scraped = samples(response.read().decode())
            counts.add(
                value(
                    scraped,
                    "noisebank_http_requests_total",
                    method="GET",
                    view="login",
                    status="200",
                )
            )
    finally:
        server.stop()
    assert counts == {40.0}
    assert not list(tmp_path.glob("noisebank-metrics-*"))
