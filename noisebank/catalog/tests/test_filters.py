from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.http import QueryDict

from noisebank.catalog import models as m
from noisebank.catalog.filters import FilterError, from_original, parse_filters
from noisebank.testing import make_recording

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def recs(alice: User, bob: User) -> dict[str, m.Recording]:
    return {
        "horn": make_recording(
            collector=alice,
            category="Warning signals",
            sound_class="Horn",
            region="Zürich",
            recorded_at=T0,
            analysis={"laeq": 95.0},
            features={"duration_s": 4.0},
            description="Two-tone, near the bridge",
        ),
        "freight": make_recording(
            collector=bob,
            category="Train pass-by",
            sound_class="Freight train",
            recorded_at=T0 + timedelta(days=1, hours=3),
            analysis={"laeq": 80.0},
            features={"duration_s": 60.0},
            name="Freight at dawn",
        ),
        "pending": make_recording(
            collector=alice,
            category="Train pass-by",
            sound_class="Freight train",
            recorded_at=T0 + timedelta(days=5),
            with_measurements=False,
            status=m.Recording.Status.PENDING,
        ),
    }


def matching(query: str) -> set[str]:
    f = parse_filters(QueryDict(query))
    return set(m.Recording.objects.matching(f).values_list("noise_id", flat=True))


def ids(recs: dict[str, m.Recording], *keys: str) -> set[str]:
    return {recs[k].noise_id for k in keys}


def test_no_filter_matches_everything(recs: dict[str, m.Recording]) -> None:
    assert matching("") == ids(recs, "horn", "freight", "pending")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("category=Warning+signals", ["horn"]),
        ("category=warning+SIGNALS", ["horn"]),  # names match whatever their case
        ("category=Warning+signals&category=Train+pass-by", ["horn", "freight", "pending"]),
        ("class=horn", ["horn"]),
        ("region=zürich", ["horn"]),
        ("region=ZÜRICH", ["horn"]),  # case-insensitive beyond ASCII, on SQLite too
        ("collector=BOB", ["freight"]),
        ("status=pending", ["pending"]),
        ("status=ready&status=PENDING", ["horn", "freight", "pending"]),
        ("q=bridge", ["horn"]),
        ("q=FREIGHT+dawn", ["freight"]),  # every word must match somewhere
        ("q=freight+bridge", []),
        ("laeq_min=90", ["horn"]),
        ("laeq_max=90", ["freight"]),  # no levels, no match
        ("duration_min=10&duration_max=60", ["freight"]),
        ("recorded_from=2026-03-02", ["freight", "pending"]),
        ("recorded_to=2026-03-02", ["horn", "freight"]),  # a date means its whole day
        ("recorded_to=2026-03-01T12:00:00Z", ["horn"]),  # a moment is inclusive
        ("recorded_to=2026-03-01T11:59:59.999999Z", []),
        ("recorded_from=2026-03-02T15:00:00%2B02:00", ["freight", "pending"]),
        ("q=&category=", ["horn", "freight", "pending"]),  # empty values are no filter
    ],
)
def test_filters_select(recs: dict[str, m.Recording], query: str, expected: list[str]) -> None:
    assert matching(query) == ids(recs, *expected)


def test_taxa_match_by_id_too(recs: dict[str, m.Recording]) -> None:
    horn = recs["horn"]
    assert matching(f"category={horn.category_id}&class=Freight+train") == set()
    assert matching(f"category={horn.category_id}") == ids(recs, "horn")
    assert matching(f"collector={horn.collector_id}") == ids(recs, "horn", "pending")


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        ("colour=red", "colour", "Unknown parameter: colour."),
        ("category=Nope", "category", "category: there is no category named 'Nope'."),
        ("category=999999", "category", "there is no category with id 999999"),
        ("collector=mallory", "collector", "there is no collector named 'mallory'"),
        ("status=done", "status", "'done' is not one of pending, processing, ready, failed"),
        ("laeq_min=loud", "laeq_min", "laeq_min=loud: must be a number."),
        ("laeq_min=nan", "laeq_min", "laeq_min=nan: must be a number."),
        ("recorded_from=yesterday", "recorded_from", "is not an ISO 8601 date or date-time"),
        ("recorded_to=2026-02-30", "recorded_to", "is not an ISO 8601 date"),
        ("laeq_min=1&laeq_min=2", "laeq_min", "laeq_min is given 2 times; give it once."),
        ("q=" + "x" * 201, "q", "at most 200 characters"),
    ],
)
def test_bad_filters_name_the_parameter(
    recs: dict[str, m.Recording], query: str, param: str, message: str
) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filters(QueryDict(query))
    errors = caught.value.as_json()["errors"]
    assert [e["param"] for e in errors] == [param]
    assert message in errors[0]["message"]


