"""Numbered keyset pages for the catalogue: rows X-Y of N, first / previous / next / last, and a
jump to page N.

`after=` / `before=` hold a keyset cursor (the page after a row, or the one before it, read
backward on the same index); `page=` numbers the page, carried along in every link. `page=N`
alone (the jump box, or an old link of the original system) finds the row ending page N - 1 with
one OFFSET query on the sort's index, from whichever end is nearer, and pages on from there;
`page=last` reads the tail backward. A page past the last shows the last one, saying so.
"""

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

from django.http import QueryDict

from noisebank.catalog.filters import FilterError, ParamError
from noisebank.catalog.pagination import BadCursor, Page


class Order(Protocol):
    """What the pager needs of a sort (catalog.views.Sort)."""

    def page(
        self, qs: Any, *, key: str, descending: bool, cursor: str | None, size: int,
        backward: bool = False, few: Any = None,
    ) -> Page: ...  # fmt: skip

    def cursor_at(
        self, qs: Any, *, key: str, descending: bool, offset: int, from_end: bool
    ) -> str | None: ...


def parse_page(raw: str | None) -> int | Literal["last"] | None:
    """The page number asked for (1, 2, …), "last", or None when not given."""
    text = (raw or "").strip()
    if not text:
        return None
    if text.casefold() == "last":
        return "last"
    if text.isascii() and text.isdigit() and int(text[:30]) > 0:
        return int(text[:30])  # past any last page either way
    raise FilterError(
        [ParamError("page", f"page={text[:40]}: must be a page number (1, 2, 3, …) or last.")]
    )


@dataclass(frozen=True)
class PageRequest:
    wanted: int | Literal["last"] | None = None
    after: str | None = None
    before: str | None = None

    @classmethod
    def parse(cls, query: QueryDict) -> "PageRequest":
        errors: list[ParamError] = []
        wanted = None
        if len(query.getlist("page")) > 1:
            given = len(query.getlist("page"))
            errors.append(ParamError("page", f"page is given {given} times; give it once."))
        else:
            try:
                wanted = parse_page(query.get("page"))
            except FilterError as e:
                errors += e.errors
        after = query.get("after", "").strip() or None
        before = query.get("before", "").strip() or None
        if after and before:
            errors.append(ParamError("before", "after= and before= cannot be given together: "
                                     "follow one page link at a time."))  # fmt: skip
        elif wanted == "last" and (after or before):
            errors.append(ParamError("page", "page=last finds the last page itself: "
                                     "give it without after= or before=."))  # fmt: skip
        if errors:
            raise FilterError(errors)
        return cls(wanted, after, before)


@dataclass
class Paged:
    page: Page
    number: int | None  # None: reached by a cursor link that carried no page number
    last: int
    total: int
    size: int
    notes: list[str] = field(default_factory=list)


def choose_page(
    sort: Order,
    selection: Any,
    rows: Any,
    *,
    key: str,
    descending: bool,
    size: int,
    asked: PageRequest,
    total: int,
    few: Any = None,
) -> Paged:
    """The page `asked` for, of `rows` (the `selection` shaped for the table) in `sort`'s order;
    FilterError for a cursor that does not fit. `few`: the selection when it is small (see
    pagination.keyset_page)."""
    last = max(1, math.ceil(total / size))
    wanted = asked.wanted

    def read(cursor: str | None, *, backward: bool = False, n: int = size) -> Page:
        return sort.page(
            rows, key=key, descending=descending, cursor=cursor, size=n, backward=backward, few=few
        )

    number: int | None = None
    page: Page | None = None
    notes = []
    try:
        if asked.after or asked.before:
            number = wanted if isinstance(wanted, int) else None
            page = read(asked.after or asked.before, backward=bool(asked.before))
            if asked.before and page.prev_cursor is None and len(page.items) < size:
                page = read(None)  # back at the start: the first page, full
        elif wanted is None or wanted == 1:
            number, page = 1, read(None)
        else:
            if wanted != "last" and wanted > last:
                notes.append(f"There is no page {wanted:,}: the last is page {last:,} "
                             f"({total:,} rows, {size} a page), shown here.")  # fmt: skip
            if isinstance(wanted, int) and wanted < last:
                # After the row ending page wanted - 1, found from the nearer end.
                skip = (wanted - 1) * size
                from_end = skip > total // 2
                cursor = sort.cursor_at(
                    selection, key=key, descending=descending,
                    offset=total - skip if from_end else skip - 1, from_end=from_end,
                )  # fmt: skip
                if cursor:
                    number, page = wanted, read(cursor)
            if page is None:  # the last page (also when rows went away since they were counted)
                number = last
                page = read(None, backward=True, n=max(1, total - (last - 1) * size))
    except BadCursor as e:
        raise FilterError([ParamError("before" if asked.before else "after", str(e))]) from None
    if page.prev_cursor is None:
        number = 1
    return Paged(page, number, last, total, size, notes)


def query_string(items: list[tuple[str, str]], **extra: Any) -> str:
    """`items` and the `extra` parameters not None, as "?a=1&b=2"."""
    return "?" + urlencode(items + [(k, str(v)) for k, v in extra.items() if v is not None])


def pager_links(paged: Paged, items: list[tuple[str, str]], here: dict[str, Any]) -> dict[str, Any]:
    """The pager's text and links, each keeping the filters `items` and `here` (sort, size)."""
    page, number = paged.page, paged.number
    first_row = (number - 1) * paged.size + 1 if number else None
    prev_url = next_url = None
    if page.prev_cursor:
        before = number - 1 if number and number > 1 else None
        prev_url = query_string(items, **here, before=page.prev_cursor, page=before)
    if page.next_cursor:
        next_url = query_string(items, **here, after=page.next_cursor, page=number and number + 1)
    return {
        "number": number,
        "last": paged.last,
        "first_row": first_row,
        "last_row": first_row + len(page.items) - 1 if first_row else None,
        "first_url": query_string(items, **here) if page.prev_cursor else None,
        "prev_url": prev_url,
        "next_url": next_url,
        "last_url": query_string(items, **here, page="last") if page.next_cursor else None,
        # The jump form's hidden fields: the filters, sort and size it keeps.
        "keep": [*items, *((k, str(v)) for k, v in here.items() if v is not None)],
    }
