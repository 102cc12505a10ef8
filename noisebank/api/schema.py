"""The OpenAPI contract: query parameters as the filter definition reads them, and the schema
completed at request time with what only the database knows (the taxonomy's names).

The filters are parsed by one function (catalog.filters.parse_filters) for the page, the API
and the exports; their documentation is made here from the same definition, so the schema says
what that function accepts: numbers with their bounds, dates as dates, closed sets as enums, the
repeatable filters as `style: form, explode: true` arrays.
"""

import copy
from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from noisebank.accounts.roles import review_access
from noisebank.catalog.filters import (
    ALL_REVIEW,
    DEFAULT_REVIEW,
    DURATION_BOUNDS,
    FILTER_PARAMETERS,
    HELP,
    LATITUDE_BOUNDS,
    LEVEL_BOUNDS,
    LONGITUDE_BOUNDS,
    NOISE_ID_LENGTH,
    NOISE_ID_MAX,
    Q_MAX_LENGTH,
    REVIEW_STATES,
    TAXON_PARAMETERS,
    UNITS,
    ReviewAccess,
)
from noisebank.catalog.models import Recording

# A taxonomy larger than this is documented as free text rather than an enum.
MAX_ENUM = 2_000

MOMENT = {
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time"},
    ]
}


def query_param(
    name: str, description: str, schema: dict[str, Any], *, array: bool = False
) -> dict[str, Any]:
    if not array and schema.get("type") != "array" and "anyOf" not in schema:
        # Empty is "not given" for every parameter, as an HTML form sends it.
        schema = {"anyOf": [schema, BLANK]}
    param: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "array", "items": schema} if array else schema,
    }
    if array:
        param.update(style="form", explode=True)
    return param


def _number(bounds: tuple[float, float]) -> dict[str, Any]:
    return {"type": "number", "minimum": bounds[0], "maximum": bounds[1]}


# An empty (or blank) value is a filter not given, as an HTML form sends it.
BLANK = {"type": "string", "pattern": r"^\s*$"}


def filter_value_schema(name: str) -> tuple[dict[str, Any], bool]:
    """(schema of one value, repeatable) of a filter parameter, blank included."""
    schema, repeatable = _filter_schema(name)
    return {"anyOf": [schema, BLANK]}, repeatable


YES_NO = {"type": "string", "enum": ["yes", "no", "true", "false", "1", "0"]}
# One or more public ids, separated by commas or white space (as pasted into the page's box).
_ID = rf"[^\s,\u0000]{{1,{NOISE_ID_LENGTH}}}"
NOISE_IDS = {"type": "string", "pattern": rf"^[\s,]*(?:{_ID}(?:[\s,]+{_ID})*)?[\s,]*$"}
# bbox=west,south,east,north: decimal degrees in range, as catalog.filters.BBoxField reads
# them (any leading zeros, an optional point and sign, white space around each). The schema
# cannot say west <= east and south <= north: the server refuses other boxes with a 400 naming
# bbox (the contract test orders its generated boxes).
_DECIMALS = r"(?:\.[0-9]*)?"
_LONGITUDE = rf"[+-]?(?:0*(?:180(?:\.0*)?|(?:1[0-7][0-9]|[1-9]?[0-9]){_DECIMALS})|\.[0-9]+)"
_LATITUDE = rf"[+-]?(?:0*(?:90(?:\.0*)?|[1-8]?[0-9]{_DECIMALS})|\.[0-9]+)"
BBOX = {
    "type": "string",
    "pattern": rf"^\s*{_LONGITUDE}\s*,\s*{_LATITUDE}\s*,\s*{_LONGITUDE}\s*,\s*{_LATITUDE}\s*$",
}
# In a JSON body (an export job's filters) the box may also be a list of four numbers.
BBOX_LIST = {
    "type": "array",
    "prefixItems": [_number(LONGITUDE_BOUNDS), _number(LATITUDE_BOUNDS)] * 2,
    "minItems": 4,
    "maxItems": 4,
}


