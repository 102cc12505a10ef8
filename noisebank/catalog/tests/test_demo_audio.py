"""`noisebank seed` also adds recordings with real synthesised audio, queued for the worker."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from noisebank.catalog.models import Recording

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_adds_audio_recordings_once_queued_and_measured_by_the_worker() -> None:
    out = io.StringIO()
    call_command("seed", "--count", "20", "--audio", "2", stdout=out, stderr=io.StringIO())
    assert "Added 2 recordings with synthesised audio" in out.getvalue()
    with_audio = Recording.objects.exclude(audio="")
    assert with_audio.count() == 2 and set(with_audio.values_list("status", flat=True)) == {
        "pending"
    }
    assert DBTaskResult.objects.count() == 2
    assert all(Path(r.audio.path).is_file() for r in with_audio)

    call_command("seed", "--count", "0", "--audio", "2", stdout=io.StringIO(), stderr=io.StringIO())
    assert Recording.objects.exclude(audio="").count() == 2  # the same sounds are not added twice

    call_command(
        "db_worker", batch=True, startup_delay=False, interval=0, reload=False, verbosity=0
    )
    for rec in with_audio.select_related("analysis"):
        assert rec.status == "ready" and rec.analysis.unit == "dB SPL"
        assert 60 < rec.analysis.laeq < 110  # railway levels on the calibrated demo recorder


def test_the_demo_leaves_a_few_audio_recordings_submitted_for_its_review_queue() -> None:
    from noisebank.catalog import demo

    call_command("seed", "--count", "0", "--audio", "0", stdout=io.StringIO())
    made, problems = demo.seed_audio_recordings()
    assert (made, problems) == (len(demo.AUDIO_DEMOS), [])
    states = list(Recording.objects.order_by("id").values_list("review_state", flat=True))
    submitted = len(demo.AUDIO_DEMOS) - demo.DEMO_SUBMITTED_FROM
    assert states == ["accepted"] * demo.DEMO_SUBMITTED_FROM + ["submitted"] * submitted
    assert submitted >= 3
    accepted = Recording.objects.filter(review_state="accepted")
    assert {r.reviewed_by.username for r in accepted.select_related("reviewed_by")} == {"admin"}
