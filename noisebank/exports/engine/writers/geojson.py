"""GeoJSON (RFC 7946): one FeatureCollection, a Feature a row, for GIS tools.

A row's geometry is a Point [longitude, latitude] (WGS 84, as stored, not rounded) taken from
the columns named `longitude` and `latitude`, written ones or WriterOptions.geometry_columns
(their values trail the row); a row without both, or without those columns, has geometry null,
which RFC 7946 allows. Properties are the written columns under the JSON Lines rules (the same
encoder: null, UTC instants with `Z`, NaN and ±infinity as null). One feature a line, so the
file streams row by row with flat memory, like JSON Lines.
"""

import math
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

import orjson

from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.writers import Row, WriterOptions
from noisebank.exports.engine.writers.jsonl import CHUNK_ROWS, JsonLinesWriter, json_object

HEAD = b'{"type":"FeatureCollection","features":[\n'
TAIL = b"\n]}\n"


def point(lon: object, lat: object) -> bytes:
    """A Point's JSON, or null when either coordinate is missing or not a finite number."""
    if (
        isinstance(lon, int | float)
        and isinstance(lat, int | float)
        and math.isfinite(lon)
        and math.isfinite(lat)
    ):
        return orjson.dumps({"type": "Point", "coordinates": [float(lon), float(lat)]})
    return b"null"


class GeoJsonWriter:
    format = "geojson"
    extension = "geojson"
    content_type = "application/geo+json"

    def is_available(self) -> bool:
        return True

    def alterations(self, options: WriterOptions) -> list[str]:
        return JsonLinesWriter().alterations(options)

    def stream(
        self, columns: Sequence[Column], rows: Iterable[Row], options: WriterOptions
    ) -> Iterator[bytes]:
        names = [c.name for c in columns]
        every = [*names, *(c.name for c in options.geometry_columns)]
        lon = every.index("longitude") if "longitude" in every else None
        lat = every.index("latitude") if "latitude" in every else None
        written = len(names)
        yield HEAD
        it = iter(rows)
        first = True
        while chunk := list(islice(it, CHUNK_ROWS)):
            features = [
                b'{"type":"Feature","geometry":'
                + (point(row[lon], row[lat]) if lon is not None and lat is not None else b"null")
                + b',"properties":'
                + json_object(names, row[:written])
                + b"}"
                for row in chunk
            ]
            yield (b"" if first else b",\n") + b",\n".join(features)
            first = False
        yield TAIL
