"""JSON Lines: one JSON object a row, keys = column names in column order, UTF-8, LF line ends.

NULL -> null; datetimes -> ISO 8601 strings in UTC with a `Z` (as in CSV); floats -> JSON
numbers (shortest round-trip); NaN and ±infinity, which JSON has no words for, -> null;
text as is (non-ASCII unescaped).
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

from noisebank.exports.engine.columns import Column
from noisebank.exports.engine.writers import Row, WriterOptions
from noisebank.exports.engine.writers.csv import _datetime_cell

CHUNK_ROWS = 2_000
_NON_FINITE = ("NaN", "Infinity", "-Infinity")


class JsonLinesWriter:
    format = "jsonl"
    extension = "jsonl"
    content_type = "application/x-ndjson; charset=utf-8"

    def is_available(self) -> bool:
        return True

    def stream(
        self, columns: Sequence[Column], rows: Iterable[Row], options: WriterOptions
    ) -> Iterator[bytes]:
        encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        names = [c.name for c in columns]
        datetimes = [i for i, c in enumerate(columns) if c.type == "datetime"]
        # json writes NaN/Infinity (not JSON) for non-finite floats; they are turned into null
        # over the whole chunk. `"name":NaN` with the key's closing quote cannot come out of a
        # string value, whose quotes are escaped.
        fixes = [
            (f"{encode(c.name)}:{word}", f"{encode(c.name)}:null")
            for c in columns
            if c.type == "float"
            for word in _NON_FINITE
        ]
        it = iter(rows)
        while chunk := list(islice(it, CHUNK_ROWS)):
            if datetimes:
                cols = list(zip(*chunk, strict=True))
                for i in datetimes:
                    cols[i] = tuple(map(_datetime_cell, cols[i]))
                chunk = list(zip(*cols, strict=True))
            text = "\n".join([encode(dict(zip(names, row, strict=True))) for row in chunk])
            if fixes and ("NaN" in text or "Infinity" in text):
                for bad, good in fixes:
                    text = text.replace(bad, good)
            yield (text + "\n").encode()