def _filter_schema(name: str) -> tuple[dict[str, Any], bool]:
    if name in TAXON_PARAMETERS:
        # An exact name or an id; the names (and ids) are filled in per request (see below).
        return {"type": "string", "x-taxon": name}, True
    if name == "status":
        return {"type": "string", "enum": list(Recording.Status.values)}, True
    if name in ("recorded_from", "recorded_to"):
        return MOMENT, False
    if name.startswith("laeq_"):
        return _number(LEVEL_BOUNDS), False
    if name.startswith("duration_"):
        return _number(DURATION_BOUNDS), False
    if name == "review":
        # The states the caller may select: filled in per caller when the schema is served.
        return {"type": "string", "x-review": True}, True
    if name in ("clipped", "has_audio", "calibrated"):
        return YES_NO, False
    if name == "unit":
        return {"type": "string", "enum": list(UNITS)}, True
    if name == "noise_id":
        return NOISE_IDS, True
    if name == "bbox":
        return BBOX, False
    if name == "q":
        return {"type": "string", "maxLength": Q_MAX_LENGTH, "pattern": r"^[^\u0000]*$"}, False
    raise ValueError(f"no OpenAPI schema for the filter {name!r}: add one here")


def filter_parameters() -> list[dict[str, Any]]:
    params = []
    for name in FILTER_PARAMETERS:
        schema, repeatable = filter_value_schema(name)
        param = query_param(name, HELP[name], schema, array=repeatable)
        if name == "noise_id":
            # At most NOISE_ID_MAX ids in all; a value may hold several, which no schema counts.
            param["schema"]["maxItems"] = NOISE_ID_MAX
        params.append(param)
    return params


def _taxon_values(name: str) -> list[str] | None:
    model, _, name_field = TAXON_PARAMETERS[name]
    manager: Any = model._default_manager
    rows = list(manager.values_list("id", name_field)[: MAX_ENUM + 1])
    if len(rows) > MAX_ENUM:
        return None
    return sorted({n for _, n in rows}) + [str(pk) for pk, _ in rows]


def _fill_taxa(
    node: Any, cache: dict[str, list[str] | None], review: list[str] | None = None
) -> None:
    if isinstance(node, dict):
        if node.pop("x-review", None) is not None:
            node["enum"] = review or [*DEFAULT_REVIEW, ALL_REVIEW]
        taxon = node.pop("x-taxon", None)
        if taxon is not None:
            if taxon not in cache:
                cache[taxon] = _taxon_values(taxon)
            values = cache[taxon]
            if values:
                node["enum"] = values
            elif values is not None:  # an empty taxonomy: nothing can match
                node["enum"] = [""]
        for value in node.values():
            _fill_taxa(value, cache, review)
    elif isinstance(node, list):
        for value in node:
            _fill_taxa(value, cache, review)


class ContractAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        # The parameter dicts are shared with the operations' definitions: fill a copy.
        schema = copy.deepcopy(schema)
        caller = _caller.get()
        access = review_access(caller) if caller is not None else ReviewAccess()
        states = [s for s in REVIEW_STATES if s in access.states]
        _fill_taxa(schema, {}, [*states, ALL_REVIEW])
        return schema


# The user asking for the schema: what they may select (review states) is part of its answer.
_caller: ContextVar[Any] = ContextVar("openapi_caller", default=None)


