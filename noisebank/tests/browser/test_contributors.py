"""Contributors, in a real Chromium against a real server, worker and SMTP server: a collector
signs up and verifies the address with the code from the e-mail, uploads two recordings; a
reviewer accepts one and rejects the other with the keyboard; the researcher's export from the
catalogue's panel holds the accepted one, never the rejected one. The browser tests share one
app and its catalogue: the reviewer deletes both uploads at the end, as if they never were."""

import re
import secrets
from pathlib import Path
from typing import Any

from noisebank.accounts.tests.smtp import Inbox
from noisebank.testing import write_audio
from noisebank.tests.browser.conftest import OpenPage
from noisebank.tests.browser.harness import needs_chromium, screenshot
from noisebank.tests.browser.test_exports import (
    download,
    noise_ids_in,
    start_export,
    wait_for_status,
)

pytestmark = needs_chromium

PASSWORD = "field-recordings-2026"


def sign_up_and_verify(page: Any, mailbox: Inbox, email: str) -> None:
    page.goto("/accounts/login/")
    with page.expect_navigation():
        page.click("text=Create an account")
    page.fill("#id_name", "Efua Mensah")
    page.fill("#id_email", email)
    page.fill("#id_organisation", "Cape Coast field team")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "/accounts/verify/" in page.url, page.content()
    code = mailbox.wait_for(email, r"for Noisebank: (\d{6})").group(1)
    page.fill("#id_code", code)
    with page.expect_navigation():
        page.click("form[action='/accounts/verify/'] button[type=submit]")
    assert page.url.endswith("/recordings/upload/"), page.url
    assert "Your e-mail address is verified" in page.content()


def upload(page: Any, path: Path, name: str) -> str:
    page.goto("/recordings/upload/")
    page.set_input_files("#f-file", str(path))
    page.fill("#f-name", name)
    with page.expect_navigation(url=re.compile(r"/recordings/NSE-")):
        page.click("#upload-form button[type=submit]")
    assert "Waiting for a reviewer." in page.content()
    return str(page.url.rstrip("/").rsplit("/", 1)[1])


def delete(page: Any, noise_id: str) -> None:
    page.goto(f"/recordings/{noise_id}/")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("form[action$='/delete/'] button")
    assert f"Deleted {noise_id}" in page.content()


def test_a_new_collectors_upload_reaches_the_export_once_a_reviewer_accepts_it(
    open_page: OpenPage, mailbox: Inbox, tmp_path: Path
) -> None:
    reviewer = open_page("reviewer")
    uploaded: list[str] = []
    try:
        scenario(open_page, mailbox, tmp_path, reviewer, uploaded)
    finally:
        for noise_id in uploaded:
            delete(reviewer, noise_id)


def scenario(
    open_page: OpenPage, mailbox: Inbox, tmp_path: Path, reviewer: Any, uploaded: list[str]
) -> None:
    user = f"field.{secrets.token_hex(4)}"
    email = f"{user}@example.org"
    collector = open_page(None)
    sign_up_and_verify(collector, mailbox, email)
    seed = secrets.randbelow(10**6)  # bytes no earlier run uploaded
    kept = upload(collector, write_audio(tmp_path / "horn.wav", seed=seed), "Horn at Elmina")
    uploaded.append(kept)
    dropped = upload(collector, write_audio(tmp_path / "wind.wav", seed=seed + 1), "Only wind")
    uploaded.append(dropped)

    reviewer.goto(f"/review/?current={kept}")
    assert reviewer.locator("#queue li.current").get_attribute("data-noise-id") == kept
    with reviewer.expect_navigation():
        reviewer.keyboard.press("a")
    assert "1 recording accepted" in reviewer.content()
    reviewer.goto(f"/review/?current={dropped}")
    reviewer.keyboard.press("r")  # an empty note: the field takes the focus
    assert reviewer.evaluate("document.activeElement.id") == "note"
    reviewer.keyboard.type("Only wind: no railway sound in it.")
    screenshot(reviewer, "review-queue")
    with reviewer.expect_navigation():
        reviewer.keyboard.press("Control+Enter")
    assert "1 recording rejected" in reviewer.content()

    # The collector is told, by e-mail and on their page.
    mailbox.wait_for(email, rf"{kept}")
    mailbox.wait_for(email, r"Only wind: no railway sound in it\.")
    collector.goto("/recordings/mine/")
    states = dict(
        collector.locator("#my-recordings tbody tr").evaluate_all(
            "rows => rows.map(r => [r.dataset.noiseId, r.querySelector('.review').textContent])"
        )
    )
    assert states == {kept: "Accepted", dropped: "Rejected"}

    researcher = open_page("researcher")
    researcher.goto(f"/recordings/?collector={user}")
    assert researcher.locator("#recordings tbody tr[data-noise-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.noiseId)"
    ) == [kept]
    job_id = start_export(researcher, "csv", "default")
    assert wait_for_status(researcher, "done", "failed") == "done"
    assert noise_ids_in(download(researcher, tmp_path, job_id)) == [kept]
    # Nor does the rejected one appear in a default export of everything.
    everything = researcher.request.get("/api/v1/recordings/export.csv?columns=noise_id")
    assert everything.ok
    ids = everything.text().split()
    assert kept in ids and dropped not in ids
