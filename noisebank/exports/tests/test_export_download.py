"""GET /api/v1/recordings/export.<fmt>: streamed files that hold exactly the database's rows.

Exports read through a connection of their own, so these tests commit their data
(transactional_db) and run the same on SQLite and PostgreSQL.
"""

import json
import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import AsyncClient, Client

from noisebank.accounts.models import token_create
from noisebank.catalog import models as m
from noisebank.exports.columns import COLUMNS, PRESETS
from noisebank.exports.engine.writers import WRITERS
from noisebank.exports.tests.readback import (
    READERS,
    assert_rows_equal,
    expected_rows,
    open_connections,
    settled_connections,
)
from noisebank.testing import make_awkward_recordings, make_recording

pytestmark = pytest.mark.usefixtures("transactional_db")

FORMATS = sorted(WRITERS)


@pytest.fixture
def awkward(alice: User) -> list[m.Recording]:
    return make_awkward_recordings(collector=alice)


def download(client: Client, url: str) -> tuple[Any, bytes]:
    response: Any = client.get(url)
    assert response.status_code == 200, response.content
    assert response.streaming
    return response, b"".join(response.streaming_content)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("preset", ["default", "all"])
def test_every_format_reads_back_to_the_database_rows(
    alice_client: Client, awkward: list[m.Recording], fmt: str, preset: str
) -> None:
    response, body = download(alice_client, f"/api/v1/recordings/export.{fmt}?columns={preset}")
    names = PRESETS[preset]
    rows = READERS[fmt](body, names)
    assert_rows_equal(rows, expected_rows(names), fmt)
    assert response["X-Row-Count"] == str(len(awkward))


@pytest.mark.parametrize("fmt", FORMATS)
def test_columns_select_and_order(
    alice_client: Client, awkward: list[m.Recording], fmt: str
) -> None:
    names = ["laeq", "noise_id", "band_31_5", "mfcc_1", "recording_date", "event_durations"]
    query = f"columns={','.join(names[:4])}&columns={','.join(names[4:])}"  # repeatable too
    _, body = download(alice_client, f"/api/v1/recordings/export.{fmt}?{query}")
    assert_rows_equal(READERS[fmt](body, names), expected_rows(names), fmt)


def test_download_headers_carry_count_name_and_manifest(
    alice_client: Client, awkward: list[m.Recording]
) -> None:
    response, body = download(
        alice_client, "/api/v1/recordings/export.csv?region=%C3%8Ele-de-France&laeq_min=50"
    )
    count = m.Recording.objects.filter(analysis__laeq__gte=50).count()
    assert 0 < count < len(awkward)
    assert response["X-Row-Count"] == str(count)
    assert body.count(b"\n") > count  # header, rows, and line breaks inside quoted text
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="noisebank-recordings-\d{8}T\d{6}Z\.csv"',
        response["Content-Disposition"],
    )
    assert response["X-Accel-Buffering"] == "no"
    manifest = json.loads(response["X-Noisebank-Manifest"])
    response["X-Noisebank-Manifest"].encode("ascii")  # header values stay ASCII
    assert manifest["row_count"] == count
    assert manifest["filters"] == {
        "region": ["Île-de-France"],
        "laeq_min": "50",
        "review": ["accepted"],
    }
    assert manifest["columns"] == "default"
    assert manifest["format"] == "csv"
    assert manifest["sha256"] is None  # a stream's digest exists only after its last byte
    assert manifest["snapshot_at"] == response["X-Export-Snapshot"]
    assert manifest["software"].startswith("noisebank ")


def test_manifest_only_describes_the_selection(
    alice_client: Client, awkward: list[m.Recording]
) -> None:
    response = alice_client.get("/api/v1/recordings/export.csv?manifest=1&columns=noise_id,laeq")
    assert response.status_code == 200
    body = response.json()
    assert body["row_count"] == len(awkward)
    assert [c["name"] for c in body["columns"]] == ["noise_id", "laeq"]
    assert body["columns"][1]["unit"] == "dB"
    assert body["filename"].endswith(".csv")


