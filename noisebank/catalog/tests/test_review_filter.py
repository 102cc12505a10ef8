"""The review state in the one filter: accepted unless the filter says otherwise, and only
reviewers and admins (a collector: for their own recordings) may say otherwise."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from noisebank.accounts.roles import review_access
from noisebank.catalog.filters import FilterError, RecordingFilter, ReviewAccess, parse_filters
from noisebank.catalog.models import Recording
from noisebank.testing import make_recording

Review = Recording.Review


@pytest.fixture
def mixed(charlie: User, alice: User) -> dict[str, Recording]:
    """One recording in each review state, charlie's; plus a submitted one of alice's."""
    recs = {state: make_recording(collector=charlie, review_state=state) for state in Review.values}
    recs["alice_submitted"] = make_recording(collector=alice, review_state=Review.SUBMITTED)
    return recs


def selected(f: RecordingFilter) -> set[str]:
    return set(Recording.objects.matching(f).values_list("noise_id", flat=True))


def test_a_filter_selects_accepted_recordings_unless_it_says_otherwise(
    mixed: dict[str, Recording],
) -> None:
    f = parse_filters({})
    assert f.review_states == ("accepted",)
    assert selected(f) == {mixed["accepted"].noise_id}


def test_reviewers_may_select_any_review_state_or_all(mixed: dict[str, Recording]) -> None:
    everything = ReviewAccess.everything()
    f = parse_filters({"review": ["submitted", "REJECTED"]}, access=everything)
    assert f.review_states == ("submitted", "rejected")
    assert selected(f) == {
        mixed["submitted"].noise_id,
        mixed["alice_submitted"].noise_id,
        mixed["rejected"].noise_id,
    }
    assert selected(parse_filters({"review": "all"}, access=everything)) == {
        r.noise_id for r in mixed.values()
    }


def test_without_access_another_state_is_refused_naming_the_parameter(
    mixed: dict[str, Recording], alice: User
) -> None:
    with pytest.raises(FilterError) as e:
        parse_filters({"review": "submitted"}, access=review_access(alice))
    assert e.value.errors[0].param == "review"
    assert "only reviewers and admins" in e.value.errors[0].message
    # review=all means every state the caller may see: a researcher's is accepted.
    f = parse_filters({"review": "all"}, access=review_access(alice))
    assert selected(f) == {mixed["accepted"].noise_id}


def test_an_unknown_review_state_is_refused(db: None) -> None:
    with pytest.raises(FilterError) as e:
        parse_filters({"review": "approved"}, access=ReviewAccess.everything())
    assert e.value.errors[0].param == "review" and "'approved' is not one of" in str(e.value)


def test_a_collector_sees_their_own_recordings_in_any_state_and_others_once_accepted(
    mixed: dict[str, Recording], charlie: User, alice: User
) -> None:
    theirs = make_recording(collector=alice, review_state=Review.ACCEPTED)
    access = review_access(charlie)
    assert selected(parse_filters({}, access=access)) == {
        mixed["accepted"].noise_id,
        theirs.noise_id,
    }
    # alice's submitted recording stays out: a collector sees only their own outside accepted.
    assert selected(parse_filters({"review": "submitted"}, access=access)) == {
        mixed["submitted"].noise_id
    }
    assert selected(parse_filters({"review": "all"}, access=access)) == {
        *(mixed[s].noise_id for s in Review.values),
        theirs.noise_id,
    }


def test_roles_give_their_review_access(
    charlie: User, alice: User, rita: User, admin: User
) -> None:
    assert review_access(alice) == ReviewAccess()
    assert review_access(charlie) == ReviewAccess.own_recordings(charlie.pk)
    assert review_access(rita) == review_access(admin) == ReviewAccess.everything()


def test_catalogue_page_hides_other_states_from_researchers_and_offers_the_filter_to_reviewers(
    mixed: dict[str, Recording], alice_client: Client, rita_client: Client
) -> None:
    page = alice_client.get("/recordings/")
    assert [r["noise_id"] for r in page.context["rows"]] == [mixed["accepted"].noise_id]
    assert 'name="review"' not in page.content.decode()
    refused = alice_client.get("/recordings/?review=submitted")
    assert refused.status_code == 400 and "only reviewers and admins" in refused.content.decode()

    page = rita_client.get("/recordings/?review=submitted&review=rejected")
    assert page.status_code == 200 and 'name="review"' in page.content.decode()
    assert {r["noise_id"] for r in page.context["rows"]} == {
        mixed["submitted"].noise_id,
        mixed["alice_submitted"].noise_id,
        mixed["rejected"].noise_id,
    }
    assert page.context["total"] == 3
    assert 'class="review review-rejected"' in page.content.decode()


def test_list_api_gives_researchers_accepted_recordings_and_refuses_other_states(
    mixed: dict[str, Recording], alice_client: Client, rita_client: Client
) -> None:
    listed = alice_client.get("/api/v1/recordings?columns=noise_id").json()
    assert listed["count"] == 1 and listed["results"] == [{"noise_id": mixed["accepted"].noise_id}]
    refused = alice_client.get("/api/v1/recordings?review=changes_requested")
    assert refused.status_code == 400 and refused.json()["errors"][0]["param"] == "review"
    asked = rita_client.get("/api/v1/recordings?columns=noise_id,review_state&review=all").json()
    assert asked["count"] == 5
    assert {r["review_state"] for r in asked["results"]} == set(Review.values)


def test_a_recording_not_yet_accepted_is_hidden_from_researchers_but_not_its_collector(
    mixed: dict[str, Recording], alice_client: Client, charlie_client: Client, rita_client: Client
) -> None:
    noise_id = mixed["submitted"].noise_id
    for url in (f"/recordings/{noise_id}/", f"/api/v1/recordings/{noise_id}"):
        assert alice_client.get(url).status_code == 404
        assert charlie_client.get(url).status_code == 200
        assert rita_client.get(url).status_code == 200
    assert charlie_client.get(f"/api/v1/recordings/{noise_id}").json()["review_state"] == (
        "submitted"
    )
    # A collector does not see another collector's recording under review.
    assert charlie_client.get(f"/recordings/{mixed['alice_submitted'].noise_id}/").status_code == (
        404
    )
