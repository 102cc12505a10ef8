import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import QueryDict
from hypothesis import given, settings
from hypothesis import strategies as st

from noisebank.api.schema import BBOX
from noisebank.catalog import models as m
from noisebank.catalog.filters import BBoxField, FilterError, from_original, parse_filters
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


@pytest.fixture
def sites(alice: User) -> dict[str, m.Recording]:
    """Recordings told apart by audio, unit, calibration and place."""
    device = m.Device.objects.create(name="Calibrated recorder", calibration_offset_db=120.0)
    bare = m.Device.objects.create(name="Bare recorder")
    return {
        # Accra, with its own calibration and audio.
        "accra": make_recording(
            collector=alice,
            latitude=5.6,
            longitude=-0.2,
            calibration_offset_db=110.0,
            audio="audio/2026/03/accra.wav",
        ),
        # On the box's corner; calibrated through its device.
        "corner": make_recording(
            collector=alice, latitude=5.0, longitude=-1.0, device=device, audio="audio/c.wav"
        ),
        # Near the antimeridian, uncalibrated (its device has no offset), levels in dBFS.
        "fiji": make_recording(
            collector=alice,
            latitude=-17.8,
            longitude=180.0,
            device=bare,
            analysis={"unit": m.NoiseAnalysis.Unit.DBFS},
        ),
        "samoa": make_recording(
            collector=alice,
            latitude=-13.8,
            longitude=-180.0,
            analysis={"unit": m.NoiseAnalysis.Unit.DBFS},
        ),
        # Nowhere, not measured.
        "nowhere": make_recording(collector=alice, with_measurements=False),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("has_audio=yes", ["accra", "corner"]),
        ("has_audio=NO", ["fiji", "samoa", "nowhere"]),
        ("has_audio=", ["accra", "corner", "fiji", "samoa", "nowhere"]),
        ("unit=dBFS", ["fiji", "samoa"]),
        ("unit=dB+SPL", ["accra", "corner"]),
        ("unit=db+spl&unit=DBFS", ["accra", "corner", "fiji", "samoa"]),  # unmeasured: no unit
        ("calibrated=yes", ["accra", "corner"]),
        ("calibrated=no", ["fiji", "samoa", "nowhere"]),
        ("calibrated=yes&unit=dBFS", []),
        ("bbox=-1,5,0,6", ["accra", "corner"]),  # the corner is on the edge: included
        ("bbox=-0.999,5,0,6", ["accra"]),
        ("bbox=-1,5.0001,0,6", ["accra"]),
        ("bbox=-0.2,5.6,-0.2,5.6", ["accra"]),  # a point is a box
        ("bbox=%20-1%20,%205%20,0,6", ["accra", "corner"]),  # spaces around the numbers
        ("bbox=170,-20,180,-10", ["fiji", "samoa"]),  # -180 and 180 are one meridian
        ("bbox=-180,-20,-170,-10", ["fiji", "samoa"]),
        ("bbox=-179,-90,179,90", ["accra", "corner"]),
        ("bbox=-180,-90,180,90", ["accra", "corner", "fiji", "samoa"]),  # no place: not in it
        ("bbox=-1,5,0,6&has_audio=no", []),
    ],
)
def test_new_filters_select(sites: dict[str, m.Recording], query: str, expected: list[str]) -> None:
    assert matching(query) == ids(sites, *expected)


def test_noise_ids_select_exactly_those_recordings(sites: dict[str, m.Recording]) -> None:
    accra, fiji = sites["accra"].noise_id, sites["fiji"].noise_id
    assert matching(f"noise_id={accra}") == {accra}
    assert matching(f"noise_id={accra}&noise_id={fiji}") == {accra, fiji}
    # As pasted into the page's box: commas, spaces and line breaks between them.
    assert matching(f"noise_id=%20{accra},%0D%0A{fiji},,") == {accra, fiji}
    assert matching(f"noise_id={accra.lower()}") == set()  # exact
    assert matching("noise_id=NSE-NOBODY-20260101000000-000000") == set()
    assert matching(f"noise_id={accra}&calibrated=no") == set()
    f = parse_filters(QueryDict(f"noise_id={accra},{fiji}&noise_id={accra}"))
    assert f.noise_ids == tuple(sorted({accra, fiji}))