def test_bom_starts_the_csv_for_excel(alice_client: Client, awkward: list[m.Recording]) -> None:
    _, body = download(alice_client, "/api/v1/recordings/export.csv?bom=1&columns=noise_id")
    assert body.startswith(b"\xef\xbb\xbfnoise_id\r\n")
    _, plain = download(alice_client, "/api/v1/recordings/export.csv?columns=noise_id")
    assert plain.startswith(b"noise_id\r\n")


def test_empty_selection_is_a_file_with_only_the_header(alice_client: Client, db: None) -> None:
    response, body = download(alice_client, "/api/v1/recordings/export.csv?columns=noise_id,name")
    assert body == b"noise_id,name\r\n"
    assert response["X-Row-Count"] == "0"


def test_bearer_token_downloads_without_a_session(
    client: Client, alice: User, awkward: list[m.Recording]
) -> None:
    _, raw = token_create(user=alice)
    response: Any = client.get(
        "/api/v1/recordings/export.csv?columns=noise_id", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 200
    assert len(b"".join(response.streaming_content).splitlines()) == len(awkward) + 1


def test_anonymous_client_gets_401_json(client: Client, db: None) -> None:
    response = client.get("/api/v1/recordings/export.csv")
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_collector_cannot_export(charlie_client: Client, awkward: list[m.Recording]) -> None:
    response = charlie_client.get("/api/v1/recordings/export.csv")
    assert response.status_code == 403
    assert "researcher" in response.json()["detail"]


def test_admin_can_export(admin: User, awkward: list[m.Recording]) -> None:
    c = Client()
    c.force_login(admin)
    _, body = download(c, "/api/v1/recordings/export.csv?columns=noise_id")
    assert len(body.splitlines()) == len(awkward) + 1


def test_a_response_closed_unread_ends_its_snapshot(
    alice_client: Client, awkward: list[m.Recording]
) -> None:
    before = open_connections()
    response = alice_client.get("/api/v1/recordings/export.csv")
    assert response.status_code == 200
    assert open_connections() > before  # the snapshot, counted, waiting to be read
    response.close()  # what a server does when the client left before the first byte
    assert settled_connections(before) == before


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        ("export.csv?colour=red", "colour", "Unknown parameter: colour."),
        ("export.csv?columns=noise_id,loud,pitch", "columns", "Unknown columns: loud, pitch"),
        ("export.csv?columns=,", "columns", "columns is empty"),
        ("export.csv?laeq_min=1e23", "laeq_min", "must be between -200 and 200 dB"),
        ("export.csv?recorded_from=01/03/2026", "recorded_from", "is not an ISO 8601"),
        ("export.csv?duration_max=long", "duration_max", "must be a number"),
        ("export.csv?bom=maybe", "bom", "bom=maybe: use 1 or 0."),
        ("export.csv?category=Nope", "category", "no category named 'Nope'"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(
    alice_client: Client, db: None, query: str, param: str, message: str
) -> None:
    response = alice_client.get(f"/api/v1/recordings/{query}")
    assert response.status_code == 400
    body = response.json()
    assert param in [e["param"] for e in body["errors"]]
    assert message in body["detail"]


def test_an_unknown_format_is_a_404_naming_the_formats(alice_client: Client, db: None) -> None:
    response = alice_client.get("/api/v1/recordings/export.xls")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("Unknown format: 'xls'. Available: csv,")


def test_a_format_the_product_knows_but_this_server_lacks_is_named(
    alice_client: Client, db: None
) -> None:
    missing = [f for f in ("xlsx", "parquet", "jsonl", "zip") if f not in WRITERS]
    for fmt in missing:
        response = alice_client.get(f"/api/v1/recordings/export.{fmt}")
        assert response.status_code == 400
        assert f"The {fmt} format is not available" in response.json()["detail"]


def test_columns_dictionary_lists_every_column(alice_client: Client, db: None) -> None:
    body = alice_client.get("/api/v1/columns").json()
    assert [c["name"] for c in body["columns"]] == list(COLUMNS)
    assert body["presets"]["default"]["columns"][:3] == ["noise_id", "name", "dataset_type"]
    assert "laeq_min" in body["filters"]
    page = alice_client.get("/columns/")
    assert page.status_code == 200
    assert b"band_31_5" in page.content and b"1/3-octave" in page.content


def test_under_asgi_the_file_streams_from_an_async_iterator(
    async_client: AsyncClient, alice: User, awkward: list[m.Recording]
) -> None:
    async def fetch() -> tuple[Any, bytes]:
        await async_client.aforce_login(alice)
        response: Any = await async_client.get("/api/v1/recordings/export.csv?columns=noise_id")
        return response, b"".join([chunk async for chunk in response.streaming_content])

    response, body = async_to_sync(fetch)()
    assert response.status_code == 200
    assert response.is_async  # Django would otherwise read a sync iterator whole first
    lines = body.decode().splitlines()
    assert lines[0] == "noise_id"
    assert sorted(lines[1:]) == sorted(r.noise_id for r in awkward)


def test_export_equals_the_list_for_a_matrix_of_filters(alice_client: Client, alice: User) -> None:
    awkward = make_awkward_recordings(collector=alice)
    for i in range(6):
        make_recording(
            collector=alice,
            category="Warning signals" if i % 2 else "Train pass-by",
            region="Ashanti" if i % 3 else "Western",
            analysis={"laeq": 60.0 + 7 * i},
            features={"duration_s": 3.0 * i},
            status=m.Recording.Status.READY,
        )
    matrix = [
        "",
        "category=warning+signals",
        "category=Train+pass-by&category=Ambience",
        "region=Ashanti&laeq_min=70",
        "laeq_min=55&laeq_max=80",
        "duration_min=3&duration_max=10",
        "status=failed",
        "q=zürich",
        "q=%22loud%22",
        "recorded_from=2025-01-03&recorded_to=2025-01-05",
        "recorded_to=2025-01-02T00:00:00.123455Z",
        "class=Crossing+bell&subclass=%C3%89lectronique",
    ]
    new = [
        "has_audio=yes",
        "has_audio=no&category=Ambience",
        "unit=dBFS",
        "unit=dB+SPL&region=Ashanti",
        "calibrated=yes",
        "calibrated=no&has_audio=no",
        "bbox=-20,-40,90,-30",
        "bbox=-180,-90,180,90&unit=dB+SPL",
        f"noise_id={awkward[0].noise_id}&noise_id={awkward[1].noise_id},{awkward[5].noise_id}",
    ]
    total = m.Recording.objects.count()
    for query in matrix + new:
        listed: list[str] = []
        url = f"/api/v1/recordings?{query}&size=7&columns=noise_id"
        while url:
            page = alice_client.get(url).json()
            listed += [r["noise_id"] for r in page["results"]]
            url = f"/api/v1/recordings?{query}&size=7&columns=noise_id&cursor={page['next']}"
            url = url if page["next"] else ""
        _, body = download(alice_client, f"/api/v1/recordings/export.csv?{query}&columns=noise_id")
        exported = body.decode().splitlines()[1:]
        assert sorted(exported) == sorted(listed), query
        assert len(exported) == page["count"], query
        if query in new:  # each selects some rows, not all: it is not ignored anywhere
            assert 0 < len(exported) < total, query
    assert len(matrix) == 12 and len(new) == 9


def test_a_download_costs_the_request_three_queries_whatever_its_size(
    alice_client: Client, alice: User, django_assert_num_queries: Any
) -> None:
    alice_client.get("/api/v1/columns")  # warm the session
    make_awkward_recordings(collector=alice)
    # session, user, groups; the count and the rows run on the export's own connection.
    with django_assert_num_queries(3):
        download(alice_client, "/api/v1/recordings/export.csv?columns=all")
    with django_assert_num_queries(4):  # ... and one to resolve a region's name
        download(alice_client, "/api/v1/recordings/export.csv?region=Île-de-France")
