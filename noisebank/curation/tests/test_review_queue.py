"""The review queue: reviewers accept, reject or ask for changes, one at a time or for a
selection; collectors are told and see their recordings in every state."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from noisebank.catalog.models import Recording
from noisebank.curation.models import RecordingChange
from noisebank.testing import make_recording

Review = Recording.Review


@pytest.fixture
def submitted(charlie: User) -> list[Recording]:
    """Three of charlie's uploads waiting for review, oldest first."""
    return [
        make_recording(collector=charlie, review_state=Review.SUBMITTED, name=f"Upload {i}")
        for i in range(3)
    ]


@pytest.fixture
def decide(django_capture_on_commit_callbacks: Any) -> Any:
    """POST a decision (for one recording on screen, or a ticked selection), running what the
    view leaves for after its commit (the e-mails) as a real request would."""

    def post(client: Client, decision: str, *noise_ids: str, **extra: str) -> Any:
        data: dict[str, Any] = {"decision": decision, **extra}
        if len(noise_ids) == 1:
            data["current"] = noise_ids[0]
        else:
            data["selected"] = list(noise_ids)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/review/decide/", data)

    return post


def state_of(rec: Recording) -> str:
    rec.refresh_from_db()
    return rec.review_state


def test_the_queue_shows_submitted_recordings_oldest_first_beside_the_first_of_them(
    rita_client: Client, submitted: list[Recording]
) -> None:
    make_recording(review_state=Review.ACCEPTED, name="Already in the catalogue")
    page = rita_client.get("/review/")
    assert page.status_code == 200
    assert [r.noise_id for r in page.context["rows"]] == [r.noise_id for r in submitted]
    assert page.context["current"].pk == submitted[0].pk
    assert page.context["next_id"] == submitted[1].noise_id
    html = page.content.decode()
    assert "Upload 0" in html and "LAeq" in html and "Already in the catalogue" not in html
    assert dict((s, n) for s, _, n in page.context["states"])["submitted"] == 3
    other = rita_client.get(f"/review/?current={submitted[2].noise_id}")
    assert other.context["current"].pk == submitted[2].pk
    assert other.context["previous_id"] == submitted[1].noise_id


def test_accepting_puts_a_recording_in_the_catalogue_and_tells_its_collector(
    rita_client: Client, alice_client: Client, submitted: list[Recording], rita: User, decide: Any
) -> None:
    first = submitted[0]
    assert alice_client.get(f"/recordings/{first.noise_id}/").status_code == 404
    response = decide(rita_client, "accepted", first.noise_id, next=submitted[1].noise_id)
    assert response.status_code == 302
    assert response["Location"].endswith(f"current={submitted[1].noise_id}")
    first.refresh_from_db()
    assert (first.review_state, first.reviewed_by, first.review_note) == ("accepted", rita, "")
    assert alice_client.get(f"/recordings/{first.noise_id}/").status_code == 200
    assert [r["noise_id"] for r in alice_client.get("/recordings/").context["rows"]] == [
        first.noise_id
    ]
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["charlie@example.org"] and first.noise_id in sent.subject
    assert "accepted" in sent.body and f"/recordings/{first.noise_id}/" in sent.body
    entry = RecordingChange.objects.get(recording=first)
    assert (entry.user, entry.field, entry.before, entry.after) == (
        rita,
        "review_state",
        "submitted",
        "accepted",
    )


def test_rejecting_or_asking_for_changes_needs_a_note_for_the_collector(
    rita_client: Client, submitted: list[Recording], decide: Any
) -> None:
    for decision in ("rejected", "changes_requested"):
        response = decide(rita_client, decision, submitted[0].noise_id, note="  ")
        assert response.status_code == 302
        shown = rita_client.get(response["Location"])
        assert "Say why it is rejected" in shown.content.decode() or (
            "Say which changes are needed" in shown.content.decode()
        )
        assert state_of(submitted[0]) == "submitted"
    assert mail.outbox == []
    decide(rita_client, "rejected", submitted[0].noise_id, note="Wind noise covers the train.")
    submitted[0].refresh_from_db()
    assert submitted[0].review_state == "rejected"
    assert submitted[0].review_note == "Wind noise covers the train."
    assert "Wind noise covers the train." in mail.outbox[0].body


