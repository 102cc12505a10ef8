import json
from datetime import UTC, datetime

from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.tests.data import COLUMNS, NASTY_ROWS, check_golden
from noisebank.exports.engine.writers import Row, WriterOptions
from noisebank.exports.engine.writers.geojson import GeoJsonWriter
from noisebank.exports.engine.writers.jsonl import JsonLinesWriter

GOLDEN_ROWS = [r for r in NASTY_ROWS if r[0] != 0]
PLACES = [
    Column("id", "Id", "integer"),
    Column("latitude", "Latitude", "float"),
    Column("longitude", "Longitude", "float"),
]
LONGITUDE = Column("longitude", "Longitude", "float")
LATITUDE = Column("latitude", "Latitude", "float")


def write(columns: list[Column], rows: list[Row], **options: object) -> bytes:
    return b"".join(GeoJsonWriter().stream(columns, iter(rows), WriterOptions(**options)))


def test_geojson_matches_its_golden_file() -> None:
    check_golden("nasty.geojson", write(COLUMNS, GOLDEN_ROWS))


def test_properties_are_the_json_lines_objects_byte_for_byte() -> None:
    jsonl = b"".join(JsonLinesWriter().stream(COLUMNS, iter(GOLDEN_ROWS), WriterOptions()))
    lines = write(COLUMNS, GOLDEN_ROWS).split(b"\n")
    assert lines[0] == b'{"type":"FeatureCollection","features":['
    assert lines[-2:] == [b"]}", b""]
    features = [line.removesuffix(b",") for line in lines[1:-2]]
    prefix = b'{"type":"Feature","geometry":null,"properties":'
    assert all(f.startswith(prefix) and f.endswith(b"}") for f in features)
    assert [f[len(prefix) : -1] for f in features] == jsonl.split(b"\n")[:-1]


def test_a_point_is_longitude_then_latitude_and_a_missing_one_is_null() -> None:
    rows: list[Row] = [
        (1, 5.549, -0.203),
        (2, None, -0.203),
        (3, 47.378, None),
        (4, -90, 180),  # integers are numbers too
        (5, float("nan"), 1.0),
    ]
    features = json.loads(write(PLACES, rows))["features"]
    assert [f["geometry"] for f in features] == [
        {"type": "Point", "coordinates": [-0.203, 5.549]},
        None,
        None,
        {"type": "Point", "coordinates": [180.0, -90.0]},
        None,
    ]
    assert features[0]["properties"] == {"id": 1, "latitude": 5.549, "longitude": -0.203}
    assert features[4]["properties"]["latitude"] is None  # NaN: null, as in JSON Lines


def test_geometry_columns_trail_the_row_and_stay_out_of_the_properties() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    columns = [Column("id", "Id", "integer"), Column("recorded_at", "Recorded", "datetime")]
    rows: list[Row] = [(1, when, 8.54, 47.378), (2, None, None, None)]
    data = write(columns, rows, geometry_columns=(LONGITUDE, LATITUDE))
    features = json.loads(data)["features"]
    assert features[0] == {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [8.54, 47.378]},
        "properties": {"id": 1, "recorded_at": "2026-01-02T03:04:05Z"},
    }
    assert features[1]["geometry"] is None


def test_zero_rows_are_an_empty_feature_collection() -> None:
    assert json.loads(write(COLUMNS, [])) == {"type": "FeatureCollection", "features": []}


def test_chunks_join_into_one_valid_collection() -> None:
    rows: list[Row] = [(n, n / 1000, -n / 1000) for n in range(4_500)]  # three chunks
    features = json.loads(write(PLACES, rows))["features"]
    assert [f["properties"]["id"] for f in features] == list(range(4_500))
    assert features[4_499]["geometry"]["coordinates"] == [-4.499, 4.499]
