"""Keyset pagination: pages by the last row seen, never by OFFSET.

A cursor is an opaque, URL-safe token holding the sort value and id of the last row of a page.
"""

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

T = TypeVar("T")


class BadCursor(ValueError):
    pass


def encode_cursor(value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = {"dt": value.isoformat()}
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        value, pk = json.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["dt"])
        if not isinstance(pk, int) or isinstance(pk, bool):
            raise TypeError
        if not isinstance(value, str | int | float | datetime) or isinstance(value, bool):
            raise TypeError
    except (ValueError, TypeError, KeyError):
        raise BadCursor("The page cursor is not valid; start again from the first page.") from None
    return value, pk


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def keyset_page(
    queryset: "QuerySet[Any, T]", *, field: str, descending: bool, cursor: str | None, size: int
) -> Page[T]:
    """One page of `queryset` ordered by (`field`, id); `field` must not be NULL.

    Rows may be model instances or dicts (a .values() queryset that includes `field` and id).
    """
    direction = "-" if descending else ""
    qs = queryset.order_by(f"{direction}{field}", f"{direction}id")
    if cursor:
        value, pk = decode_cursor(cursor)
        op = "lt" if descending else "gt"
        try:
            qs = qs.filter(Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"id__{op}": pk}))
        except (ValidationError, ValueError, TypeError):
            raise BadCursor("The page cursor does not fit this list; start again.") from None
    rows = list(qs[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if has_more:
        last = rows[-1]
        if isinstance(last, dict):
            value, pk = last[field], last["id"]
        else:
            value, pk = last, last.pk  # type: ignore[attr-defined]
            for part in field.split("__"):
                value = getattr(value, part)
        next_cursor = encode_cursor(value, pk)
    return Page(rows, next_cursor)