def test_every_bad_parameter_is_reported_at_once(db: None) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filters(QueryDict("colour=red&laeq_min=x&recorded_to=never"))
    assert {e.param for e in caught.value.errors} == {"colour", "laeq_min", "recorded_to"}


def test_callers_own_parameters_are_allowed(db: None) -> None:
    assert parse_filters(QueryDict("size=50&after=abc"), extra={"size", "after"}).params == {}


def test_query_items_round_trip(recs: dict[str, m.Recording]) -> None:
    horn_category = str(recs["horn"].category_id)
    query = QueryDict(mutable=True)
    query.setlist("category", ["Train pass-by", horn_category])
    query.update({"q": "a b", "laeq_min": "3"})
    f = parse_filters(query)
    again = QueryDict(mutable=True)
    for k, v in f.query_items():
        again.appendlist(k, v)
    assert parse_filters(again) == f
    expected = {"q": "a b", "category": ["Train pass-by", horn_category], "laeq_min": "3"}
    expected["review"] = ["accepted"]  # always recorded: it decides what an export holds
    assert f.as_dict() == expected


def test_original_parameter_names_are_translated(recs: dict[str, m.Recording]) -> None:
    params = from_original(QueryDict("search=bridge&date_range=month"), now=T0)
    assert params == {"q": ["bridge"], "recorded_from": ["2026-03-01"]}
    assert from_original(QueryDict("date_range=week"), now=T0)["recorded_from"] == ["2026-02-23"]
    with pytest.raises(FilterError) as caught:
        from_original(QueryDict("date_range=decade"))
    assert caught.value.errors[0].param == "date_range"


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("laeq_min=90&laeq_max=80", "laeq_min=90 is greater than laeq_max=80: nothing can match."),
        ("duration_min=9&duration_max=1", "duration_min=9 is greater than duration_max=1"),
        ("recorded_from=2026-03-05&recorded_to=2026-03-01", "recorded_from=2026-03-05 is after"),
    ],
)
def test_a_minimum_above_its_maximum_matches_nothing_and_says_so(
    recs: dict[str, m.Recording], query: str, note: str
) -> None:
    f = parse_filters(QueryDict(query))
    assert not m.Recording.objects.matching(f).exists()
    assert len(f.notes) == 1 and f.notes[0].startswith(note)


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2026-03-01t08:30:00z", datetime(2026, 3, 1, 8, 30, tzinfo=UTC)),
        ("2026-12-31T23:59:60Z", datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
        ("2026-03-01T08:30:00.123456789+01:00", datetime(2026, 3, 1, 7, 30, 0, 123456, tzinfo=UTC)),
        ("0001-01-01T00:00:00+01:00", datetime.min.replace(tzinfo=UTC)),
    ],
)
def test_every_rfc_3339_moment_is_understood(value: str, moment: datetime, db: None) -> None:
    assert (
        parse_filters(QueryDict(f"recorded_from={value.replace('+', '%2B')}")).recorded_from
        == moment
    )


def test_the_last_day_there_is_can_be_the_end_of_a_range(recs: dict[str, m.Recording]) -> None:
    f = parse_filters(QueryDict("recorded_to=9999-12-31"))
    assert m.Recording.objects.matching(f).count() == 3
