"""Keyset pagination: pages by the last row seen, never by OFFSET.

A cursor is an opaque, URL-safe token holding the sort value and id of the last row of a page
(and, when the caller asks, a tag naming the order it belongs to).

A page after (value, id) is `WHERE (field, id) < (value, id) ORDER BY field DESC, id DESC LIMIT n`
(or > and ASC): a row-value comparison, which PostgreSQL answers from an index on (field, id) by
starting the scan at the cursor, whatever the depth. (`field < v OR (field = v AND id < pk)` is
the same set, but PostgreSQL then walks the index from its start and filters.) SQLite is given the
row value too (Django would write the OR form for it, which SQLite answers by sorting every row
past the cursor).

A nullable field puts its NULL rows after all the others in either direction, ordered by id: the
page is read from the non-NULL rows first and, once they run out, from the NULL ones.
"""

import base64
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Count, F, QuerySet
from django.db.models.fields.tuple_lookups import (
    Tuple,
    TupleGreaterThan,
    TupleLessThan,
    TupleLookupMixin,
)

T = TypeVar("T")

MAX_PK = 2**63 - 1
# A selection of at most this many rows (its count, known to the caller) is sorted, not read
# along the order's index (keyset_page's few): sorting them costs a few milliseconds.
FEW_ROWS = 5_000  # a bigint; larger ids in a forged cursor would be a database error


class BadCursor(ValueError):
    pass


class _RowLessThan(TupleLessThan):
    def as_sqlite(self, compiler: Any, connection: Any) -> Any:
        # SQLite (3.15+) compares row values itself and walks the (field, id) index from them;
        # Django's fallback for it, `a < x OR (a = x AND b < y)`, sorted every row past the
        # cursor (1.1 s for a second page of 23,453 recordings, 0.5 ms this way).
        return super(TupleLookupMixin, self).as_sql(compiler, connection)


class _RowGreaterThan(TupleGreaterThan):
    def as_sqlite(self, compiler: Any, connection: Any) -> Any:
        return super(TupleLookupMixin, self).as_sql(compiler, connection)


def encode_cursor(value: Any, pk: int, tag: str | None = None) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    payload = [value, pk] if tag is None else [value, pk, tag]
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _storable(value: Any) -> bool:
    """A value the database can compare with: no NaN, no oversized int, no NUL in text."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | datetime):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int):
        return -MAX_PK <= value <= MAX_PK
    return not (isinstance(value, str) and "\x00" in value)


def decode_cursor(
    token: str, *, tag: str | None = None, allow_null: bool = False
) -> tuple[Any, int]:
    """(value, pk) of a cursor; BadCursor unless it is well formed (and carries `tag`)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        if not isinstance(payload, list) or len(payload) not in (2, 3):
            raise TypeError
        value, pk = payload[0], payload[1]
        if (payload[2] if len(payload) == 3 else None) != tag:
            raise TypeError
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["dt"])
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
        if not isinstance(pk, int) or isinstance(pk, bool) or not 0 <= pk <= MAX_PK:
            raise TypeError
        if not ((value is None and allow_null) or _storable(value)):
            raise TypeError
    except (ValueError, TypeError, KeyError, OverflowError):
        raise BadCursor("The page cursor is not valid; start again from the first page.") from None
    return value, pk


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    # Before the first row, when rows come before it: what a `backward` page starts from.
    prev_cursor: str | None = None


def _value_of(row: Any, field: str) -> Any:
    if isinstance(row, dict):
        return row[field]
    value = row
    for part in field.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _cursor_of(row: Any, field: str, tag: str | None) -> str:
    pk = row["id"] if isinstance(row, dict) else row.pk
    return encode_cursor(_value_of(row, field), pk, tag)


def _page(
    rows: list[T], size: int, field: str, tag: str | None, *, started: bool, backward: bool
) -> Page[T]:
    """The first `size` of `rows` (read one over, in reading order) as a page in the list's
    order, with a cursor on each side that has more rows. `started`: read from a cursor, so
    rows lie behind the reading (before a forward page, after a backward one)."""
    more = len(rows) > size
    items = rows[:size]
    if backward:
        items.reverse()
    if not items:
        return Page(items, None)
    ahead, behind = (items[0], items[-1]) if backward else (items[-1], items[0])
    ahead_cursor = _cursor_of(ahead, field, tag) if more else None
    behind_cursor = _cursor_of(behind, field, tag) if started else None
    if backward:
        return Page(items, behind_cursor, ahead_cursor)
    return Page(items, ahead_cursor, behind_cursor)


