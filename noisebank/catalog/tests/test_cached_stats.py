"""/api/v1/stats is cached per filter and data version (catalog.counts.cached_stats): after
each kind of write, what it answers equals the statistics computed directly."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import QueryDict
from django.test import Client

from noisebank.accounts.roles import Role
from noisebank.catalog import models as m
from noisebank.catalog.filters import parse_filters
from noisebank.catalog.stats import selection_stats
from noisebank.curation.services import recordings_review
from noisebank.testing import make_recording, make_user

QUERIES = ["", "category=Train+pass-by", "laeq_min=75", "unit=dBFS"]


def direct(query: str) -> dict[str, Any]:
    return selection_stats(parse_filters(QueryDict(query)))


def assert_answers_equal_direct(client: Client) -> None:
    for query in QUERIES:
        got = client.get(f"/api/v1/stats?{query}")
        assert got.status_code == 200
        assert got.json() == direct(query), query


@pytest.mark.django_db
def test_cached_stats_equal_a_direct_computation_after_every_kind_of_write(
    alice_client: Client, alice: User, bob: User
) -> None:
    cache.clear()
    for i in range(4):
        make_recording(collector=alice, analysis={"laeq": 70.0 + 3 * i})
    assert_answers_equal_direct(alice_client)  # computed, then cached
    before = alice_client.get("/api/v1/stats").json()["count"]

    make_recording(collector=alice, category="Warning signal", sound_class="Horn")
    assert alice_client.get("/api/v1/stats").json()["count"] == before + 1
    assert_answers_equal_direct(alice_client)

    # Levels rewritten (as a calibration or a new measurement does): the copies move the version.
    rec = m.Recording.objects.order_by("id").first()
    assert rec is not None
    m.NoiseAnalysis.objects.filter(recording=rec).update(laeq=-20.0, unit="dBFS")
    m.Recording.objects.filter(pk=rec.pk).copy_measurements()
    assert alice_client.get("/api/v1/stats?unit=dBFS").json()["count"] == 1
    assert_answers_equal_direct(alice_client)

    # A review decision brings one into what researchers see.
    submitted = make_recording(collector=bob, review_state=m.Recording.Review.SUBMITTED)
    assert_answers_equal_direct(alice_client)
    reviewer = make_user("rita", Role.REVIEWER)
    recordings_review(noise_ids=[submitted.noise_id], decision="accepted", reviewer=reviewer)
    assert alice_client.get("/api/v1/stats").json()["count"] == before + 2
    assert_answers_equal_direct(alice_client)
