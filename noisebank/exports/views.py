"""HTTP for exports: direct streaming downloads, the original's batch API, the data dictionary."""

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from noisebank.accounts.roles import can_export, review_access
from noisebank.api.errors import error_response, param_errors
from noisebank.catalog.filters import (
    FILTER_PARAMETERS,
    HELP,
    FilterError,
    ParamError,
    RecordingFilter,
    ReviewAccess,
    from_original,
    parse_filters,
)
from noisebank.catalog.models import Recording
from noisebank.catalog.pagination import BadCursor, decode_cursor, encode_cursor
from noisebank.exports.columns import (
    COLUMNS,
    ORIGINAL,
    PRESET_HELP,
    PRESETS,
    ExportColumn,
    UnknownColumns,
    resolve_columns,
)
from noisebank.exports.dataset_options import DATASET_PARAMETERS, parse_dataset
from noisebank.exports.engine.writers import WriterOptions
from noisebank.exports.engine.writers.bundle import check_template
from noisebank.exports.services import UnknownFormat, csv_options, export_open, writer_for
from noisebank.lib.http import content_disposition
from noisebank.lib.streams import ThreadedStream
from noisebank.ops.replica import read_alias

logger = logging.getLogger("noisebank.exports")

EXPORT_PARAMETERS = {
    "columns",
    "bom",
    "excel_safe",
    "manifest",
    "folder_template",
    "metadata",
    "dataset",
    *DATASET_PARAMETERS,
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def bad_request(errors: list[ParamError]) -> JsonResponse:
    return param_errors(errors)


def forbidden(message: str = "Exports need the researcher or admin role.") -> JsonResponse:
    return error_response(403, message)


def flag(params: Mapping[str, str], name: str) -> bool:
    raw = params.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise FilterError([ParamError(name, f"{name}={raw}: use 1 or 0.")])


def joined(params: Mapping[str, Any], name: str) -> str | None:
    """A comma-separated parameter that may also be repeated: columns=a,b&columns=c."""
    getlist = getattr(params, "getlist", None)
    values = getlist(name) if getlist else [params[name]] if name in params else []
    return ",".join(values) if values else None


def parse_export_params(
    params: Mapping[str, Any], fmt: str, access: ReviewAccess | None = None
) -> tuple[RecordingFilter, list[ExportColumn], WriterOptions, bool]:
    """Everything a download asks for, or FilterError naming each bad parameter. `access`: the
    review states the caller may select (default: accepted only)."""
    errors: list[ParamError] = []
    try:
        writer_for(fmt)
    except UnknownFormat as e:
        errors.append(ParamError("format", str(e)))
    try:
        filters = parse_filters(params, extra=EXPORT_PARAMETERS, access=access)
    except FilterError as e:
        errors += e.errors
    try:
        columns = resolve_columns(joined(params, "columns"))
    except UnknownColumns as e:
        errors.append(ParamError("columns", str(e)))
    try:
        excel_safe = flag(params, "excel_safe") if "excel_safe" in params else None
        options = csv_options(fmt, bom=flag(params, "bom"), excel_safe=excel_safe)
        manifest_only = flag(params, "manifest")
    except FilterError as e:
        errors += e.errors
    except ValueError as e:
        errors.append(ParamError("excel_safe", str(e)))
    if fmt == "zip" and not errors:
        try:
            options = bundle_options(params, columns, options)
        except FilterError as e:
            errors += e.errors
    elif not errors:
        try:
            parse_dataset(params, fmt)  # dataset options given for another format: refused
        except FilterError as e:
            errors += e.errors
    if errors:
        raise FilterError(errors)
    return filters, columns, options, manifest_only


def bundle_options(
    params: Mapping[str, Any], columns: list[ExportColumn], options: WriterOptions
) -> WriterOptions:
    """A ZIP bundle's folder template (placeholders: the chosen columns and ext), metadata and
    dataset options (dataset_options.py)."""
    errors = []
    template = params.get("folder_template", "")
    if not template.strip():  # blank is "not given", as for every parameter
        template = WriterOptions.folder_template
    try:
        # Any export column may be a placeholder, chosen or not (unchosen ones are not written).
        check_template(template, [c.column for c in COLUMNS.values()])
    except ValueError as e:
        errors.append(ParamError("folder_template", str(e)))
    metadata = (params.get("metadata") or "").strip() or "csv"  # blank: not given
    if metadata not in ("csv", "xlsx"):
        errors.append(ParamError("metadata", f"metadata={metadata}: use csv or xlsx."))
    dataset = None
    try:
        dataset = parse_dataset(params, "zip")
    except FilterError as e:
        errors += e.errors
    if dataset is not None and metadata != "csv":
        errors.append(
            ParamError(
                "metadata", f"metadata={metadata}: a dataset's metadata is csv (audiofolder)."
            )
        )
    if errors:
        raise FilterError(errors)
    return replace(
        options,
        folder_template=template,
        bundle_metadata="xlsx" if metadata == "xlsx" else "csv",
        dataset=dataset,
    )


def manifest_headers(manifest: dict[str, Any]) -> dict[str, str]:
    return {
        "X-Row-Count": str(manifest["row_count"]),
        "X-Export-Snapshot": manifest["snapshot_at"],
        # Compact and ASCII-only (JSON escapes the rest); sha256 is null: a stream's digest is
        # known only at its end. ?manifest=1 returns the full manifest instead of the file.
        "X-Noisebank-Manifest": json.dumps(manifest, separators=(",", ":"), ensure_ascii=True),
    }


def export_download(request: HttpRequest, fmt: str, *, dataset: bool = False) -> HttpResponseBase:
    """GET /api/v1/recordings/export.<fmt>?<filters>&columns=…&bom=1&excel_safe=1&manifest=1,
    and /api/v1/recordings/dataset.zip?… (`dataset`: a ZIP bundle laid out as an ML dataset)."""
    if not can_export(request.user):
        return forbidden()
    params: Any = request.GET
    if dataset:
        params = params.copy()
        params["dataset"] = "1"
    try:
        filters, columns, options, manifest_only = parse_export_params(
            params, fmt, review_access(request.user)
        )
    except FilterError as e:
        return bad_request(e.errors)
    export = export_open(filters=filters, columns=columns, fmt=fmt, options=options)
    if manifest_only:
        export.close()
        body = {
            **export.manifest,
            "filename": export.filename,
            "columns": [column_info(c) for c in columns],
        }
        return JsonResponse(body, headers=manifest_headers(export.manifest))
    # Under ASGI a synchronous iterator would be read whole before the first byte is sent.
    content: Any = (
        ThreadedStream(export.chunks(), on_close=export.close)
        if isinstance(request, ASGIRequest)
        else export.stream()
    )
    response = StreamingHttpResponse(content, content_type=export.writer.content_type)
    response["Content-Disposition"] = content_disposition(export.filename)
    response["X-Accel-Buffering"] = "no"
    response["Cache-Control"] = "no-store"
    for name, value in manifest_headers(export.manifest).items():
        response[name] = value
    return response


def column_info(c: ExportColumn) -> dict[str, str]:
    col = c.column
    return {
        "name": col.name,
        "label": col.label,
        "type": col.type,
        "unit": col.unit,
        "description": col.description,
    }


def data_dictionary() -> dict[str, Any]:
    return {
        "columns": [column_info(c) for c in COLUMNS.values()],
        "presets": {
            name: {"description": PRESET_HELP[name], "columns": names}
            for name, names in PRESETS.items()
        },
        "filters": {p: HELP[p] for p in FILTER_PARAMETERS},
    }


def columns_page(request: HttpRequest) -> HttpResponse:
    """The data dictionary for people: every column, its unit and meaning, and the presets."""
    return render(
        request,
        "exports/columns.html",
        {
            "columns": [column_info(c) for c in COLUMNS.values()],
            "presets": [(n, PRESET_HELP[n], len(PRESETS[n])) for n in PRESETS],
            "filters": [(p, HELP[p]) for p in FILTER_PARAMETERS],
            "original_count": len(ORIGINAL),
        },
    )


# --- The original system's batch API ---------------------------------------------------------

COMPAT_PARAMETERS = {"batch_size", "offset", "total", "cursor", "search", "date_range"}
COMPAT_DEFAULT_BATCH = 500
COMPAT_MAX_BATCH = 1_000


def _whole(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise FilterError([ParamError(name, f"{name}={raw}: must be a whole number, 0 or more.")])
    return int(raw)


def _original_value(value: Any) -> Any:
    """As the original API wrote values: missing ones as "", times in isoformat()."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def export_data_compat(request: HttpRequest) -> HttpResponse:
    """GET /api/export-data/?batch_size=&offset=&total=&cursor=&<filters>

    The original's response shape and column names. `offset` pages with OFFSET, which slows
    down the further it goes; `next` is a keyset cursor (pass it as cursor=) that does not.
    """
    started = time.monotonic()
    if not can_export(request.user):
        return forbidden()
    try:
        params = from_original(request.GET)
        filters = parse_filters(
            params,
            extra=COMPAT_PARAMETERS - {"search", "date_range"},
            access=review_access(request.user),
        )
        flat = {k: v[-1] for k, v in params.items() if v}
        batch_size = min(_whole(flat, "batch_size", COMPAT_DEFAULT_BATCH), COMPAT_MAX_BATCH)
        if batch_size == 0:
            raise FilterError([ParamError("batch_size", "batch_size must be at least 1.")])
        offset = _whole(flat, "offset", 0)
        given_total = _whole(flat, "total", -1)
        after = None
        if flat.get("cursor"):
            try:
                after, _ = decode_cursor(flat["cursor"])
            except BadCursor as e:
                raise FilterError([ParamError("cursor", str(e))]) from None
            if not isinstance(after, int):
                raise FilterError([ParamError("cursor", "The cursor is not valid here.")])
    except FilterError as e:
        return JsonResponse(e.as_json(), status=400)

    # An export: it reads the replica when there is one, as the downloads do (export_open).
    selection = Recording.objects.using(read_alias()).matching(filters)
    total = given_total if given_total >= 0 else selection.count()
    logger.info(
        "Export API: offset=%s, batch_size=%s, total=%s",
        offset,
        batch_size,
        total,
        extra={"event": "export_api", "offset": offset, "batch_size": batch_size, "total": total},
    )
    names = [c.name for c in ORIGINAL]
    aliases = {f"c{i}": c.expression for i, c in enumerate(ORIGINAL)}
    rows = selection.annotate(**aliases).order_by("id").values_list("id", *aliases)
    if after is not None:
        batch = list(rows.filter(id__gt=after)[: batch_size + 1])
    else:
        batch = list(rows[offset : offset + batch_size + 1])
    query_s = time.monotonic() - started
    logger.info(
        "Query completed in %.2fs, fetched %s rows",
        query_s,
        min(len(batch), batch_size),
        extra={"event": "export_api_query", "seconds": round(query_s, 4), "rows": len(batch)},
    )
    has_more = len(batch) > batch_size
    batch = batch[:batch_size]
    results = [
        {name: _original_value(v) for name, v in zip(names, row[1:], strict=True)} for row in batch
    ]
    next_cursor = encode_cursor(batch[-1][0], batch[-1][0]) if has_more and batch else None
    total_s = time.monotonic() - started
    logger.info(
        "Total API time: %.2fs for %s records",
        total_s,
        len(results),
        extra={"event": "export_api_done", "seconds": round(total_s, 4), "rows": len(results)},
    )
    return JsonResponse(
        {
            "results": results,
            "total": total,
            "offset": offset,
            "batch_size": batch_size,
            "has_more": has_more,
            "next": next_cursor,
        }
    )
