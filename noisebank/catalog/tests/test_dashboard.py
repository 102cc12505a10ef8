"""The dashboard: its figures are the catalogue's, each bar opens the rows it counts."""

import re
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from noisebank.catalog import models as m
from noisebank.catalog.dashboard import level_bars, month_bars
from noisebank.exports.models import ExportJob
from noisebank.testing import PASSWORD, make_awkward_recordings, make_recording

# A bar of lib.charts: <a href="..." aria-label="<label>: <count>">
BAR = re.compile(r'<a href="([^"]+)" aria-label="([^"]*): ([0-9,]+)">')


@pytest.fixture
def catalogue(alice: User, charlie: User) -> None:
    make_awkward_recordings(collector=charlie)
    make_recording(collector=charlie, region="Ashanti", category="Warning signal")
    # The edges of the 50 dB bin: 50 is in it, 51 is the next bin's.
    for laeq in (50.0, 50.999, 51.0):
        make_recording(collector=charlie, analysis={"laeq": laeq})
    make_recording(collector=charlie, status=m.Recording.Status.FAILED, error="no audio frames")
    make_recording(collector=charlie, status=m.Recording.Status.PENDING)
    # Not accepted: outside a researcher's catalogue, inside review=all.
    make_recording(
        collector=charlie, category="Ambience", review_state=m.Recording.Review.SUBMITTED
    )


def bars(html: str) -> list[tuple[str, str, int]]:
    return [
        (unescape(href), unescape(label), int(n.replace(",", "")))
        for href, label, n in BAR.findall(html)
    ]


def api_count(client: Client, href: str) -> int:
    query = href.split("?", 1)[1]
    response = client.get(f"/api/v1/recordings?{query}&size=1")
    assert response.status_code == 200, response.content
    return int(response.json()["count"])


@pytest.mark.parametrize(("user", "query"), [("alice", ""), ("root", "?review=all")])
def test_every_bar_counts_the_rows_its_catalogue_link_shows(
    catalogue: None, admin: User, user: str, query: str
) -> None:
    client = Client()
    client.force_login(User.objects.get(username=user))
    response = client.get(f"/dashboard/{query}")
    assert response.status_code == 200
    html = response.content.decode()
    found = bars(html)
    labels = {label for _, label, _ in found}
    assert {"Ambience", "Ashanti", "50 to 51 dB SPL", "-25 to -24 dBFS"} <= labels
    assert len(found) > 10
    for href, label, n in found:
        assert href.startswith("/recordings/?"), href
        page = client.get(href)
        assert page.status_code == 200, (label, href)
        assert page.context["total"] == n, (label, href)
        assert api_count(client, href) == n, (label, href)
    total = response.context["stats"]["count"]
    assert total == api_count(client, f"/recordings/?{query[1:]}")
    assert f'data-figure="count">{total:,}<' in html


def test_a_researcher_counts_accepted_recordings_and_an_admin_may_count_every_state(
    catalogue: None, alice_client: Client, admin: User
) -> None:
    researcher = alice_client.get("/dashboard/").context["stats"]
    assert alice_client.get("/dashboard/?review=all").context["stats"] == researcher
    admin_client = Client()
    admin_client.force_login(admin)
    everything = admin_client.get("/dashboard/?review=all").context["stats"]
    assert everything["count"] == researcher["count"] + 1
    assert admin_client.get("/dashboard/").context["stats"] == researcher
    refused = alice_client.get("/dashboard/?review=submitted")
    assert refused.status_code == 400
    assert b"only reviewers and admins" in refused.content


def test_the_laeq_bin_links_hold_exactly_their_bin(catalogue: None, alice_client: Client) -> None:
    found = {label: (href, n) for href, label, n in bars(alice_client.get("/dashboard/").text)}
    href, n = found["50 to 51 dB SPL"]
    assert n == 2  # 50.0 and 50.999; 51.0 is in the next bin
    assert found["51 to 52 dB SPL"][1] == 1
    listed = {r["noise_id"] for r in alice_client.get(href).context["rows"]}
    in_bin = m.Recording.objects.filter(analysis__laeq__gte=50, analysis__laeq__lt=51)
    assert listed == set(in_bin.values_list("noise_id", flat=True))


