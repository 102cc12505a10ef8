"""The catalogue page: every filter of catalog.filters, sortable keyset pages (numbered, see
catalog.pager), a cached count."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import F, IntegerField, Value
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import reverse

from noisebank.accounts.roles import can_browse, review_access
from noisebank.catalog import models as m
from noisebank.catalog.counts import cached_count
from noisebank.catalog.filters import (
    FILTER_PARAMETERS,
    NOISE_ID_MAX,
    TAXON_PARAMETERS,
    FilterError,
    ParamError,
    from_original,
    parse_filters,
)
from noisebank.catalog.pager import PageRequest, choose_page, pager_links, query_string
from noisebank.catalog.pagination import (
    FEW_ROWS,
    Page,
    encode_cursor,
    group_walk_key_at,
    group_walk_page,
    keyset_key_at,
    keyset_page,
)

PAGE_SIZES = (50, 100, 200)
LIST_PARAMS = {"after", "before", "page", "size", "sort"}


@dataclass(frozen=True)
class Sort:
    label: str
    field: str
    value_types: tuple[type, ...]
    tiebreak: str = "id"
    nullable: bool = False
    unique: bool = False
    walk: bool = False  # ordered by a foreign key's names, one group at a time

    def _groups(self) -> list[int]:
        return list(m.Category.objects.order_by("name", "id").values_list("id", flat=True))

    def page(
        self,
        qs: Any,
        *,
        key: str,
        descending: bool,
        cursor: str | None,
        size: int,
        backward: bool = False,
        few: Any = None,
    ) -> Page:
        if self.walk:
            return group_walk_page(
                qs, fk=self.field, groups=self._groups(), descending=descending, cursor=cursor,
                size=size, tag=key, backward=backward,
            )  # fmt: skip
        return keyset_page(
            qs,
            field=self.field,
            tiebreak=self.tiebreak,
            descending=descending,
            cursor=cursor,
            size=size,
            nullable=self.nullable,
            unique=self.unique,
            value_types=self.value_types,
            tag=key,
            backward=backward,
            few=few,
        )

    def cursor_at(
        self, qs: Any, *, key: str, descending: bool, offset: int, from_end: bool
    ) -> str | None:
        """A cursor after the row `offset` rows from the start (or the end) of this order."""
        if self.walk:
            found = group_walk_key_at(
                qs, fk=self.field, groups=self._groups(), descending=descending, offset=offset,
                from_end=from_end,
            )  # fmt: skip
        else:
            found = keyset_key_at(
                qs, field=self.field, tiebreak=self.tiebreak, descending=descending,
                offset=offset, nullable=self.nullable, unique=self.unique, from_end=from_end,
            )  # fmt: skip
        return encode_cursor(found[0], found[1], key) if found else None


NUMBER = (float, int)
# The orders the page offers; each is served by an index (see the models' Meta.indexes).
SORTS: dict[str, Sort] = {
    "recorded_at": Sort("Recorded", "recorded_at", (datetime,), nullable=True),
    "noise_id": Sort("Noise ID", "noise_id", (str,), unique=True),
    "name": Sort("Name", "name", (str,)),
    "category": Sort("Category", "category", (int,), walk=True),
    # The measurements by the recording's copies of them (Recording.copy_measurements): with a
    # category, one range of (category, laeq, id).
    "duration": Sort("Duration", "duration_s", NUMBER, nullable=True),
    "laeq": Sort("LAeq", "laeq", NUMBER, nullable=True),
    "lafmax": Sort("LAFmax", "lafmax", NUMBER, nullable=True),
}
DEFAULT_SORT = "-recorded_at"

# (parameter, heading, unit, sort key or None, numeric)
COLUMNS = (
    ("noise_id", "Noise ID", "", "noise_id", False),
    ("name", "Name", "", "name", False),
    ("category", "Category", "", "category", False),
    ("class", "Class", "", None, False),
    ("region", "Region", "", None, False),
    ("community", "Community", "", None, False),
    ("recorded_at", "Recorded", "UTC", "recorded_at", False),
    ("duration", "Duration", "s", "duration", True),
    ("laeq", "LAeq", "dB", "laeq", True),
    ("lafmax", "LAFmax", "dB", "lafmax", True),
    ("status", "Status", "", None, False),
)

# Child select -> its parent select and the child model's field naming the parent.
CASCADES = {"class": ("category", "category_id"), "subclass": ("class", "sound_class_id"),
            "community": ("region", "region_id")}  # fmt: skip


def parse_sort(raw: str | None) -> tuple[str, bool]:
    """(key, descending) of a sort parameter such as "-laeq"; FilterError if not offered."""
    text = (raw or DEFAULT_SORT).strip() or DEFAULT_SORT
    key = text.removeprefix("-")
    if key not in SORTS:
        raise FilterError(
            [ParamError("sort", f"sort={text}: must be one of {', '.join(SORTS)}, "
                        "with a leading - for descending.")]
        )  # fmt: skip
    return key, text.startswith("-")


def parse_size(raw: str | None) -> int:
    text = (raw or "").strip()
    if not text:
        return PAGE_SIZES[0]
    if text.isascii() and text.isdigit() and int(text) in PAGE_SIZES:
        return int(text)
    raise FilterError(
        [ParamError("size", f"size={text[:40]}: must be one of {', '.join(map(str, PAGE_SIZES))}.")]
    )


def _selected(values: list[str]) -> set[str]:
    return {v.strip().casefold() for v in values if v.strip()}


def filter_choices(request: HttpRequest) -> dict[str, dict[str, Any]]:
    """Options of every select, marked selected as the URL asks (by id or by name), children
    of an unchosen parent hidden: the form shows what the filters hold, with or without JS."""
    # One query for every select: a UNION ALL of the nine small tables.
    parts = []
    for param, (model, _, name_field) in TAXON_PARAMETERS.items():
        parent = F(CASCADES[param][1]) if param in CASCADES else Value(None, IntegerField())
        qs = model._default_manager.filter(**({"is_active": True} if model is User else {}))
        parts.append(
            qs.annotate(kind=Value(param), label=F(name_field), up=parent)
            .order_by()
            .values_list("kind", "id", "label", "up")
        )
    rows: dict[str, list[tuple[int, str, int | None]]] = {p: [] for p in TAXON_PARAMETERS}
    for kind, pk, label, up in parts[0].union(*parts[1:], all=True):
        rows[kind].append((pk, label, up))
    for options in rows.values():
        options.sort(key=lambda o: (o[1].casefold(), o[0]))
    choices: dict[str, dict[str, Any]] = {}
    for param, options in rows.items():
        wanted = _selected(request.GET.getlist(param))
        chosen = [pk for pk, name, _ in options if str(pk) in wanted or name.casefold() in wanted]
        choices[param] = {"chosen": set(chosen), "options": options, "multiple": len(wanted) > 1}
    built: dict[str, dict[str, Any]] = {}
    for param, c in choices.items():
        parents = choices[CASCADES[param][0]]["chosen"] if param in CASCADES else set()
        built[param] = {
            "multiple": c["multiple"],
            "parent": CASCADES[param][0] if param in CASCADES else "",
            "options": [
                {
                    "value": pk,
                    "label": name,
                    "parent": parent if parent is not None else "",
                    "selected": pk in c["chosen"],
                    "hidden": bool(parents) and parent not in parents and pk not in c["chosen"],
                }
                for pk, name, parent in c["options"]
            ],
        }
    for param, states in (
        ("status", m.Recording.Status),
        ("review", m.Recording.Review),
        ("unit", m.NoiseAnalysis.Unit),
    ):
        # A unit is shown as written (its choice label would be "Db Spl").
        labels = states.values if param == "unit" else states.labels
        wanted = _selected(request.GET.getlist(param))
        built[param] = {
            "multiple": len(wanted) > 1,
            "parent": "",
            "options": [
                {
                    "value": v,
                    "label": label,
                    "parent": "",
                    "selected": v.casefold() in wanted,
                    "hidden": False,
                }
                for v, label in zip(states.values, labels, strict=True)
            ],
        }
    return built


# The page's own query reads the recording table only: the measurements from its copies of
# them (Recording.copy_measurements), the taxonomy names from the selects' options, already
# loaded. (Joining the four name tables as well cost more to plan than to run.)
LIST_FIELDS = (
    "noise_id", "name", "recorded_at", "status", "review_state", "category", "sound_class",
    "region", "community", "duration_s", "laeq", "lafmax", "level_unit",
)  # fmt: skip
DETAIL_PREFIX = "/recordings/"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _id_parts(noise_id: str) -> tuple[str, str]:
    parts = noise_id.split("-", 2)
    if len(parts) < 3:
        return noise_id, ""
    return f"{parts[0]}-{parts[1]}-", parts[2]


def table_row(r: m.Recording, names: dict[str, dict[int, str]]) -> dict[str, Any]:
    return {
        "noise_id": r.noise_id,
        # NSE-<collector>- | <time>-<hex>: a line may break there (a hyphen before digits is
        # no break opportunity), so the column needs half the width.
        "id_parts": _id_parts(r.noise_id),
        "url": f"{DETAIL_PREFIX}{r.noise_id}/",
        "name": r.name,
        "category": names["category"].get(r.category_id or 0, "—"),
        "class": names["class"].get(r.sound_class_id or 0, "—"),
        "region": names["region"].get(r.region_id or 0, "—"),
        "community": names["community"].get(r.community_id or 0, "—"),
        "recorded": r.recorded_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M").split()
        if r.recorded_at
        else ["unknown"],
        "duration": _number(r.duration_s),
        "laeq": _number(r.laeq),
        "lafmax": _number(r.lafmax),
        "unit": r.level_unit or "",
        "status": r.status,
        "status_label": r.get_status_display(),
        "review": r.review_state,
        "review_label": r.get_review_state_display(),
    }


def recording_list(request: HttpRequest) -> HttpResponse:
    if not can_browse(request.user):
        raise PermissionDenied("Browsing the catalogue needs the collector role.")
    errors: list[ParamError] = []
    filters = None
    try:
        filters = parse_filters(request.GET, extra=LIST_PARAMS, access=review_access(request.user))
    except FilterError as e:
        errors += e.errors
    sort_key, descending = "recorded_at", True
    try:
        sort_key, descending = parse_sort(request.GET.get("sort"))
    except FilterError as e:
        errors += e.errors
    size = PAGE_SIZES[0]
    try:
        size = parse_size(request.GET.get("size"))
    except FilterError as e:
        errors += e.errors
    asked = PageRequest()
    try:
        asked = PageRequest.parse(request.GET)
    except FilterError as e:
        errors += e.errors
    sort = SORTS[sort_key]
    sort_param = f"{'-' if descending else ''}{sort_key}"
    context: dict[str, Any] = {
        "choices": filter_choices(request),
        "values": {
            **{p: request.GET.get(p, "") for p in FILTER_PARAMETERS},
            # Repeatable, shown in one box: every value, a line each.
            "noise_id": "\n".join(request.GET.getlist("noise_id")),
        },
        "noise_id_max": NOISE_ID_MAX,
        "sort": sort_param,
        "sorts": [(k, s.label) for k, s in SORTS.items()],
        "size": size,
        "page_sizes": PAGE_SIZES,
        "page": None,
        # The review select is offered to those who may choose a state besides accepted.
        "can_filter_review": len(review_access(request.user).states) > 1,
    }
    paged = None
    if filters is not None and not errors:
        selection = m.Recording.objects.matching(filters)
        total = cached_count(filters, selection)
        try:
            paged = choose_page(
                sort, selection, selection.only(*LIST_FIELDS), key=sort_key,
                descending=descending, size=size, asked=asked, total=total,
                few=selection if total <= FEW_ROWS else None,
            )  # fmt: skip
        except FilterError as e:
            errors += e.errors
    if errors or filters is None or paged is None:
        context["errors"] = [e.message for e in errors]
        context["error_params"] = {e.param for e in errors}
        return render(request, "catalog/recording_list.html", context, status=400)

    items = filters.query_items()
    here = {"sort": sort_param if sort_param != DEFAULT_SORT else None, "size": size}
    columns = []
    for param, heading, unit, key, numeric in COLUMNS:
        state, href = "", None
        if key is not None:
            # A first click sorts numbers and times high to low, names A to Z; a second reverses.
            first = "" if key in ("noise_id", "name", "category") else "-"
            if key == sort_key:
                state = "descending" if descending else "ascending"
                first = "" if descending else "-"
            href = query_string(items, sort=f"{first}{key}", size=size)
        columns.append(
            {"param": param, "heading": heading, "unit": unit, "numeric": numeric,
             "href": href, "state": state}
        )  # fmt: skip
    names = {
        p: {o["value"]: o["label"] for o in context["choices"][p]["options"]}
        for p in ("category", "class", "region", "community")
    }
    context.update(
        {
            "page": paged.page,
            "rows": [table_row(r, names) for r in paged.page.items],
            "total": paged.total,
            "columns": columns,
            "is_filtered": bool(items),
            "notes": [*filters.notes, *paged.notes],
            # The export panel's figures (exports.templatetags.export_panel) are of these.
            "filters": filters,
            # The filters as a query string: what "change all matching" hands the bulk page.
            "filter_query": urlencode(items),
            "size_urls": [(s, query_string(items, sort=here["sort"], size=s)) for s in PAGE_SIZES],
            "pager": pager_links(paged, items, here),
        }
    )
    return render(request, "catalog/recording_list.html", context)


def datasetlist_redirect(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """The original's /datasetlist/: its filters translated to ours, anything else dropped."""
    given = {k: request.GET.getlist(k) for k in request.GET}
    try:
        params = from_original(given)
    except FilterError:  # an unknown date_range: dropped like any other unknown value
        given.pop("date_range", None)
        params = from_original(given)
    items = [(p, v) for p in FILTER_PARAMETERS for v in params.get(p, []) if v.strip()]
    url = reverse("recording-list")
    return HttpResponsePermanentRedirect(url + ("?" + urlencode(items) if items else ""))
