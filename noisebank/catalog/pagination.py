"""Keyset pagination: pages by the last row seen, never by OFFSET.

A cursor is an opaque, URL-safe token holding the sort value and id of the last row of a page
(and, when the caller asks, a tag naming the order it belongs to).

A page after (value, id) is `WHERE (field, id) < (value, id) ORDER BY field DESC, id DESC LIMIT n`
(or > and ASC): a row-value comparison, which PostgreSQL answers from an index on (field, id) by
starting the scan at the cursor, whatever the depth. (`field < v OR (field = v AND id < pk)` is
the same set, but PostgreSQL then walks the index from its start and filters.) SQLite gets the OR
form from Django; it too starts from the cursor.

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
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

T = TypeVar("T")

MAX_PK = 2**63 - 1
# A selection of at most this many rows (its count, known to the caller) is sorted, not read
# along the order's index (keyset_page's few): sorting them costs a few milliseconds.
FEW_ROWS = 5_000  # a bigint; larger ids in a forged cursor would be a database error


class BadCursor(ValueError):
    pass


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


def _value_of(row: Any, field: str) -> Any:
    if isinstance(row, dict):
        return row[field]
    value = row
    for part in field.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _page(rows: list[T], size: int, field: str, tag: str | None) -> Page[T]:
    """The first `size` of `rows` (read one over), with a cursor after the last when there are
    more."""
    if len(rows) <= size:
        return Page(rows, None)
    rows = rows[:size]
    last = rows[-1]
    pk = last["id"] if isinstance(last, dict) else last.pk  # type: ignore[attr-defined]
    return Page(rows, encode_cursor(_value_of(last, field), pk, tag))


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

    `few`: the selection (filters only, no columns), given when the caller knows it is small
    (its count, at most FEW_ROWS). Its rows are then found by their filters' best index and
    sorted, never by walking the order's index:
    PostgreSQL guesses the share of rows two correlated filters keep (a quiet category and a
    high LAeq) as if they were independent, walks the order's index expecting a match every
    few rows, and reads a million before it has a page of the few hundred there are.
    """
    direction = "-" if descending else ""
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
    op = TupleLessThan if descending else TupleGreaterThan
    rows: list[T] = []
    if after is None or after[0] is not None:
        qs = queryset
        if nullable:
            qs = qs.filter(**{f"{field}__isnull": False})
        qs = qs.order_by(f"{direction}{field}", *([] if unique else [f"{direction}{tiebreak}"]))
        if after is not None:
            lookup = "lt" if descending else "gt"
            try:
                if unique:
                    qs = qs.filter(**{f"{field}__{lookup}": after[0]})
                else:
                    qs = qs.filter(op(Tuple(F(field), F(tiebreak)), after))
            except (ValidationError, ValueError, TypeError):
                raise BadCursor("The page cursor does not fit this list; start again.") from None
        rows = list(qs[: size + 1])
    if nullable and len(rows) <= size:
        # The non-NULL rows have run out on this page: continue with the NULL ones, by id.
        qs = queryset.filter(**{f"{field}__isnull": True}).order_by(f"{direction}id")
        if after is not None and after[0] is None:
            qs = qs.filter(**{f"id__{'lt' if descending else 'gt'}": after[1]})
        rows += list(qs[: size + 1 - len(rows)])
    return _page(rows, size, field, tag)


def group_walk_page(
    queryset: "QuerySet[Any, T]",
    *,
    fk: str,
    groups: list[int],
    descending: bool,
    cursor: str | None,
    size: int,
    tag: str | None = None,
) -> Page[T]:
    """One page of `queryset` ordered by a foreign key's groups in the given order (e.g.
    categories by name), then id; rows without one last.

    Each group is read by the index on (`fk`, id), one query per group the page touches, so
    sorting a million rows by a few dozen categories' names never sorts the rows themselves.
    The cursor holds the last row's group id (or null) and its id.
    """
    order = [*reversed(groups), None] if descending else [*groups, None]
    start, after_pk = 0, None
    if cursor:
        group, after_pk = decode_cursor(cursor, tag=tag, allow_null=True)
        if group is not None and (type(group) is not int or group not in groups):
            raise BadCursor("The page cursor does not fit this order; start again.")
        start = order.index(group)
    direction, op = ("-", "lt") if descending else ("", "gt")
    rows: list[T] = []
    for i in range(start, len(order)):
        group = order[i]
        qs = queryset.filter(
            **{f"{fk}_id": group} if group is not None else {f"{fk}__isnull": True}
        )
        if i == start and after_pk is not None:
            qs = qs.filter(**{f"id__{op}": after_pk})
        rows += list(qs.order_by(f"{direction}id")[: size + 1 - len(rows)])
        if len(rows) > size:
            break
    return _page(rows, size, f"{fk}_id", tag)