def test_bins_and_months_between_the_ends_are_empty_bars_without_links() -> None:
    levels = level_bars(
        [{"low": 40.0, "high": 41.0, "count": 2}, {"low": 43.0, "high": 44.0, "count": 1}],
        "dBFS",
        [],
    )
    assert [(b.label, b.value, b.href is None) for b in levels] == [
        ("40 to 41 dBFS", 2, False),
        ("41 to 42 dBFS", 0, True),
        ("42 to 43 dBFS", 0, True),
        ("43 to 44 dBFS", 1, False),
    ]
    months = month_bars(
        [{"month": "2025-11", "count": 3}, {"month": "2026-02", "count": 1}], [("review", "all")]
    )
    assert [(b.label, b.value) for b in months] == [
        ("2025-11", 3),
        ("2025-12", 0),
        ("2026-01", 0),
        ("2026-02", 1),
    ]
    assert (
        months[0].href == "/recordings/?review=all&recorded_from=2025-11-01&recorded_to=2025-11-30"
    )
    assert months[1].href is None
    assert months[3].href is not None and "recorded_to=2026-02-28" in months[3].href


def test_a_month_bar_link_holds_the_whole_month_and_nothing_else(
    alice: User, alice_client: Client
) -> None:
    for at in ("2026-01-31T23:59:59.999999", "2026-02-01T00:00:00", "2026-02-28T23:59:59.999999",
               "2026-03-01T00:00:00"):  # fmt: skip
        make_recording(recorded_at=datetime.fromisoformat(at).replace(tzinfo=UTC))
    february = month_bars([{"month": "2026-02", "count": 2}], [])[0]
    assert february.href is not None
    assert alice_client.get(february.href).context["total"] == 2
    assert api_count(alice_client, february.href) == 2


def test_processing_counts_link_to_their_rows_and_failures_to_their_recordings(
    catalogue: None, alice_client: Client
) -> None:
    response = alice_client.get("/dashboard/")
    for status, n, href in response.context["statuses"]:
        assert alice_client.get(href).context["total"] == n, status
    failed = dict((s, n) for s, n, _ in response.context["statuses"])["failed"]
    assert failed >= 2
    listed = re.findall(
        r'<a class="mono" href="(/recordings/[^"/]+/)">', _section(response.text, "dash-failed")
    )
    assert len(listed) == min(failed, 10)
    for href in listed:
        page = alice_client.get(href)
        assert page.status_code == 200
        assert page.context["rec"].status == m.Recording.Status.FAILED


def _section(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</ul>", start)]


def test_recent_exports_are_ones_own_and_an_admins_are_everyones(
    catalogue: None, alice: User, bob: User, admin: User
) -> None:
    for owner, fingerprint in ((alice, "mine"), (bob, "theirs")):
        ExportJob.objects.create(
            owner=owner, format="parquet" if owner == bob else "csv",
            status=ExportJob.Status.DONE, rows_total=7, fingerprint=fingerprint,
            created_at=timezone.now(),
        )  # fmt: skip
    alice_sees = Client()
    alice_sees.force_login(alice)
    assert [j.owner for j in alice_sees.get("/dashboard/").context["exports"]] == [alice]
    admin_sees = Client()
    admin_sees.force_login(admin)
    assert {j.owner for j in admin_sees.get("/dashboard/").context["exports"]} == {alice, bob}


def test_recent_uploads_are_the_newest_of_the_catalogue(
    catalogue: None, alice_client: Client
) -> None:
    recent = alice_client.get("/dashboard/").context["recent"]
    newest = list(
        m.Recording.objects.filter(review_state="accepted")
        .order_by("-created_at", "-id")
        .values_list("noise_id", flat=True)[:8]
    )
    assert [r.noise_id for r in recent] == newest


@pytest.mark.parametrize(
    ("user", "lands_on"),
    [
        (None, "/accounts/login/?next=/"),
        ("charlie", "/recordings/mine/"),
        ("alice", "/dashboard/"),
        ("rita", "/dashboard/"),
        ("root", "/dashboard/"),
        ("nobody", "/recordings/"),
    ],
)
def test_home_is_each_roles_start_page(
    alice: User, charlie: User, rita: User, admin: User, nobody: User, user: Any, lands_on: str
) -> None:
    client = Client()
    if user:
        client.force_login(User.objects.get(username=user))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == lands_on


def test_dashboard_is_in_the_navigation_of_those_who_may_open_it(
    alice_client: Client, charlie_client: Client
) -> None:
    assert (
        b'href="/dashboard/" aria-current="page">Dashboard<'
        in alice_client.get("/dashboard/").content
    )
    assert b">Dashboard<" not in charlie_client.get("/recordings/mine/").content
    assert charlie_client.get("/dashboard/").status_code == 403


def test_a_researcher_logs_in_and_lands_on_the_dashboard(client: Client, alice: User) -> None:
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/dashboard/"
    assert response.status_code == 200
