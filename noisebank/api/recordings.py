"""/api/v1/recordings (the list, keyset pages), its exports and the column dictionary."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from ninja import Router

from noisebank.accounts.roles import can_browse, review_access
from noisebank.catalog.counts import cached_count
from noisebank.catalog.filters import (
    FILTER_PARAMETERS,
    HELP,
    FilterError,
    ParamError,
    parse_filters,
)
from noisebank.catalog.models import Recording
from noisebank.catalog.pagination import BadCursor, keyset_page
from noisebank.exports import views as export_views
from noisebank.exports.columns import UnknownColumns, resolve_columns
from noisebank.exports.engine.writers.csv import format_datetime
from noisebank.exports.services import FORMATS

router = Router(tags=["recordings"])

LIST_SIZES = (1, 1_000)
LIST_DEFAULT_SIZE = 50
LIST_COLUMNS = "summary"


def _param(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


# The filter definition lives in one place (catalog.filters); the docs are generated from it.
FILTER_DOCS = [
    _param(p, HELP[p], {"type": "array", "items": {"type": "string"}})
    if p in {"category", "class", "subclass", "region", "community", "dataset_type",
             "collector", "microphone_type", "time_of_day", "status", "review"}
    else _param(p, HELP[p])
    for p in FILTER_PARAMETERS
]  # fmt: skip
COLUMNS_DOC = _param(
    "columns",
    "Comma-separated column names and presets (default, all, metadata, acoustics, summary); "
    "see /api/v1/columns.",
)


def _json_value(value: Any) -> Any:
    return format_datetime(value) if isinstance(value, datetime) else value


@router.get(
    "/recordings",
    summary="Recordings matching the filters, newest first, in keyset pages",
    openapi_extra={
        "parameters": [
            *FILTER_DOCS,
            COLUMNS_DOC,
            _param("size", "Rows a page, 1-1000 (50).", {"type": "integer"}),
            _param("cursor", "The `next` of the previous page."),
        ]
    },
)
def recording_list(request: HttpRequest) -> HttpResponse:
    if not can_browse(request.user):
        return JsonResponse({"detail": "Browsing needs the collector role or more."}, status=403)
    errors: list[ParamError] = []
    try:
        filters = parse_filters(
            request.GET,
            extra={"columns", "size", "cursor"},
            access=review_access(request.user),
        )
    except FilterError as e:
        errors += e.errors
    try:
        columns = resolve_columns(export_views.joined(request.GET, "columns") or LIST_COLUMNS)
    except UnknownColumns as e:
        errors.append(ParamError("columns", str(e)))
    raw_size = request.GET.get("size", "").strip()
    size = LIST_DEFAULT_SIZE
    if raw_size:
        if (
            raw_size.isascii()
            and raw_size.isdigit()
            and LIST_SIZES[0] <= int(raw_size) <= LIST_SIZES[1]
        ):
            size = int(raw_size)
        else:
            errors.append(
                ParamError("size", f"size={raw_size[:40]}: must be a whole number, 1-1000.")
            )
    if errors:
        return export_views.bad_request(errors)

    selection = Recording.objects.matching(filters)
    aliases = {f"c{i}": c.expression for i, c in enumerate(columns)}
    rows = selection.annotate(**aliases).values("id", "recorded_at", *aliases)
    try:
        page = keyset_page(
            rows,
            field="recorded_at",
            descending=True,
            nullable=True,
            cursor=request.GET.get("cursor") or None,
            size=size,
            value_types=(datetime,),
        )
    except BadCursor as e:
        return export_views.bad_request([ParamError("cursor", str(e))])
    results = [
        {c.name: _json_value(row[a]) for a, c in zip(aliases, columns, strict=True)}
        for row in page.items
    ]
    count = cached_count(filters, selection)
    return JsonResponse({"count": count, "results": results, "next": page.next_cursor})


@router.get(
    "/recordings/export.{fmt}",
    summary="Download the recordings matching the filters, streamed",
    description=(
        f"Formats: {', '.join(FORMATS)} (those whose writer this server has). Researchers and "
        "admins only. Headers: X-Row-Count (the rows that follow, counted in the export's "
        "snapshot), X-Export-Snapshot, X-Noisebank-Manifest. bom=1 starts a CSV with a byte "
        "order mark for Excel (and turns excel_safe on unless excel_safe=0); manifest=1 "
        "returns the manifest as JSON instead of the file."
    ),
    openapi_extra={
        "parameters": [
            *FILTER_DOCS,
            COLUMNS_DOC,
            _param("bom", "CSV: 1 to start with a UTF-8 byte order mark."),
            _param(
                "excel_safe",
                "CSV: 1 to put a ' before text starting with = + - @ tab or CR, so Excel shows it "
                "as text instead of running it (alters those values; the manifest says so). "
                "Default: on with bom=1, else off (the file holds exactly the stored values).",
            ),
            _param("manifest", "1: the manifest (JSON) describing the selection, no file."),
        ]
    },
)
def recording_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    return export_views.export_download(request, fmt)


@router.get("/columns", summary="The data dictionary: every export column, the presets, filters")
def columns(request: HttpRequest) -> HttpResponse:
    return JsonResponse(export_views.data_dictionary())