def test_a_decision_for_a_selection_reports_what_was_deleted_meanwhile(
    rita_client: Client, submitted: list[Recording], decide: Any
) -> None:
    gone = submitted[1].noise_id
    submitted[1].delete()
    response = decide(
        rita_client, "changes_requested", *(r.noise_id for r in submitted),
        note="Give the microphone type.",
    )  # fmt: skip
    shown = rita_client.get(response["Location"]).content.decode()
    assert "2 recordings changes requested" in shown
    assert f"{gone} was deleted meanwhile; nothing was decided for it." in shown
    assert [state_of(submitted[0]), state_of(submitted[2])] == ["changes_requested"] * 2
    # One e-mail for the collector, naming both recordings.
    assert len(mail.outbox) == 1
    assert submitted[0].noise_id in mail.outbox[0].body
    assert submitted[2].noise_id in mail.outbox[0].body


def test_nobody_decides_on_their_own_upload_except_an_admin(
    rita: User, rita_client: Client, admin_client: Client, decide: Any
) -> None:
    own = make_recording(collector=rita, review_state=Review.SUBMITTED)
    page = rita_client.get(f"/review/?current={own.noise_id}")
    assert "another reviewer must decide on it" in page.content.decode()
    shown = rita_client.get(decide(rita_client, "accepted", own.noise_id)["Location"])
    assert "another reviewer must review it" in shown.content.decode()
    assert state_of(own) == "submitted"
    decide(admin_client, "accepted", own.noise_id)
    assert state_of(own) == "accepted"


def test_collectors_and_researchers_cannot_reach_the_queue_or_decide(
    charlie_client: Client, alice_client: Client, submitted: list[Recording], decide: Any
) -> None:
    for client in (charlie_client, alice_client):
        assert client.get("/review/").status_code == 403
        assert decide(client, "accepted", submitted[0].noise_id).status_code == 403
    assert state_of(submitted[0]) == "submitted"
    assert Client().get("/review/").status_code == 302  # to the login page


def test_my_recordings_shows_every_state_and_the_reviewers_notes(
    charlie_client: Client, rita_client: Client, submitted: list[Recording], decide: Any
) -> None:
    decide(rita_client, "changes_requested", submitted[0].noise_id, note="Which train?")
    decide(rita_client, "accepted", submitted[1].noise_id)
    page = charlie_client.get("/recordings/mine/")
    assert page.status_code == 200
    assert {r.noise_id for r in page.context["rows"]} == {r.noise_id for r in submitted}
    counts = {s: n for s, _, n in page.context["states"]}
    assert (counts["submitted"], counts["accepted"], counts["changes_requested"]) == (1, 1, 1)
    html = page.content.decode()
    assert "Which train?" in html and f"/recordings/{submitted[0].noise_id}/edit/" in html
    only = charlie_client.get("/recordings/mine/?state=changes_requested")
    assert [r.noise_id for r in only.context["rows"]] == [submitted[0].noise_id]
    assert charlie_client.get("/recordings/mine/?state=maybe").status_code == 400
    # The detail page tells its collector too.
    detail = charlie_client.get(f"/recordings/{submitted[0].noise_id}/").content.decode()
    assert "Changes requested by rita." in detail and "Which train?" in detail


def test_saving_the_changes_asked_for_sends_a_recording_back_to_the_reviewers(
    charlie_client: Client, rita_client: Client, submitted: list[Recording], decide: Any
) -> None:
    rec = submitted[0]
    decide(rita_client, "changes_requested", rec.noise_id, note="Name the community.")
    form = charlie_client.get(f"/recordings/{rec.noise_id}/edit/")
    assert "Saving sends it back to the reviewers" in form.content.decode()
    response = charlie_client.post(
        f"/recordings/{rec.noise_id}/edit/",
        {"name": "Upload 0 at Tema", "category": str(rec.category_id),
         "sound_class": str(rec.sound_class_id), "region": str(rec.region_id),
         "community": str(rec.community_id)},
    )  # fmt: skip
    assert response.status_code == 302
    assert state_of(rec) == "submitted"
    history = list(RecordingChange.objects.filter(recording=rec).order_by("id"))
    assert [(h.before, h.after) for h in history if h.field == "review_state"] == [
        ("submitted", "changes_requested"),
        ("changes_requested", "submitted"),
    ]
    queue = rita_client.get("/review/")
    assert rec.noise_id in {r.noise_id for r in queue.context["rows"]}


def test_an_unknown_state_or_decision_is_refused_with_a_message(
    rita_client: Client, submitted: list[Recording], decide: Any
) -> None:
    assert rita_client.get("/review/?state=approved").status_code == 400
    shown = rita_client.get(decide(rita_client, "approve", submitted[0].noise_id)["Location"])
    assert "decision=approve: use accepted, rejected, changes_requested" in shown.content.decode()
