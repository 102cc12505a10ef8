"""A live Noisebank for the API's contract tests: a real server and worker on a seeded database,
and a researcher's bearer token."""

import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from noisebank.ops.tests.servers import (
    Process,
    base_env,
    free_port,
    fresh_database,
    run,
    shared_tmpdir,
    start_noisebank,
    wait_until,
)

PASSWORD = "contract-test-pw"


class LiveApi:
    def __init__(self, url: str, token: str, processes: list[Process]) -> None:
        self.url = url
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}
        self.processes = processes

    def check_alive(self) -> None:
        for p in self.processes:
            assert p.alive(), f"{p.name} died:\n{p.output()[-5000:]}"


@pytest.fixture(scope="package")
def live_api() -> Iterator[LiveApi]:
    folder = shared_tmpdir("noisebank-contract-")
    try:
        yield from _serve(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _serve(folder: Path) -> Iterator[LiveApi]:
    with fresh_database("contract", folder) as database_url:
        env = base_env(folder / "data", DATABASE_URL=database_url, NOISEBANK_LOG_LEVEL="WARNING")
        run(["migrate", "-v", "0"], env)
        run(["seed", "--count", "300", "--audio", "1", "--password", PASSWORD], env)
        printed = run(["token", "create", "researcher", "--name", "contract"], env)
        token = next(line for line in printed.split() if line.startswith("nb_") and "…" not in line)
        port = free_port()
        logs = folder / "logs"
        web = start_noisebank("web", ["serve", "--port", str(port)], env, logs)
        worker = start_noisebank("worker", ["worker"], env, logs)
        url = f"http://127.0.0.1:{port}"
        api = LiveApi(url, token, [web, worker])
        try:
            wait_until(lambda: _answers(url), "the web server", [web, worker])
            yield api
            api.check_alive()
        finally:
            worker.stop()
            web.stop()


def _answers(url: str) -> bool:
    with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
        return bool(response.status == 200)
