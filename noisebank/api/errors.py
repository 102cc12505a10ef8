"""One error shape for every answer under /api/: `{"detail": str, "errors": [{param, message}]}`.

`detail` is a sentence for a person; `errors` names each bad parameter (empty when no parameter
is at fault). Some answers add a field of their own (`kind`, `offset`, `existing_noise_id`), all
documented in ErrorOut. django-ninja's own validation errors (422, a list in `detail`) and its
404s are turned into this shape, and so is Django's 404 for any path under /api/.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from noisebank.catalog.filters import ParamError


class ParamErrorOut(Schema):
    param: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[ParamErrorOut]
    kind: str | None = None  # uploads: metadata, audio, duplicate, too_large, forbidden
    offset: int | None = None  # chunked uploads: where to resume
    existing_noise_id: str | None = None  # a duplicate upload: the recording it duplicates


def error_response(
    status: int, detail: str, errors: Iterable[ParamError] = (), **extra: Any
) -> JsonResponse:
    body = {
        "detail": detail,
        "errors": [{"param": e.param, "message": e.message} for e in errors],
        **extra,
    }
    return JsonResponse(body, status=status)


def param_errors(errors: Sequence[ParamError]) -> JsonResponse:
    """400 naming each bad parameter."""
    return error_response(400, " ".join(e.message for e in errors), errors)


def not_found(detail: str = "Not found.") -> JsonResponse:
    return error_response(404, detail)


def _location(loc: Sequence[Any]) -> str:
    """ninja's ("query", "size") or ("body", "payload", "size") as the parameter's name."""
    parts = [str(p) for p in loc if p not in ("query", "path", "body", "header", "form", "file")]
    if len(parts) > 1 and parts[0] == "payload":
        parts = parts[1:]
    return ".".join(parts) or "body"


def install_handlers(api: NinjaAPI) -> None:
    def validation(request: HttpRequest, exc: Any) -> HttpResponse:
        errors = [
            ParamError(_location(e.get("loc", ())), f"{_location(e.get('loc', ()))}: {e['msg']}.")
            for e in exc.errors
        ]
        return param_errors(errors or [ParamError("body", "The request is not valid.")])

    def authentication(request: HttpRequest, exc: Any) -> HttpResponse:
        response = error_response(401, "Log in, or send Authorization: Bearer <token>.")
        response["WWW-Authenticate"] = 'Bearer realm="noisebank"'
        return response

    def http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return error_response(exc.status_code, str(exc))

    def missing(request: HttpRequest, exc: Any) -> HttpResponse:
        return not_found()

    api.add_exception_handler(ValidationError, validation)
    api.add_exception_handler(Http404, missing)
    api.add_exception_handler(AuthenticationError, authentication)
    api.add_exception_handler(HttpError, http_error)


# Statuses most operations can answer besides their own: a bad parameter, no login, no role.
COMMON = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut}
