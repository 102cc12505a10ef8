"""The bulk page in a real Chromium: chunked uploads, per-file answers, a manifest."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from noisebank.catalog.models import Recording
from noisebank.testing import PASSWORD, make_recording, write_audio

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture
def page(live_server: Any, charlie: User, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's ORM calls are still
    # synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        tab = browser.new_page()
        tab.goto(live_server.url + "/accounts/login/")
        tab.fill("input[name=username]", "charlie")
        tab.fill("input[name=password]", PASSWORD)
        tab.click("button[type=submit]")
        tab.goto(live_server.url + "/recordings/upload/bulk/")
        yield tab
        browser.close()


def test_bulk_upload_sends_each_file_and_shows_each_answer(page: Any, tmp_path: Path) -> None:
    make_recording()  # the taxonomy
    page.reload()
    good = write_audio(tmp_path / "good.wav", seconds=2, seed=1)
    shutil.copyfile(good, tmp_path / "same.wav")
    (tmp_path / "notes.wav").write_text("not audio\n" * 50)
    big = write_audio(tmp_path / "big.wav", seconds=100, seed=2)
    assert big.stat().st_size > 8 * 1024 * 1024  # more than one chunk
    page.select_option("#f-category", label="Train pass-by")
    page.set_input_files(
        "#b-files",
        [str(good), str(tmp_path / "same.wav"), str(tmp_path / "notes.wav"), str(big)],
    )
    page.click("[data-start]")
    page.wait_for_selector("text=4 file(s): 2 uploaded, 2 rejected", timeout=60_000)
    items = page.locator(".qitem")
    assert "already in the catalogue as NSE-CHARLIE-" in items.nth(1).inner_text()
    assert "contains text, not audio" in items.nth(2).inner_text()
    assert (
        Recording.objects.filter(
            collector__username="charlie", category__name="Train pass-by"
        ).count()
        == 2
    )
    stored = Recording.objects.get(original_filename="big.wav")
    assert Path(stored.audio.path).read_bytes() == big.read_bytes()


def test_bulk_upload_with_a_manifest_takes_each_files_metadata(page: Any, tmp_path: Path) -> None:
    make_recording()
    page.reload()
    a = write_audio(tmp_path / "a.wav", seed=1)
    b = write_audio(tmp_path / "b.wav", seed=2)
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,name,class\na.wav,First,Freight train\n")
    page.check("input[name=mode][value=manifest]")
    page.set_input_files("#b-manifest", str(manifest))
    page.wait_for_selector("text=1 rows read")
    page.set_input_files("#b-files", [str(a), str(b)])
    page.click("[data-start]")
    page.wait_for_selector("text=2 file(s): 1 uploaded, 1 rejected", timeout=30_000)
    assert "Not in the manifest" in page.locator(".qitem").nth(1).inner_text()
    rec = Recording.objects.get(name="First")
    assert rec.sound_class.name == "Freight train" and rec.category.name == "Train pass-by"
