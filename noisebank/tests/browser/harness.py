"""What the browser tests share: the live app's parts, the logins, screenshots."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from noisebank.ops.tests.servers import ROOT, Process, query, run

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser-test-pw"
# As many recordings as the original system's dataset: exports of all of them are big enough to
# watch (and to cancel); the scenarios filter down to small selections.
RECORDINGS = 23_453
ARTIFACTS = ROOT / "artifacts"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@dataclass
class LiveApp:
    url: str
    database_url: str
    env: dict[str, str]
    web: Process
    worker: Process

    def check_alive(self) -> None:
        for p in (self.web, self.worker):
            assert p.alive(), f"{p.name} died:\n{p.output()[-5000:]}"

    def sql(self, statement: str) -> list[tuple[Any, ...]]:
        """Read the app's database directly, for what no page shows."""
        with query(self.database_url) as q:
            return q(statement)

    def cli(self, *args: str) -> str:
        return run(list(args), self.env)


def log_in(page: Any, user: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/accounts/login/" not in page.url, f"{user} could not log in"


def screenshot(page: Any, name: str) -> Path:
    """What the window shows, as artifacts/<name>-<width>x<height>.png, and the whole length of
    the page beside it (…-full.png): artefacts of the run, to look at."""
    size = page.viewport_size
    path = ARTIFACTS / f"{name}-{size['width']}x{size['height']}.png"
    path.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(path))
    page.screenshot(path=str(path.with_name(f"{path.stem}-full.png")), full_page=True)
    return path