def _read(parts: list[Any], size: int) -> list[Any]:
    """Up to size + 1 rows from the querysets in turn."""
    rows: list[Any] = []
    for qs in parts:
        rows += list(qs[: size + 1 - len(rows)])
        if len(rows) > size:
            break
    return rows


def _keyset_parts(
    queryset: "QuerySet[Any, Any]",
    *,
    field: str,
    tiebreak: str,
    descending: bool,
    nullable: bool,
    unique: bool,
    after: tuple[Any, int] | None,
    backward: bool,
) -> list["QuerySet[Any, Any]"]:
    """The querysets to read in turn, each ordered in the reading direction and starting past
    `after`: the rows with a value, then (for a nullable field) those without; the other way
    round, each reversed, for a backward read."""
    reverse = descending != backward
    direction = "-" if reverse else ""
    op = _RowLessThan if reverse else _RowGreaterThan
    lookup = "lt" if reverse else "gt"
    valued = queryset.filter(**{f"{field}__isnull": False}) if nullable else queryset
    valued = valued.order_by(f"{direction}{field}", *([] if unique else [f"{direction}{tiebreak}"]))
    if after is not None and after[0] is not None:
        try:
            if unique:
                valued = valued.filter(**{f"{field}__{lookup}": after[0]})
            else:
                valued = valued.filter(op(Tuple(F(field), F(tiebreak)), after))
        except (ValidationError, ValueError, TypeError):
            raise BadCursor("The page cursor does not fit this list; start again.") from None
    if not nullable:
        return [valued]
    nulls = queryset.filter(**{f"{field}__isnull": True}).order_by(f"{direction}id")
    if after is not None and after[0] is None:
        nulls = nulls.filter(**{f"id__{lookup}": after[1]})
    in_nulls = after is not None and after[0] is None
    if backward:
        return [nulls, valued] if after is None or in_nulls else [valued]
    return [nulls] if in_nulls else [valued, nulls]


def keyset_page(
    queryset: "QuerySet[Any, T]",
    *,
    field: str,
    descending: bool,
    cursor: str | None,
    size: int,
    tiebreak: str = "id",
    nullable: bool = False,
    unique: bool = False,
    value_types: tuple[type, ...] = (str, int, float, datetime),
    tag: str | None = None,
    after: tuple[Any, int] | None = None,
    backward: bool = False,
    few: "QuerySet[Any, Any] | None" = None,
) -> Page[T]:
    """One page of `queryset` ordered by (`field`, id), NULLs of a nullable `field` last.

    `tiebreak` is the column holding the row's id on `field`'s own table (e.g.
    "analysis__recording_id" for "analysis__laeq"), so that the comparison and the order can be
    served by one index on that table. Rows may be model instances or dicts (a .values()
    queryset that includes `field` and id). A `unique` field needs no id to break ties, so
    its own index serves the order. A cursor whose value is not one of `value_types`
    (or whose tag is not `tag`) is a BadCursor, not a database error. `after`, instead of a
    cursor, is the (value, id) a caller decoded itself.

    `backward`: the page of rows just before the cursor (without one: the last page), read in
    reverse on the same index and handed back in the list's order.

    `few`: the selection (filters only, no columns), given when the caller knows it is small
    (its count, at most FEW_ROWS). Its rows are then found by their filters' best index and
    sorted, never by walking the order's index:
    PostgreSQL guesses the share of rows two correlated filters keep (a quiet category and a
    high LAeq) as if they were independent, walks the order's index expecting a match every
    few rows, and reads a million before it has a page of the few hundred there are.
    """
    if cursor:
        after = decode_cursor(cursor, tag=tag, allow_null=nullable)
        value = after[0]
        if value is not None and not isinstance(value, value_types):
            raise BadCursor("The page cursor does not fit this order; start again.")
        if isinstance(value, int) and float in value_types and int not in value_types:
            after = (float(value), after[1])
    if few is not None:
        # The matches' ids alone first (an index holding the filters' columns answers that by
        # itself), then the page from those rows only.
        queryset = queryset.filter(pk__in=list(few.order_by().values_list("pk", flat=True)))
    parts = _keyset_parts(
        queryset, field=field, tiebreak=tiebreak, descending=descending, nullable=nullable,
        unique=unique, after=after, backward=backward,
    )  # fmt: skip
    rows = _read(parts, size)
    return _page(rows, size, field, tag, started=after is not None, backward=backward)


