"""The JSON schema of `POST /api/v1/exports`, as `jobs.parse_job_spec` reads a body.

One variant a format (its options differ), and two for zip: a plain bundle (metadata csv or
xlsx) and a dataset bundle (metadata.csv always). The filters are an object whose values have
the types of the filter definition (numbers as numbers); taxon values are filled in with the
taxonomy's names when the schema is served (api/schema.py).
"""

from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from noisebank.api.schema import BBOX_LIST, BLANK, _template_pattern, filter_value_schema
from noisebank.catalog.filters import (
    FILTER_PARAMETERS,
    LIST_VALUED,
    ParamError,
)
from noisebank.exports.columns import COLUMNS, PRESETS
from noisebank.exports.dataset_options import (
    GROUP_COLUMNS,
    LABEL_COLUMNS,
    MAX_SEED,
    MAX_SEGMENT_SECONDS,
    MAX_SHARE,
    SAMPLE_RATES,
)
from noisebank.exports.engine.writers.bundle import MAX_TEMPLATE_CHARS
from noisebank.exports.services import FORMATS


def _filter_value(name: str) -> dict[str, Any]:
    one, repeatable = filter_value_schema(name)
    if name in LIST_VALUED:  # bbox: "west,south,east,north" or [west, south, east, north]
        return {"anyOf": [one, BBOX_LIST]}
    return {"anyOf": [one, {"type": "array", "items": one}]} if repeatable else one


FILTERS = {
    "type": "object",
    "description": "The filters, as the list's query parameters; a repeatable one may be a list.",
    "additionalProperties": False,
    "properties": {name: _filter_value(name) for name in FILTER_PARAMETERS},
}
COLUMN_NAME = {"type": "string", "enum": [*PRESETS, *COLUMNS]}
COLUMNS_SPEC = {
    "description": "A preset, or column names and presets in order (see /columns).",
    "anyOf": [COLUMN_NAME, {"type": "array", "items": COLUMN_NAME, "minItems": 1}],
}
TEMPLATE = {"type": "string", "pattern": _template_pattern(), "maxLength": MAX_TEMPLATE_CHARS}
_SHARE = {"type": "number", "minimum": 0, "maximum": MAX_SHARE}
DATASET = {
    "anyOf": [
        {"const": True},
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "split": {
                    "type": "array",
                    "prefixItems": [{**_SHARE, "exclusiveMinimum": 0}, _SHARE, _SHARE],
                    "minItems": 3,
                    "maxItems": 3,
                },
                "seed": {"type": "integer", "minimum": 0, "maximum": MAX_SEED},
                "stratify_by": {"type": "string", "enum": [*LABEL_COLUMNS, "none"]},
                "group_by": {
                    "anyOf": [
                        {
                            "type": "array",
                            "items": {"type": "string", "enum": list(GROUP_COLUMNS)},
                            "minItems": 1,
                        },
                        {"type": "array", "items": {"const": "none"}, "minItems": 1, "maxItems": 1},
                    ]
                },
                "sample_rate": {
                    "type": ["integer", "null"],
                    "minimum": SAMPLE_RATES[0],
                    "maximum": SAMPLE_RATES[1],
                },
                "mono": {"type": "boolean"},
                "segment_seconds": {
                    "type": ["number", "null"],
                    "minimum": 0.01,
                    "maximum": MAX_SEGMENT_SECONDS,
                },
                "segment_remainder": {"type": "string", "enum": ["pad", "keep", "drop"]},
                "audio_format": {"type": "string", "enum": ["original", "wav", "flac"]},
            },
        },
    ]
}
_CSV_OPTIONS = {"bom": {"type": "boolean"}, "excel_safe": {"type": "boolean"}}
OPTIONS: dict[str, dict[str, Any]] = {
    "csv": _CSV_OPTIONS,
    "xlsx": {},
    "parquet": {},
    "jsonl": {},
    "geojson": {},
    "zip": {
        **_CSV_OPTIONS,
        "folder_template": TEMPLATE,
        "metadata": {"type": "string", "enum": ["csv", "xlsx"]},
    },
    "dataset": {**_CSV_OPTIONS, "folder_template": TEMPLATE, "dataset": DATASET},
}


def _variant(fmt: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "properties": OPTIONS[fmt],
    }
    if fmt == "dataset":
        options["required"] = ["dataset"]
    return {
        "title": f"{fmt} export",
        "type": "object",
        "additionalProperties": False,
        "required": ["format", "options"] if fmt == "dataset" else ["format"],
        "properties": {
            "format": {"const": "zip" if fmt == "dataset" else fmt},
            "filters": FILTERS,
            "columns": COLUMNS_SPEC,
            "options": options,
        },
    }


