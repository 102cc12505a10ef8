"""The CSV writer's bytes (writers/csv.py), formatted a column at a time by Arrow's C++ kernels.

    body = ArrowCsv(columns).body(rows)   # bytes without the header, or None

For rows as SQLite gives them: datetimes are the text SQLite stores (`2026-11-28 12:00:00`,
with `.ffffff` and `+00:00` when present), booleans 0 and 1. On the demo's 48 default columns
the Python writer spends about 0.7 µs a cell on such rows (parsing times, a call per float,
datetime and boolean cell, csv's quoting); this spends about 0.15 µs: one conversion of the
batch into Arrow arrays and a few kernels per column, all the float columns together. The
rules are the writer's, cell for cell:

- floats: Arrow's shortest text is the writer's (Python's repr without `.0`) between 1e-4 and
  1e10; Arrow writes the others in another layout (`0.00001`, `1e+10`), so those cells, rare
  in measurements, are formatted by the writer's own function;
- text: quoted when it holds a comma, a double quote, CR or LF, or is empty (a transform of
  text cells, such as a formula guard, belongs in `_text`, before the quoting);
- datetimes: rewritten by position (`…T…Z`, the fraction only when it is not zero) after a
  pattern check;
- integers and booleans: decimal digits, `true` / `false`.

None means "not here": a chunk with a value outside those shapes (a NUL character, which the
writer drops; a time stored in another layout; an integer column holding a fraction; a
value too big for Arrow) is left to the Python writer, which gives the bytes the rules above
describe for everything.
"""

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from noisebank.exports.engine.columns import Column, ColumnType
from noisebank.exports.engine.writers import Row
from noisebank.exports.engine.writers.csv import _float_cell

# The Arrow type each column's cells are read into (integers and booleans as float64 first, so
# that a fraction in them is caught by a checked cast instead of being truncated).
_READ_AS: dict[ColumnType, pa.DataType] = {
    "text": pa.string(),
    "integer": pa.float64(),
    "float": pa.float64(),
    "boolean": pa.float64(),
    "datetime": pa.string(),
}
# What Django's SQLite backend stores (str(datetime)), with the offset bulk inserts may add.
_STORED_TIME = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{6})?(\+00:00)?$"
_NEEDS_QUOTES = (b",", b'"', b"\r", b"\n")


class _Unsupported(Exception):
    """A value this path leaves to the Python writer."""


class ArrowCsv:
    def __init__(self, columns: Sequence[Column]) -> None:
        self.types = [c.type for c in columns]
        self.struct = pa.struct([(f"c{i}", _READ_AS[t]) for i, t in enumerate(self.types)])
        self.floats = [i for i, t in enumerate(self.types) if t == "float"]

    def body(self, rows: Sequence[Row]) -> bytes | None:
        """CSV lines (CRLF-ended) of `rows`, or None when the writer must format them."""
        if not rows:
            return b""
        try:
            table = pa.array(rows, type=self.struct)
            cells = [
                None if t == "float" else _FORMAT[t](table.field(i))
                for i, t in enumerate(self.types)
            ]
            for i, text in zip(self.floats, _floats(table, self.floats, rows), strict=True):
                cells[i] = text
            lines = pc.binary_join_element_wise(
                *cells, ",", null_handling="replace", null_replacement=""
            )
            lines = pc.binary_join_element_wise(lines, "", "\r\n")
        except (pa.ArrowException, _Unsupported):
            return None
        _, offsets, data = lines.buffers()
        ends = np.frombuffer(offsets, dtype=np.int32)
        body = data.to_pybytes()[ends[lines.offset] : ends[lines.offset + len(lines)]]
        # PostgreSQL text cannot hold NUL and the writer drops it; only text cells can hold one.
        return None if b"\x00" in body else body


def _floats(table: pa.StructArray, positions: list[int], rows: Sequence[Row]) -> list[pa.Array]:
    """The float columns' texts, formatted together (a handful of kernel calls a batch, not a
    handful a column)."""
    if not positions:
        return []
    n = len(rows)
    values = pa.concat_arrays([table.field(i) for i in positions])
    text = pc.cast(values, pa.string())
    size = pc.abs(values)
    elsewhere = pc.or_(
        pc.and_(pc.less(size, 1e-4), pc.not_equal(values, 0.0)),
        pc.invert(pc.less(size, 1e10)),  # also NaN and the infinities
    )
    if pc.any(elsewhere).as_py():
        spelt = [
            _float_cell(rows[k % n][positions[k // n]])
            for k in pc.indices_nonzero(elsewhere).to_pylist()
        ]
        text = pc.replace_with_mask(text, elsewhere, pa.array(spelt, pa.string()))
    return [text.slice(m * n, n) for m in range(len(positions))]


def _text(cells: pa.Array) -> pa.Array:
    data = cells.buffers()[2]
    raw = data.to_pybytes() if data is not None else b""
    if any(special in raw for special in _NEEDS_QUOTES):  # one scan of the column's bytes
        quote = pc.or_(pc.match_substring_regex(cells, '[,"\r\n]'), pc.equal(cells, ""))
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(cells, '"', '""'), '"', "")
        return pc.if_else(quote, quoted, cells)
    empty = pc.equal(cells, "")
    return pc.if_else(empty, '""', cells) if pc.any(empty).as_py() else cells


def _integer(cells: pa.Array) -> pa.Array:
    return pc.cast(pc.cast(cells, pa.int64()), pa.string())  # a checked cast: no fractions


def _boolean(cells: pa.Array) -> pa.Array:
    return pc.if_else(pc.not_equal(cells, 0.0), "true", "false")


def _datetime(cells: pa.Array) -> pa.Array:
    if not pc.all(pc.match_substring_regex(cells, _STORED_TIME), min_count=0).as_py():
        raise _Unsupported
    date, time = pc.utf8_slice_codeunits(cells, 0, 10), pc.utf8_slice_codeunits(cells, 11, 19)
    if pc.max(pc.binary_length(cells)).as_py() in (None, 19, 25):  # no fraction anywhere
        return pc.binary_join_element_wise(date, "T", time, "Z", "")
    fraction = pc.utf8_slice_codeunits(cells, 19, 26)
    shown = pc.and_(pc.starts_with(fraction, "."), pc.not_equal(fraction, ".000000"))
    fraction = pc.if_else(shown, fraction, "")
    return pc.binary_join_element_wise(date, "T", time, fraction, "Z", "")


_FORMAT: dict[ColumnType, Callable[[pa.Array], pa.Array]] = {
    "text": _text,
    "integer": _integer,
    "boolean": _boolean,
    "datetime": _datetime,
}
