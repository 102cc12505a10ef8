from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from noisebank.catalog import models as m
from noisebank.testing import make_recording

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def recs(alice: User) -> list[m.Recording]:
    return [
        make_recording(
            collector=alice,
            recorded_at=T0 + timedelta(hours=i // 2),  # pairs share a time: the id breaks ties
            category="Warning signals" if i % 3 == 0 else "Train pass-by",
            analysis={"laeq": 60.0 + i},
        )
        for i in range(9)
    ]


def test_list_returns_count_results_and_next(alice_client: Client, recs: list[m.Recording]) -> None:
    body = alice_client.get("/api/v1/recordings?size=4").json()
    assert body["count"] == 9
    assert len(body["results"]) == 4
    assert body["next"]
    first = body["results"][0]
    assert list(first) == [
        "noise_id", "name", "category", "class", "subclass", "region", "community",
        "recording_date", "audio_duration", "unit", "laeq", "lafmax", "status",
    ]  # fmt: skip
    newest = max(recs, key=lambda r: (r.recorded_at, r.pk))
    assert first["noise_id"] == newest.noise_id
    assert first["recording_date"] == "2026-05-01T16:00:00Z"
    assert first["laeq"] == newest.analysis.laeq


def test_keyset_pages_cover_every_row_once_in_order(
    alice_client: Client, recs: list[m.Recording]
) -> None:
    seen: list[str] = []
    url = "/api/v1/recordings?size=2&columns=noise_id"
    while url:
        body = alice_client.get(url).json()
        seen += [r["noise_id"] for r in body["results"]]
        url = (
            f"/api/v1/recordings?size=2&columns=noise_id&cursor={body['next']}"
            if body["next"]
            else ""
        )
    expected = sorted(recs, key=lambda r: (r.recorded_at, r.pk), reverse=True)
    assert seen == [r.noise_id for r in expected]


def test_filters_and_columns_apply(alice_client: Client, recs: list[m.Recording]) -> None:
    body = alice_client.get(
        "/api/v1/recordings?category=warning+signals&laeq_min=61&columns=laeq,noise_id"
    ).json()
    assert body["count"] == 2
    assert [list(r) for r in body["results"]] == [["laeq", "noise_id"]] * 2
    assert sorted(r["laeq"] for r in body["results"]) == [63.0, 66.0]


def test_list_runs_a_fixed_number_of_queries(
    alice_client: Client, recs: list[m.Recording], django_assert_num_queries: Any
) -> None:
    alice_client.get("/api/v1/recordings")  # warm the session
    # session, user, groups, data version (the count of this filter is cached), the ids of this
    # small selection (pagination.FEW_ROWS), page
    with django_assert_num_queries(6):
        alice_client.get("/api/v1/recordings?size=3")
    with django_assert_num_queries(8):  # ... one to resolve the category names, and the count
        alice_client.get("/api/v1/recordings?size=3&category=Train+pass-by&columns=all")
    with django_assert_num_queries(7):  # counted once per filter and data version
        alice_client.get("/api/v1/recordings?size=5&category=train+pass-by")


def test_collector_may_browse_the_list(charlie_client: Client, recs: list[m.Recording]) -> None:
    assert charlie_client.get("/api/v1/recordings").json()["count"] == 9


def test_nobody_without_a_role_is_refused(nobody: User) -> None:
    c = Client()
    c.force_login(nobody)
    assert c.get("/api/v1/recordings").status_code == 403


def test_anonymous_client_gets_401(client: Client, db: None) -> None:
    assert client.get("/api/v1/recordings").status_code == 401


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("size=0", "size"),
        ("size=ten", "size"),
        ("size=1001", "size"),
        ("size=100000000", "size"),
        ("laeq_min=1e23", "laeq_min"),
        ("laeq_max=inf", "laeq_max"),
        ("laeq_min=nan", "laeq_min"),
        ("duration_min=-1", "duration_min"),
        ("cursor=zzz", "cursor"),
        ("columns=nope", "columns"),
        ("laeq_min=x", "laeq_min"),
        ("page=2", "page"),
        ("has_audio=perhaps", "has_audio"),
        ("calibrated=2", "calibrated"),
        ("unit=dBA", "unit"),
        ("bbox=170,0,-170,10", "bbox"),
        ("bbox=0,-91,1,0", "bbox"),
        ("bbox=1,2,3", "bbox"),
        ("noise_id=" + "N" * 65, "noise_id"),
    ],
)
def test_bad_parameters_are_400_naming_them(
    alice_client: Client, recs: list[m.Recording], query: str, param: str
) -> None:
    response = alice_client.get(f"/api/v1/recordings?{query}")
    assert response.status_code == 400
    assert [e["param"] for e in response.json()["errors"]] == [param]