def for_caller(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """NinjaAPI(docs_decorator=…): the schema and docs views, knowing who asks."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = _caller.set(request.user)
        try:
            return view(request, *args, **kwargs)
        finally:
            _caller.reset(token)

    return wrapped


FLAG = {"type": "string", "enum": ["1", "0", "true", "false", "yes", "no", "on", "off"]}


def _columns_param() -> dict[str, Any]:
    from noisebank.exports.columns import COLUMNS, PRESETS

    return {
        "name": "columns",
        "in": "query",
        "required": False,
        "description": "Column names and presets (see /columns), comma-separated, in order.",
        "schema": {
            "type": "array",
            "items": {"type": "string", "enum": [*PRESETS, *COLUMNS]},
            "minItems": 1,
        },
        "style": "form",
        "explode": False,
    }


def list_parameters(sizes: tuple[int, int], default: int) -> list[dict[str, Any]]:
    return [
        *filter_parameters(),
        _columns_param(),
        query_param(
            "size",
            f"Rows a page, {sizes[0]}-{sizes[1]}.",
            {"type": "integer", "minimum": sizes[0], "maximum": sizes[1], "default": default},
        ),
        query_param(
            "cursor",
            "Where the page starts: the `next` of the previous page, or one you make: the last "
            "row's recording time in microseconds since 1970 (n: none) and its id, "
            "MICROSECONDS~ID.",
            {"type": "string", "pattern": r"^(-?\d{1,17}|n)~\d{1,18}$"},
        ),
    ]


def _template_pattern() -> str:
    """A folder template: text with {column} placeholders (ext too), braces doubled to be
    literal."""
    from noisebank.exports.columns import COLUMNS

    names = "|".join(sorted([*COLUMNS, "ext"], key=len, reverse=True))
    return rf"^(?:[^{{}}]|\{{\{{|\}}\}}|\{{(?:{names})\}})+$"


def export_parameters(fmt: str) -> list[dict[str, Any]]:
    """The query parameters of one download operation (a format, or the dataset bundle)."""
    from noisebank.exports.dataset_options import (
        GROUP_COLUMNS,
        LABEL_COLUMNS,
        MAX_SEED,
        MAX_SEGMENT_SECONDS,
        SAMPLE_RATES,
    )
    from noisebank.exports.engine.writers.bundle import MAX_TEMPLATE_CHARS

    params = [
        *filter_parameters(),
        _columns_param(),
        query_param("manifest", "1: the manifest (JSON) describing the selection, no file.", FLAG),
    ]
    has_csv = fmt in ("csv", "zip", "dataset")
    if has_csv:
        where = "CSV" if fmt == "csv" else "metadata.csv"
        params += [
            query_param("bom", f"1: start {where} with a UTF-8 byte order mark (for Excel).", FLAG),
            query_param(
                "excel_safe",
                f"1: in {where}, put a ' before text starting with = + - @ tab or CR, so Excel "
                "shows it as text instead of running it (alters those values; the manifest "
                "says so). Default: on with bom=1, else off (exactly the stored values).",
                FLAG,
            ),
        ]
    if fmt in ("zip", "dataset"):
        params.append(
            query_param(
                "folder_template",
                "Audio paths in the zip: text with {column} placeholders and {ext} "
                "(default {category}/{class}/{noise_id}.{ext}).",
                {"type": "string", "pattern": _template_pattern(), "maxLength": MAX_TEMPLATE_CHARS},
            )
        )
    if fmt == "zip":
        params.append(
            query_param(
                "metadata",
                "The metadata file's format.",
                {"type": "string", "enum": ["csv", "xlsx"]},
            )
        )
    if fmt == "dataset":
        share = {"type": "number", "minimum": 0, "maximum": 1e6}
        params += [
            {
                **query_param(
                    "split",
                    "train,validation,test shares (80,10,10 or 0.8,0.1,0.1); train above 0.",
                    {
                        "type": "array",
                        "prefixItems": [{**share, "exclusiveMinimum": 0}, share, share],
                        "items": share,
                        "minItems": 3,
                        "maxItems": 3,
                    },
                ),
                "style": "form",
                "explode": False,
            },
            query_param(
                "seed", "Seed of the split.", {"type": "integer", "minimum": 0, "maximum": MAX_SEED}
            ),
            query_param(
                "stratify_by",
                "The label each split keeps its share of, or none.",
                {"type": "string", "enum": [*LABEL_COLUMNS, "none"]},
            ),
            {
                **query_param(
                    "group_by",
                    "Recordings sharing any of these never straddle splits (or none).",
                    {
                        "anyOf": [
                            {
                                "type": "array",
                                "items": {"type": "string", "enum": list(GROUP_COLUMNS)},
                                "minItems": 1,
                            },
                            {
                                "type": "array",
                                "items": {"const": "none"},
                                "minItems": 1,
                                "maxItems": 1,
                            },
                        ]
                    },
                ),
                "style": "form",
                "explode": False,
            },
            query_param(
                "sample_rate",
                "Resample the audio to this rate (Hz).",
                {"type": "integer", "minimum": SAMPLE_RATES[0], "maximum": SAMPLE_RATES[1]},
            ),
            query_param("mono", "1: mix the channels down to one.", FLAG),
            query_param(
                "segment_seconds",
                "Cut the audio into segments this long (s).",
                {"type": "number", "minimum": 0.01, "maximum": MAX_SEGMENT_SECONDS},
            ),
            query_param(
                "segment_remainder",
                "The last, shorter segment: pad it, keep it or drop it.",
                {"type": "string", "enum": ["pad", "keep", "drop"]},
            ),
            query_param(
                "audio_format",
                "The audio files' format.",
                {"type": "string", "enum": ["original", "wav", "flac"]},
            ),
        ]
    return params