def test_a_thousand_noise_ids_are_allowed_and_one_more_is_not(
    sites: dict[str, m.Recording],
) -> None:
    many = [f"NSE-X-{i:06d}" for i in range(999)]
    query = QueryDict(mutable=True)
    query.setlist("noise_id", [*many, sites["corner"].noise_id])
    f = parse_filters(query)
    assert len(f.noise_ids) == 1000
    assert set(m.Recording.objects.matching(f).values_list("noise_id", flat=True)) == {
        sites["corner"].noise_id
    }
    query.appendlist("noise_id", "NSE-X-one-more")
    with pytest.raises(FilterError) as caught:
        parse_filters(query)
    (error,) = caught.value.errors
    assert error.param == "noise_id"
    assert "1,001 ids given; at most 1,000 at a time" in error.message


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        ("has_audio=maybe", "has_audio", "has_audio=maybe: must be yes or no."),
        ("calibrated=2", "calibrated", "calibrated=2: must be yes or no."),
        ("unit=dBA", "unit", "unit: 'dBA' is not one of dBFS or dB SPL."),
        (
            "bbox=170,-20,-170,-10",
            "bbox",
            "bbox=170,-20,-170,-10: west 170 is east of east -170: a box across the "
            "antimeridian (180°) is not supported; ask for each side of it separately.",
        ),
        ("bbox=0,10,1,5", "bbox", "bbox=0,10,1,5: south 10 is north of north 5."),
        ("bbox=0,-91,1,5", "bbox", "south -91 is not a latitude (-90 to 90)."),
        ("bbox=0,0,1,90.5", "bbox", "north 90.5 is not a latitude (-90 to 90)."),
        ("bbox=-181,0,1,5", "bbox", "west -181 is not a longitude (-180 to 180)."),
        ("bbox=0,0,nan,5", "bbox", "east 'nan' is not a number in decimal degrees."),
        ("bbox=0,0,1e1,5", "bbox", "east '1e1' is not a number in decimal degrees."),
        ("bbox=0,0,180.0000000000000000001,5", "bbox", "east 180.0000000000000000001 is not a"),
        ("bbox=0,0,east,5", "bbox", "east 'east' is not a number in decimal degrees."),
        ("bbox=0,0,1", "bbox", "must be four numbers, west,south,east,north"),
        ("bbox=0,0,1,2,3", "bbox", "must be four numbers"),
        ("bbox=1,2,3,4&bbox=1,2,3,4", "bbox", "bbox is given 2 times; give it once."),
        ("noise_id=" + "N" * 65, "noise_id", "is longer than a noise_id can be (64 characters)"),
        ("noise_id=NSE%00X", "noise_id", "a noise_id cannot hold a NUL character"),
    ],
)
def test_bad_new_filters_name_the_parameter(db: None, query: str, param: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filters(QueryDict(query))
    errors = caught.value.as_json()["errors"]
    assert [e["param"] for e in errors] == [param]
    assert message in errors[0]["message"]


def test_new_filters_round_trip_and_are_recorded_for_manifests(
    sites: dict[str, m.Recording],
) -> None:
    accra, fiji = sites["accra"].noise_id, sites["fiji"].noise_id
    query = QueryDict(mutable=True)
    query.update({"has_audio": "no", "calibrated": "yes", "bbox": "-1,5,0,6", "unit": "dB SPL"})
    query.setlist("noise_id", [f"{accra} {fiji}", accra])
    f = parse_filters(query)
    again = QueryDict(mutable=True)
    for k, v in f.query_items():
        again.appendlist(k, v)
    assert parse_filters(again) == f
    assert f.as_dict() == {
        "has_audio": "no",
        "unit": ["dB SPL"],
        "calibrated": "yes",
        "bbox": "-1,5,0,6",
        "noise_id": [f"{accra} {fiji}", accra],
        "review": ["accepted"],
    }


def bbox_accepted(text: str) -> bool:
    """Whether the server reads it as a box (one in the wrong order counts: the schema cannot
    tell order, only form and range)."""
    try:
        BBoxField().clean(text)
    except ValidationError as e:
        return any(w in e.messages[0] for w in ("is east of east", "is north of north"))
    return True


COORDINATE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.decimals(allow_nan=False, places=25).map(str),
    st.from_regex(r"\s?[+-]?0{0,3}[0-9]{1,3}(\.[0-9]{0,4})?\s?", fullmatch=True),
    st.sampled_from(["180.0000000000000000001", "-90.", ".5", "5.", "1e1", "+", "٣", "1_0", ""]),
)


@settings(max_examples=500, derandomize=True, database=None)
@given(parts=st.lists(COORDINATE, min_size=3, max_size=5))
def test_the_bbox_schema_says_exactly_what_the_filter_accepts(parts: list[str]) -> None:
    text = ",".join(parts)
    assert (re.search(BBOX["pattern"], text) is not None) == bbox_accepted(text), text


@settings(max_examples=200, derandomize=True, database=None)
@given(text=st.from_regex(BBOX["pattern"]))
def test_every_box_the_schema_allows_is_read(text: str) -> None:
    assert bbox_accepted(text), text


@pytest.mark.django_db
def test_calibrated_counts_a_device_calibration_covering_the_recording_time() -> None:
    kit = m.Device.objects.create(name="Kit with a calibrator")
    m.Calibration.objects.create(
        device=kit, nominal_db=94.0, measured_dbfs=-26.0, offset_db=120.0, frequency_hz=1000.0,
        steadiness_db=0.01, steady_s=5.0, valid_from=datetime(2026, 3, 1, tzinfo=UTC),
        file="calibrations/k.wav",
    )  # fmt: skip
    after = make_recording(device=kit, recorded_at=datetime(2026, 3, 2, tzinfo=UTC))
    before = make_recording(device=kit, recorded_at=datetime(2026, 2, 2, tzinfo=UTC))
    unknown = make_recording(device=kit, recorded_at=None)
    unknown.recorded_at = None
    unknown.save()
    ids = {"yes": {after.pk}, "no": {before.pk, unknown.pk}}
    for answer, expected in ids.items():
        f = parse_filters({"calibrated": answer})
        assert set(m.Recording.objects.matching(f).values_list("pk", flat=True)) == expected
    assert after.effective_calibration_db == 120.0 and before.effective_calibration_db is None