def test_a_blank_cursor_is_the_first_page(alice_client: Client, recs: list[m.Recording]) -> None:
    body = alice_client.get("/api/v1/recordings?size=4&cursor=%20%0B%0A").json()
    assert body["results"] == alice_client.get("/api/v1/recordings?size=4").json()["results"]


def test_openapi_documents_the_filters(alice_client: Client, db: None) -> None:
    schema = alice_client.get("/api/v1/openapi.json").json()
    params = {p["name"] for p in schema["paths"]["/api/v1/recordings"]["get"]["parameters"]}
    assert {"q", "category", "recorded_from", "laeq_max", "status", "cursor"} <= params
    for fmt in ("csv", "xlsx", "parquet", "jsonl", "geojson", "zip"):
        assert schema["paths"][f"/api/v1/recordings/export.{fmt}"]["get"]["operationId"] == (
            f"export_recordings_{fmt}"
        )
    assert "/api/v1/recordings/dataset.zip" in schema["paths"]


def test_openapi_documents_the_new_filters(alice_client: Client, db: None) -> None:
    schema = alice_client.get("/api/v1/openapi.json").json()
    params = {p["name"]: p for p in schema["paths"]["/api/v1/recordings"]["get"]["parameters"]}
    assert params["unit"]["schema"]["items"]["anyOf"][0]["enum"] == ["dBFS", "dB SPL"]
    assert params["has_audio"]["schema"]["anyOf"][0]["enum"][:2] == ["yes", "no"]
    assert params["calibrated"]["schema"]["anyOf"][0]["enum"][:2] == ["yes", "no"]
    bbox = params["bbox"]
    assert bbox["schema"]["anyOf"][0]["pattern"].startswith("^")  # west,south,east,north
    assert params["noise_id"]["schema"]["maxItems"] == 1000
    assert "antimeridian" in bbox["description"]


def test_the_same_bad_number_is_refused_by_the_list_the_page_and_the_export(
    alice_client: Client, recs: list[m.Recording]
) -> None:
    answers = [
        alice_client.get(f"{url}?laeq_min=1e23")
        for url in ("/api/v1/recordings", "/recordings/", "/api/v1/recordings/export.csv")
    ]
    assert [a.status_code for a in answers] == [400, 400, 400]
    message = "laeq_min=1e23: must be between -200 and 200 dB."
    assert answers[0].json()["errors"] == [{"param": "laeq_min", "message": message}]
    assert message in answers[1].content.decode()
    assert answers[2].json()["errors"][0]["message"] == message


def test_a_name_of_another_taxonomy_level_is_explained(
    alice_client: Client, recs: list[m.Recording]
) -> None:
    make_recording(category="Warning signals", sound_class="Horn")
    response = alice_client.get("/api/v1/recordings?category=horn")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["param"] == "category"
    assert "'Horn' is a class: use class=Horn" in error["message"]
    assert alice_client.get("/api/v1/recordings?class=horn").json()["count"] == 1


def test_recordings_without_a_time_come_last_and_keyset_pages_reach_them(
    alice_client: Client, recs: list[m.Recording]
) -> None:
    unknown = [make_recording(recorded_at=None) for _ in range(3)]
    m.Recording.objects.filter(pk__in=[r.pk for r in unknown]).update(recorded_at=None)
    seen, cursor = [], ""
    while True:
        page = alice_client.get(f"/api/v1/recordings?size=4&cursor={cursor}").json()
        seen += [r["noise_id"] for r in page["results"]]
        if not page["next"]:
            break
        cursor = page["next"]
    assert len(seen) == len(set(seen)) == 12
    assert seen[-3:] == [r.noise_id for r in reversed(unknown)]
