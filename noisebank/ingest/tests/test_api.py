"""POST /api/v1/recordings and GET /api/v1/recordings/{noise_id}."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from noisebank.accounts.models import token_create
from noisebank.catalog.models import Recording
from noisebank.ingest.tests.samples import TWO_GB, bad_batch
from noisebank.testing import make_recording, write_audio

pytestmark = pytest.mark.django_db


def bearer(user: User) -> dict[str, str]:
    _, raw = token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post_file(
    client: Client, filename: str, content: bytes, headers: dict[str, str], **fields: str
):
    return client.post(
        "/api/v1/recordings", {"file": SimpleUploadedFile(filename, content), **fields}, **headers
    )


def test_a_collector_uploads_with_a_token_and_gets_201_with_the_noise_id(
    charlie: User, tmp_path: Path
) -> None:
    make_recording()  # the taxonomy
    content = write_audio(tmp_path / "a.wav").read_bytes()
    response = post_file(
        Client(), "a.wav", content, bearer(charlie), category="train PASS-BY", name="Morning pass"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    rec = Recording.objects.get(noise_id=body["noise_id"])
    assert body["status"] == "pending" and body["url"] == f"/recordings/{rec.noise_id}/"
    assert rec.name == "Morning pass" and rec.category.name == "Train pass-by"
    assert rec.collector == charlie and rec.size_bytes == len(content)


def test_every_bad_input_gets_its_status_and_reason_and_the_rest_goes_in(
    charlie: User, tmp_path: Path
) -> None:
    headers = bearer(charlie)
    client = Client()
    statuses = {}
    for sample in bad_batch(tmp_path, with_huge=False):
        response = post_file(
            client, sample.filename, sample.path.read_bytes(), headers, **sample.metadata
        )
        assert response.status_code != 500
        statuses[sample.filename] = response
        if sample.expect is None:
            assert response.status_code == 201, response.content
        else:
            assert sample.expect in response.json()["detail"], response.json()
            assert response.json()["kind"] == sample.kind
    assert statuses["copy-of-good.wav"].status_code == 409
    assert statuses["copy-of-good.wav"].json()["existing_noise_id"].startswith("NSE-CHARLIE-")
    assert statuses["notes.wav"].status_code == 422
    assert statuses["spaceship.wav"].status_code == 400
    assert "category" in [e["param"] for e in statuses["spaceship.wav"].json()["errors"]]
    assert Recording.objects.count() == 3


def test_a_two_gigabyte_upload_is_refused_from_its_content_length_before_it_is_read(
    charlie: User,
) -> None:
    response = Client().post(
        "/api/v1/recordings",
        data=b"only the first bytes ever arrive",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(TWO_GB),
        **bearer(charlie),
    )
    assert response.status_code == 413
    assert "2,048 MB, larger than the 500 MB upload limit" in response.json()["detail"]


def test_a_file_over_the_limit_without_an_announced_size_is_dropped_while_streaming(
    charlie: User, tmp_path: Path, settings
) -> None:
    settings.NOISEBANK_MAX_UPLOAD_MB = 1
    content = write_audio(tmp_path / "big.wav", seconds=15).read_bytes()  # 1.4 MB
    response = post_file(Client(), "big.wav", content, bearer(charlie))
    assert response.status_code == 413 and "1 MB upload limit" in response.json()["detail"]
    assert not Recording.objects.exists()
    assert not any(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir())


def test_a_missing_file_field_is_a_400_not_a_500(charlie: User) -> None:
    response = Client().post("/api/v1/recordings", {"name": "x"}, **bearer(charlie))
    assert response.status_code == 400 and "`file`" in response.json()["detail"]


def test_who_may_upload(nobody: User, alice: User, tmp_path: Path) -> None:
    content = write_audio(tmp_path / "a.wav").read_bytes()
    assert post_file(Client(), "a.wav", content, {}).status_code == 401
    assert post_file(Client(), "a.wav", content, bearer(nobody)).status_code == 403
    # Researchers include the collector role.
    assert post_file(Client(), "a.wav", content, bearer(alice)).status_code == 201


def test_a_session_upload_needs_the_csrf_token(charlie: User, tmp_path: Path) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(charlie)
    content = write_audio(tmp_path / "a.wav").read_bytes()
    assert post_file(client, "a.wav", content, {}).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_get_returns_status_features_and_levels_once_measured(
    charlie: User, tmp_path: Path
) -> None:
    headers = bearer(charlie)
    content = write_audio(tmp_path / "a.wav", level_dbfs=-30).read_bytes()
    noise_id = post_file(Client(), "a.wav", content, headers).json()["noise_id"]
    before = Client().get(f"/api/v1/recordings/{noise_id}", **headers).json()
    assert before["status"] == "pending" and before["features"] is None
    call_command(
        "db_worker", batch=True, startup_delay=False, interval=0, reload=False, verbosity=0
    )
    after = Client().get(f"/api/v1/recordings/{noise_id}", **headers).json()
    assert after["status"] == "ready" and after["has_audio"] is True
    assert after["levels"]["unit"] == "dBFS"
    assert after["levels"]["laeq"] == pytest.approx(-30.0, abs=0.1)
    assert after["features"]["sample_rate"] == 48000 and len(after["features"]["mfcc"]) == 13
    assert "level_series" not in after["levels"]


def test_get_an_unknown_recording_is_404_and_a_dotted_path_is_not_a_noise_id(
    charlie: User,
) -> None:
    headers = bearer(charlie)
    assert Client().get("/api/v1/recordings/NSE-NOPE-1", **headers).status_code == 404
    # Left to the export endpoint of the catalogue API, which collectors may not use.
    response = Client().get("/api/v1/recordings/export.csv", **headers)
    assert response.status_code == 403 and "No recording" not in response.content.decode()


def test_an_upload_without_a_recording_time_keeps_it_unknown_everywhere(
    charlie: User, alice: User, tmp_path: Path
) -> None:
    make_recording()  # the taxonomy
    content = write_audio(tmp_path / "a.wav").read_bytes()
    response = post_file(Client(), "a.wav", content, bearer(charlie), category="Train pass-by")
    assert response.status_code == 201, response.content
    rec = Recording.objects.get(noise_id=response.json()["noise_id"])
    assert rec.recorded_at is None
    rec.review_state = Recording.Review.ACCEPTED  # researchers see it once a reviewer accepts it
    rec.save()
    researcher = Client()
    researcher.force_login(alice)
    detail = researcher.get(f"/recordings/{rec.noise_id}/").content.decode()
    assert '<th>Recorded</th><td><span class="muted">unknown</span>' in detail
    assert researcher.get(f"/api/v1/recordings/{rec.noise_id}").json()["recorded_at"] is None
    listed = researcher.get("/api/v1/recordings?columns=noise_id,recording_date").json()
    assert {"noise_id": rec.noise_id, "recording_date": None} in listed["results"]
    row = researcher.get("/recordings/?sort=-recorded_at").context["rows"][-1]
    assert (row["noise_id"], row["recorded"]) == (rec.noise_id, ["unknown"])