JOB_BODY = {"oneOf": [_variant(f) for f in (*FORMATS, "dataset")]}

BINARY = {"type": "string", "format": "binary"}
# A file whose media type says JSON (application/geo+json) is described as what it holds.
FILE_SCHEMAS: dict[str, dict[str, Any]] = {
    "application/geo+json": {
        "type": "object",
        "description": "An RFC 7946 FeatureCollection: a Feature a recording, a Point "
        "[longitude, latitude] (null without both), the columns as properties.",
        "required": ["type", "features"],
        "properties": {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "items": {"type": "object"}},
        },
    }
}


def file_schema(content_type: str) -> dict[str, Any]:
    return FILE_SCHEMAS.get(content_type.split(";")[0], BINARY)


DOWNLOAD_RESPONSE = {
    "description": "The file (or, with Range, the part asked for).",
    "content": {
        content_type: {"schema": file_schema(content_type)}
        # Binary first: a generated client reads the body as bytes, whatever the format.
        for content_type in (
            "application/octet-stream",
            "text/csv",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.apache.parquet",
            "application/x-ndjson",
            "application/geo+json",
            "application/zip",
        )
    },
}


def _validator(fmt: str) -> Draft202012Validator:
    return Draft202012Validator(_variant(fmt))


_VALIDATORS = {f: _validator(f) for f in (*FORMATS, "dataset")}


def format_error(data: Any) -> ParamError | None:
    """The body is an object with a known format: else the one error worth saying first."""
    if not isinstance(data, dict):
        return ParamError("body", "Send a JSON object: format, filters, columns, options.")
    fmt = data.get("format")
    if fmt in FORMATS:
        return None
    shown = repr(fmt)[:60] if "format" in data else "missing"
    return ParamError("format", f"format: {shown}; use one of {', '.join(FORMATS)}.")


def shape_errors(data: dict[str, Any]) -> list[ParamError]:
    """Where a body (of a known format) breaks JOB_BODY: types, unknown fields, sizes; each
    error names its place (`filters.laeq_min`, `options.bom`)."""
    fmt = data["format"]
    options = data.get("options")
    if fmt == "zip" and isinstance(options, dict) and "dataset" in options:
        fmt = "dataset"
    errors = []
    for found in sorted(_VALIDATORS[fmt].iter_errors(data), key=lambda e: list(e.absolute_path)):
        error = _deepest(found)
        where = ".".join(str(p) for p in error.absolute_path) or "body"
        if error.validator in ("anyOf", "type", "enum", "const", "pattern", "format"):
            shown = repr(error.instance)
            shown = shown if len(shown) <= 60 else shown[:57] + "…"
            message = f"{shown} is not {_expected(error.schema)}"
        else:
            message = error.message if len(error.message) <= 200 else error.message[:197] + "…"
        errors.append(ParamError(where, f"{where}: {message}."))
    return errors


def _deepest(error: ValidationError) -> ValidationError:
    """Of an anyOf that failed, the error inside the branch that fits best, when it names a
    place deeper down (options.dataset.split rather than options.dataset)."""
    if error.validator == "anyOf" and error.context:
        inner = max(error.context, key=lambda e: len(e.absolute_path))
        if len(inner.absolute_path) > len(error.absolute_path):
            return _deepest(inner)
    return error


def _expected(schema: Any) -> str:
    """What a schema asks for, in words: 'a number from -200 to 200, or empty'."""
    if not isinstance(schema, dict):
        return "valid"
    if "anyOf" in schema:
        return ", or ".join(dict.fromkeys(_expected(s) for s in schema["anyOf"]))
    if "enum" in schema:
        values = [str(v) for v in schema["enum"]]
        shown = ", ".join(values[:10]) + (", …" if len(values) > 10 else "")
        return f"one of {shown}"
    if "const" in schema:
        return repr(schema["const"])
    kind = schema.get("type")
    if kind == "string" and schema.get("pattern") == BLANK["pattern"]:
        return "empty"
    if kind == "string" and "format" in schema:
        return {
            "date": "a date (2026-03-01)",
            "date-time": "a date-time (2026-03-01T08:30:00Z)",
        }.get(schema["format"], f"a {schema['format']}")
    if kind in ("number", "integer"):
        word = "a whole number" if kind == "integer" else "a number"
        if "minimum" in schema and "maximum" in schema:
            return f"{word} from {schema['minimum']:g} to {schema['maximum']:g}"
        return word
    if kind == "array":
        return f"a list of {_expected(schema.get('items', {}))}" if "items" in schema else "a list"
    return {"boolean": "true or false", "object": "an object", "string": "text"}.get(
        str(kind), "valid"
    )
