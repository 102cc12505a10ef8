from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from noisebank.catalog.models import Recording
from noisebank.testing import make_recording

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def five(alice: User) -> list[Recording]:
    return [make_recording(collector=alice, recorded_at=T0 + timedelta(hours=i)) for i in range(5)]


def ids_on(response: Any) -> list[str]:
    return [r.noise_id for r in response.context["page"].items]


def test_list_shows_newest_first_with_total(alice_client: Client, five: list[Recording]) -> None:
    response = alice_client.get("/recordings/")
    assert response.status_code == 200
    assert response.context["total"] == 5
    assert ids_on(response) == [r.noise_id for r in reversed(five)]
    assert five[0].noise_id.encode() in response.content


def test_keyset_pages_cover_everything_once(
    alice_client: Client, alice: User, django_assert_max_num_queries: Any
) -> None:
    # Two recordings at the same instant: the id breaks the tie, nothing is skipped.
    recs = [make_recording(collector=alice, recorded_at=T0) for _ in range(3)]
    recs += [
        make_recording(collector=alice, recorded_at=T0 + timedelta(days=i)) for i in range(1, 120)
    ]
    seen: list[str] = []
    url = "/recordings/?size=50"
    while url:
        with django_assert_max_num_queries(6):
            response = alice_client.get(url)
        assert response.status_code == 200
        seen += ids_on(response)
        cursor = response.context["page"].next_cursor
        url = f"/recordings/?size=50&after={cursor}" if cursor else ""
    assert len(seen) == len(set(seen)) == 122
    assert sorted(seen) == sorted(r.noise_id for r in recs)


def test_list_runs_a_fixed_number_of_queries(
    alice_client: Client, five: list[Recording], django_assert_num_queries: Any
) -> None:
    alice_client.get("/recordings/")  # warm the session and role caches
    with django_assert_num_queries(5):  # session, user, groups, page, count
        alice_client.get("/recordings/")


def test_recording_without_measurements_shows_dashes(alice_client: Client, alice: User) -> None:
    make_recording(collector=alice, with_measurements=False, status=Recording.Status.PENDING)
    response = alice_client.get("/recordings/")
    assert response.status_code == 200
    assert "—" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?colour=red", "Unknown parameter: colour."),
        ("?size=7", "size must be one of 50, 100, 200."),
        ("?size=abc", "size must be one of 50, 100, 200."),
        ("?after=not-a-cursor", "The page cursor is not valid"),
        ("?after=W1tdLDFd", "The page cursor is not valid"),
    ],
)
def test_bad_parameters_get_a_clear_message(
    alice_client: Client, five: list[Recording], query: str, message: str
) -> None:
    response = alice_client.get("/recordings/" + query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_collector_sees_the_catalogue(charlie_client: Client, five: list[Recording]) -> None:
    assert charlie_client.get("/recordings/").status_code == 200


def test_list_applies_the_filters(alice_client: Client, alice: User) -> None:
    horn = make_recording(collector=alice, category="Warning signals", analysis={"laeq": 95.0})
    make_recording(collector=alice, category="Train pass-by", analysis={"laeq": 70.0})
    response = alice_client.get("/recordings/?category=warning+signals&laeq_min=90")
    assert response.status_code == 200
    assert ids_on(response) == [horn.noise_id]
    assert response.context["total"] == 1
    assert b"match the filters" in response.content


def test_pager_links_keep_the_filters(alice_client: Client, alice: User) -> None:
    for i in range(60):
        make_recording(collector=alice, category="Horns" if i % 2 else "Bells")
    response = alice_client.get("/recordings/?category=Horns&size=50")
    assert response.context["total"] == 30
    assert len(ids_on(response)) == 30
    response = alice_client.get("/recordings/?category=Bells&category=Horns")
    cursor = response.context["page"].next_cursor
    html = response.content.decode()
    assert f"?category=Bells&amp;category=Horns&amp;size=50&amp;after={cursor}" in html
    second = alice_client.get(f"/recordings/?category=Bells&category=Horns&size=50&after={cursor}")
    assert len(ids_on(second)) == 10


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?laeq_min=90&laeq_max=80", "laeq_min=90 is greater than laeq_max=80."),
        ("?recorded_from=tomorrow", "recorded_from=tomorrow: "),
        ("?category=Nope", "category: there is no category named &#x27;Nope&#x27;."),
    ],
)
def test_bad_filters_get_a_clear_message(
    alice_client: Client, five: list[Recording], query: str, message: str
) -> None:
    response = alice_client.get("/recordings/" + query)
    assert response.status_code == 400
    assert message in response.content.decode()