def keyset_key_at(
    queryset: "QuerySet[Any, Any]",
    *,
    field: str,
    descending: bool,
    offset: int,
    tiebreak: str = "id",
    nullable: bool = False,
    unique: bool = False,
    from_end: bool = False,
) -> tuple[Any, int] | None:
    """(value, id) of the row `offset` rows from the start of keyset_page's order (or from its
    end), None past it: `after` for the page that follows that row.

    An OFFSET over the same index as the pages, reading two columns: the one query of a page
    jump whose cost grows with the depth (measured in the README). Counting a part (the rows
    with a value, or the NULLs) happens only when the offset lies beyond it.
    """
    parts = _keyset_parts(
        queryset, field=field, tiebreak=tiebreak, descending=descending, nullable=nullable,
        unique=unique, after=None, backward=from_end,
    )  # fmt: skip
    for i, qs in enumerate(parts):
        in_nulls = nullable and (i == 0) == from_end
        found = list(
            qs.values_list(*(["id"] if in_nulls else [field, tiebreak]))[offset : offset + 1]
        )
        if found:
            return (None, found[0][0]) if in_nulls else (found[0][0], found[0][1])
        if i + 1 < len(parts):
            offset -= qs.count()
    return None


def _group_order(groups: list[int], descending: bool) -> list[int | None]:
    return [*reversed(groups), None] if descending else [*groups, None]


def group_walk_page(
    queryset: "QuerySet[Any, T]",
    *,
    fk: str,
    groups: list[int],
    descending: bool,
    cursor: str | None,
    size: int,
    tag: str | None = None,
    after: tuple[int | None, int] | None = None,
    backward: bool = False,
) -> Page[T]:
    """One page of `queryset` ordered by a foreign key's groups in the given order (e.g.
    categories by name), then id; rows without one last.

    Each group is read by the index on (`fk`, id), one query per group the page touches, so
    sorting a million rows by a few dozen categories' names never sorts the rows themselves.
    The cursor holds the last row's group id (or null) and its id. `backward` as for
    keyset_page: the groups walked the other way, each read in reverse.
    """
    order = _group_order(groups, descending)
    if cursor:
        after = decode_cursor(cursor, tag=tag, allow_null=True)
        group = after[0]
        if group is not None and (type(group) is not int or group not in groups):
            raise BadCursor("The page cursor does not fit this order; start again.")
    if backward:
        order.reverse()
    start = order.index(after[0]) if after is not None else 0
    reverse = descending != backward
    direction, op = ("-", "lt") if reverse else ("", "gt")
    parts = []
    for i in range(start, len(order)):
        group = order[i]
        qs = queryset.filter(
            **{f"{fk}_id": group} if group is not None else {f"{fk}__isnull": True}
        )
        if i == start and after is not None:
            qs = qs.filter(**{f"id__{op}": after[1]})
        parts.append(qs.order_by(f"{direction}id"))
    rows = _read(parts, size)
    return _page(rows, size, f"{fk}_id", tag, started=after is not None, backward=backward)


def group_walk_key_at(
    queryset: "QuerySet[Any, Any]",
    *,
    fk: str,
    groups: list[int],
    descending: bool,
    offset: int,
    from_end: bool = False,
) -> tuple[int | None, int] | None:
    """(group, id) of the row `offset` rows from the start of group_walk_page's order (or from
    its end), None past it: one count per group (a GROUP BY), then an OFFSET in one group."""
    by_group = queryset.order_by().values(f"{fk}_id").annotate(n=Count("id"))
    counts = {row[f"{fk}_id"]: row["n"] for row in by_group}
    order = _group_order(groups, descending)
    if from_end:
        order.reverse()
    direction = "-" if descending != from_end else ""
    for group in order:
        n = counts.get(group, 0)
        if offset < n:
            qs = queryset.filter(
                **{f"{fk}_id": group} if group is not None else {f"{fk}__isnull": True}
            )
            pk = qs.order_by(f"{direction}id").values_list("id", flat=True)[offset : offset + 1]
            found = list(pk)
            return (group, found[0]) if found else None
        offset -= n
    return None
