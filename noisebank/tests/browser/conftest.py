"""A live Noisebank for the browser tests: its own database (a SQLite file, or a PostgreSQL
database when the suite runs on PostgreSQL), migrated and seeded with demo data by the CLI, a real
`noisebank serve` and a real `noisebank worker`, and Debian's Chromium driven by Playwright.

The app starts once a session and the browser tests share it; each test gets fresh browser
contexts (their own cookies), so tests do not see each other's logins.
"""

import json
import os
import shutil
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from noisebank.accounts.tests.smtp import Inbox, smtp_server
from noisebank.ops.tests.servers import (
    base_env,
    free_port,
    fresh_database,
    run,
    shared_tmpdir,
    start_noisebank,
    wait_until,
)
from noisebank.tests.browser.harness import CHROMIUM, LAPTOP, PASSWORD, RECORDINGS, LiveApp, log_in


@pytest.fixture(scope="session")
def mailbox() -> Iterator[Inbox]:
    """The live app's e-mail, received by a real SMTP server (sign-up codes, decisions)."""
    with smtp_server() as (inbox, _):
        yield inbox


@pytest.fixture(scope="session")
def live_app(mailbox: Inbox) -> Iterator[LiveApp]:
    folder = shared_tmpdir("noisebank-browser-")
    try:
        with fresh_database("browser", folder) as database_url:
            yield from _run_app(folder, database_url, mailbox.port)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run_app(folder: Path, database_url: str, smtp_port: int) -> Iterator[LiveApp]:
    env = base_env(
        folder / "data",
        DATABASE_URL=database_url,
        NOISEBANK_HEARTBEAT_SECONDS="1",
        NOISEBANK_LOG_LEVEL="WARNING",
        NOISEBANK_SIGNUP="open",
        NOISEBANK_EMAIL_HOST="127.0.0.1",
        NOISEBANK_EMAIL_PORT=str(smtp_port),
        NOISEBANK_EMAIL_STARTTLS="0",
    )
    run(["migrate", "-v", "0"], env)
    run(["seed", "--audio", "0", "--count", str(RECORDINGS), "--password", PASSWORD], env)
    port = free_port()
    env["NOISEBANK_BASE_URL"] = f"http://127.0.0.1:{port}"  # the links in its e-mails
    logs = folder / "logs"
    serve = ["serve", "--port", str(port), "--log-level", "warning"]
    web = start_noisebank("web", serve, env, logs)
    worker = start_noisebank("worker", ["worker"], env, logs)
    url = f"http://127.0.0.1:{port}"
    try:

        def worker_seen() -> bool:
            with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
                return bool(json.loads(response.read())["workers"]["alive"])

        wait_until(worker_seen, "the web server and its worker", [web, worker])
        yield LiveApp(url, database_url, env, web, worker)
    finally:
        worker.stop()
        web.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    args = ["--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]  # fmt: skip
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium's sandbox refuses to start as root
    with pytest.MonkeyPatch.context() as mp, sync_playwright() as p:
        # Playwright's sync API runs an event loop in this thread, beside which Django's ORM
        # refuses to run; these tests use no ORM, but fixtures that run meanwhile might.
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        yield browser
        browser.close()


OpenPage = Callable[..., Any]


@pytest.fixture(scope="session")
def sessions() -> dict[str, Any]:
    """Each user's cookies after their first log-in through the login page: later tests start
    logged in (the password hasher takes its time on purpose)."""
    return {}


@pytest.fixture
def open_page(live_app: LiveApp, chromium: Any, sessions: dict[str, Any]) -> Iterator[OpenPage]:
    """`open_page("researcher")`: a tab in a fresh browser context, logged in as that user (not
    logged in for None), with a laptop-sized window unless told otherwise."""
    contexts: list[Any] = []
    blocked: list[str] = []

    def _open(user: str | None, viewport: dict[str, int] = LAPTOP) -> Any:
        context = chromium.new_context(
            base_url=live_app.url,
            viewport=viewport,
            accept_downloads=True,
            storage_state=sessions.get(user or ""),
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        # A script or style the Content-Security-Policy blocks is a broken page: fail on it.
        page.on(
            "console",
            lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
        )
        if user and user not in sessions:
            log_in(page, user)
            sessions[user] = context.storage_state()
        return page

    yield _open
    for context in contexts:
        context.close()
    live_app.check_alive()
    assert blocked == [], "the Content-Security-Policy blocked something"
