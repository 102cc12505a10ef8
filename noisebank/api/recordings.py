"""/api/v1/recordings (the list, keyset pages), its exports and the column dictionary."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from ninja import Router

from noisebank.accounts.roles import can_browse, can_export, review_access
from noisebank.api.errors import COMMON, error_response, param_errors
from noisebank.api.responses import DataDictionary, RecordingPage
from noisebank.api.schema import export_parameters, list_parameters
from noisebank.catalog.counts import cached_count
from noisebank.catalog.filters import EARLIEST, LATEST, FilterError, ParamError, parse_filters
from noisebank.catalog.models import Recording
from noisebank.catalog.pagination import FEW_ROWS, keyset_page
from noisebank.exports import views as export_views
from noisebank.exports.columns import UnknownColumns, resolve_columns
from noisebank.exports.engine.writers import WRITERS
from noisebank.exports.engine.writers.csv import format_datetime
from noisebank.exports.job_schema import file_schema
from noisebank.exports.services import FORMATS, UnknownFormat, writer_for

router = Router(tags=["recordings"])

LIST_SIZES = (1, 1_000)
LIST_DEFAULT_SIZE = 50
LIST_COLUMNS = "summary"


# The list's cursor is the position after the last row: its recording time in microseconds
# since 1970 (or n when it has none) and its id, e.g. 1767225600000000~42. Every string of
# that form is a valid position, so a client may also build one ("from this time on").
LIST_CURSOR = re.compile(r"^(-?\d{1,17}|n)~(\d{1,18})$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def list_cursor(recorded_at: datetime | None, pk: int) -> str:
    at = "n" if recorded_at is None else str((recorded_at - _EPOCH) // _MICROSECOND)
    return f"{at}~{pk}"


def read_list_cursor(text: str) -> tuple[datetime | None, int]:
    match = LIST_CURSOR.fullmatch(text)
    if not match:
        raise ValueError(
            "The page cursor is not valid: pass the `next` of the previous page "
            "(MICROSECONDS~ID, or n~ID)."
        )
    at, pk = match.groups()
    if at == "n":
        return None, int(pk)
    try:
        return _EPOCH + int(at) * _MICROSECOND, int(pk)
    except OverflowError:  # before year 1 or after 9999: before or after every recording
        return (EARLIEST if at.startswith("-") else LATEST), int(pk)


def _json_value(value: Any) -> Any:
    return format_datetime(value) if isinstance(value, datetime) else value


@router.get(
    "/recordings",
    response={200: RecordingPage, **COMMON},
    operation_id="list_recordings",
    summary="Recordings matching the filters, newest first, in keyset pages",
    openapi_extra={"parameters": list_parameters(LIST_SIZES, LIST_DEFAULT_SIZE)},
)
def recording_list(request: HttpRequest) -> HttpResponse:
    if not can_browse(request.user):
        return error_response(403, "Browsing needs the collector role or more.")
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
    after = None
    raw_cursor = request.GET.get("cursor", "")
    if raw_cursor.strip():  # blank is "not given", as for every parameter
        try:
            after = read_list_cursor(raw_cursor)
        except ValueError as e:
            errors.append(ParamError("cursor", str(e)))
    raw_size = request.GET.get("size", "").strip()
    size = LIST_DEFAULT_SIZE
    if raw_size:
        low, high = LIST_SIZES
        if raw_size.isascii() and raw_size.isdigit() and low <= int(raw_size) <= high:
            size = int(raw_size)
        else:
            errors.append(
                ParamError("size", f"size={raw_size[:40]}: must be a whole number, 1-1000.")
            )
    if errors:
        return param_errors(errors)

    selection = Recording.objects.matching(filters)
    aliases = {f"c{i}": c.expression for i, c in enumerate(columns)}
    rows = selection.annotate(**aliases).values("id", "recorded_at", *aliases)
    count = cached_count(filters, selection)
    page = keyset_page(
        rows,
        field="recorded_at",
        descending=True,
        nullable=True,
        cursor=None,
        after=after,
        size=size,
        few=selection if count <= FEW_ROWS else None,
    )
    results = [
        {c.name: _json_value(row[a]) for a, c in zip(aliases, columns, strict=True)}
        for row in page.items
    ]
    last = page.items[-1] if page.next_cursor else None
    following = list_cursor(last["recorded_at"], last["id"]) if last else None
    return JsonResponse({"count": count, "results": results, "next": following})


# One operation a format: each takes its own options, answers its own content type.
EXPORT_SUMMARIES = {
    "csv": "Download the recordings matching the filters as CSV, streamed",
    "xlsx": "Download the recordings matching the filters as Excel (XLSX), streamed",
    "parquet": "Download the recordings matching the filters as Parquet, streamed",
    "jsonl": "Download the recordings matching the filters as JSON Lines, streamed",
    "geojson": "Download the recordings matching the filters as GeoJSON (a Point each), streamed",
    "zip": "Download a ZIP bundle: metadata file, audio files and manifest.json, streamed",
    "dataset": "Download an ML dataset (Hugging Face audiofolder layout) as a ZIP, streamed",
}
EXPORT_DESCRIPTION = (
    "Researchers and admins only. Headers: X-Row-Count (the rows that follow, counted in the "
    "export's snapshot), X-Export-Snapshot, X-Noisebank-Manifest (the manifest, JSON). "
    "manifest=1 answers the manifest as JSON instead of the file."
)


def _file_response(content_type: str) -> dict[str, Any]:
    return {
        "description": "The file, streamed (Content-Disposition: attachment), or with "
        "manifest=1 the manifest as JSON.",
        # Binary first: a generated client reads the body as bytes, whatever the format.
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            content_type.split(";")[0]: {"schema": file_schema(content_type)},
            "application/json": {"schema": {"type": "object"}},
        },
    }


def _export_operation(fmt: str) -> None:
    writer = WRITERS["zip" if fmt == "dataset" else fmt]
    path = "/recordings/dataset.zip" if fmt == "dataset" else f"/recordings/export.{fmt}"
    operation_id = "export_dataset" if fmt == "dataset" else f"export_recordings_{fmt}"

    def export(request: HttpRequest) -> HttpResponseBase:
        if fmt == "dataset":
            return export_views.export_download(request, "zip", dataset=True)
        return export_views.export_download(request, fmt)

    export.__name__ = operation_id
    router.get(
        path,
        response={**COMMON},
        operation_id=operation_id,
        summary=EXPORT_SUMMARIES[fmt],
        description=EXPORT_DESCRIPTION,
        url_name=operation_id,
        openapi_extra={
            "parameters": export_parameters(fmt),
            "responses": {200: _file_response(writer.content_type)},
        },
    )(export)


for _fmt in (*(f for f in FORMATS if f in WRITERS), "dataset"):
    _export_operation(_fmt)


@router.get("/recordings/export.{fmt}", include_in_schema=False)
def export_unknown_format(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """export.xls and the like: there is no such file, and the answer says which there are."""
    if not can_export(request.user):
        return export_views.forbidden()
    try:
        writer_for(fmt)
    except UnknownFormat as e:
        return error_response(404, str(e), [ParamError("format", str(e))])
    return export_views.export_download(request, fmt)  # a writer added after start-up


@router.get(
    "/columns",
    response={200: DataDictionary, **COMMON},
    operation_id="list_columns",
    summary="The data dictionary: every export column, the presets, filters",
)
def columns(request: HttpRequest) -> HttpResponse:
    return JsonResponse(export_views.data_dictionary())
