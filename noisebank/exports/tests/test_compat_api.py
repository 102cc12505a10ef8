"""GET /api/export-data/: the original system's batch API, for its users' scripts."""

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from noisebank.catalog import models as m
from noisebank.exports.columns import ORIGINAL_NAMES
from noisebank.testing import make_recording

URL = "/api/export-data/"


@pytest.fixture
def recs(alice: User, bob: User) -> list[m.Recording]:
    return [
        make_recording(
            collector=alice if i % 2 else bob,
            category="Warning signals" if i % 3 == 0 else "Train pass-by",
            name=f"Pass {i}, near the bridge" if i < 4 else f"Pass {i}",
            recorded_at=datetime(2001, 5, 1, tzinfo=UTC) + timedelta(minutes=i),
        )
        for i in range(11)
    ]


def test_response_has_the_original_shape_and_columns(
    alice_client: Client, recs: list[m.Recording]
) -> None:
    body = alice_client.get(f"{URL}?batch_size=4&offset=0").json()
    assert set(body) == {"results", "total", "offset", "batch_size", "has_more", "next"}
    assert (body["total"], body["offset"], body["batch_size"], body["has_more"]) == (11, 0, 4, True)
    assert [list(r) for r in body["results"]] == [ORIGINAL_NAMES] * 4
    first = body["results"][0]
    assert first["noise_id"] == recs[0].noise_id  # id order, as the original
    assert first["class"] == "Freight train"
    assert first["recording_date"] == recs[0].recorded_at.isoformat()  # the original's format
    assert first["audio_file"] == ""  # missing values are "", as the original wrote them
    assert first["mean_db"] == 77.5


def test_offset_pages_as_the_original_client_did(
    alice_client: Client, recs: list[m.Recording]
) -> None:
    total = alice_client.get(f"{URL}?batch_size=5").json()["total"]
    seen = []
    for offset in range(0, total, 5):
        body = alice_client.get(f"{URL}?batch_size=5&offset={offset}&total={total}").json()
        seen += [r["noise_id"] for r in body["results"]]
    assert seen == [r.noise_id for r in recs]
    assert body["has_more"] is False and body["next"] is None


def test_next_cursor_pages_without_offset(alice_client: Client, recs: list[m.Recording]) -> None:
    seen: list[str] = []
    url = f"{URL}?batch_size=3"
    while url:
        body = alice_client.get(url).json()
        seen += [r["noise_id"] for r in body["results"]]
        url = f"{URL}?batch_size=3&cursor={body['next']}" if body["next"] else ""
    assert seen == [r.noise_id for r in recs]


def test_batch_size_is_capped_at_1000(alice_client: Client, recs: list[m.Recording]) -> None:
    assert alice_client.get(f"{URL}?batch_size=5000").json()["batch_size"] == 1000


def test_original_filter_names_work(alice_client: Client, recs: list[m.Recording]) -> None:
    category = recs[0].category_id
    body = alice_client.get(f"{URL}?category={category}&search=bridge").json()
    assert {r["noise_id"] for r in body["results"]} == {recs[0].noise_id, recs[3].noise_id}
    assert body["total"] == 2
    assert alice_client.get(f"{URL}?category=warning+signals").json()["total"] == 4
    this_year = make_recording(category="Warning signals", recorded_at=timezone.now())
    body = alice_client.get(f"{URL}?category=warning+signals&date_range=year").json()
    assert [r["noise_id"] for r in body["results"]] == [this_year.noise_id]


def test_logs_like_the_original(alice_client: Client, recs: list[m.Recording], caplog: Any) -> None:
    with caplog.at_level(logging.INFO, logger="noisebank.exports"):
        alice_client.get(f"{URL}?batch_size=500&offset=0")
    messages = [r.getMessage() for r in caplog.records]
    assert "Export API: offset=0, batch_size=500, total=11" in messages
    assert any(m.startswith("Query completed in ") for m in messages)
    assert any(m.startswith("Total API time: ") and m.endswith("for 11 records") for m in messages)
    structured = [r for r in caplog.records if getattr(r, "event", "") == "export_api"]
    assert structured[0].total == 11


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("batch_size=-1", "batch_size"),
        ("batch_size=0", "batch_size"),
        ("offset=abc", "offset"),
        ("cursor=nope", "cursor"),
        ("date_range=decade", "date_range"),
        ("category=Nope", "category"),
        ("colour=red", "colour"),
    ],
)
def test_bad_input_is_a_400_naming_it(
    alice_client: Client, recs: list[m.Recording], query: str, param: str
) -> None:
    response = alice_client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert param in [e["param"] for e in response.json()["errors"]]


def test_collector_gets_403_and_anonymous_401(
    charlie_client: Client, client: Client, db: None
) -> None:
    assert charlie_client.get(URL).status_code == 403
    assert client.get(URL).status_code == 401


def test_a_batch_runs_a_fixed_number_of_queries(
    alice_client: Client, recs: list[m.Recording], django_assert_num_queries: Any
) -> None:
    alice_client.get(URL)
    with django_assert_num_queries(4):  # session, user, groups, batch (total given)
        alice_client.get(f"{URL}?offset=5&total=11")
