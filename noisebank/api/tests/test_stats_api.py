"""GET /api/v1/stats: the selection's statistics, for the same filters as the list."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.http import QueryDict
from django.test import Client

from noisebank.api.responses import SelectionStats
from noisebank.catalog import models as m
from noisebank.catalog.filters import ReviewAccess, parse_filters
from noisebank.catalog.stats import GROUPS, selection_stats
from noisebank.testing import make_awkward_recordings, make_recording


@pytest.fixture
def catalogue(alice: User) -> None:
    make_awkward_recordings(collector=alice)
    make_recording(collector=alice, review_state=m.Recording.Review.SUBMITTED)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "unit=dBFS",
        "has_audio=yes&category=Ambience",
        "bbox=-20,-40,90,-30",
        "collector=alice&time_of_day=Evening",
    ],
)
def test_stats_answer_the_service_for_the_same_filters(
    alice_client: Client, catalogue: None, query: str
) -> None:
    response = alice_client.get(f"/api/v1/stats?{query}")
    assert response.status_code == 200
    body = response.json()
    assert body == selection_stats(parse_filters(QueryDict(query)))
    SelectionStats.model_validate(body)  # the documented shape
    listed = alice_client.get(f"/api/v1/recordings?{query}&size=1").json()
    assert body["count"] == listed["count"]


def test_stats_see_what_the_caller_may_select(
    alice_client: Client, admin_client: Client, catalogue: None
) -> None:
    researcher = alice_client.get("/api/v1/stats").json()["count"]
    everything = admin_client.get("/api/v1/stats?review=all").json()["count"]
    assert everything == researcher + 1
    assert (
        everything
        == selection_stats(
            parse_filters(QueryDict("review=all"), access=ReviewAccess.everything())
        )["count"]
    )
    assert alice_client.get("/api/v1/stats?review=all").json()["count"] == researcher
    refused = alice_client.get("/api/v1/stats?review=submitted")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["param"] == "review"


@pytest.mark.parametrize(
    ("query", "param"),
    [("bbox=170,0,-170,10", "bbox"), ("laeq_min=loud", "laeq_min"), ("size=3", "size")],
)
def test_bad_filters_are_400_naming_them(
    alice_client: Client, catalogue: None, query: str, param: str
) -> None:
    response = alice_client.get(f"/api/v1/stats?{query}")
    assert response.status_code == 400
    assert [e["param"] for e in response.json()["errors"]] == [param]


def test_stats_need_a_role(nobody: User, client: Client, db: None) -> None:
    assert client.get("/api/v1/stats").status_code == 401
    client.force_login(nobody)
    assert client.get("/api/v1/stats").status_code == 403


def test_openapi_documents_the_stats(alice_client: Client, db: None) -> None:
    schema: dict[str, Any] = alice_client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/stats"]["get"]
    assert operation["operationId"] == "selection_stats"
    assert {"bbox", "unit", "category", "review"} <= {p["name"] for p in operation["parameters"]}
    breakdown = schema["components"]["schemas"]["StatsBreakdown"]["properties"]
    assert set(breakdown) == set(GROUPS)
    properties = schema["components"]["schemas"]["SelectionStats"]["properties"]
    assert set(properties) == set(selection_stats(parse_filters(QueryDict(""))))
