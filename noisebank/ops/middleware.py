"""Per-request operations: request id and log line, metrics, replica reads.

Each middleware works natively under ASGI (uvicorn) and WSGI (the test client). The context
variables they set are set again, to this request's value, at the start of every request, and
never reset: under ASGI each request has its own copy of the context anyway, and a value must
outlive the view, for the lines Django logs after it and for a body that is still streaming.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable
from inspect import iscoroutinefunction
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

from noisebank.lib.logs import request_id_var
from noisebank.ops import metrics
from noisebank.ops.replica import PIN_COOKIE, reads_may_use_replica, replica_configured

# What we accept from an X-Request-ID header (nginx's $request_id, a load balancer's UUID).
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Probes and scrapes would drown the request log; they are logged at DEBUG.
_QUIET_PATHS = {"/healthz", "/metrics"}
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

request_log = logging.getLogger("noisebank.request")

Handler = Callable[[HttpRequest], Any]


def _around(
    before: Callable[[HttpRequest], None],
    after: Callable[[HttpRequest, HttpResponseBase], None],
) -> Callable[[Handler], Handler]:
    """A middleware, sync and async, from what it does before and after the view."""

    @sync_and_async_middleware
    def middleware(get_response: Handler) -> Handler:
        if iscoroutinefunction(get_response):

            async def async_middleware(request: HttpRequest) -> HttpResponseBase:
                before(request)
                response = await get_response(request)
                after(request, response)
                return response

            return async_middleware

        def sync_middleware(request: HttpRequest) -> HttpResponseBase:
            before(request)
            response = get_response(request)
            after(request, response)
            return response

        return sync_middleware

    return middleware


def request_id_for(request: HttpRequest) -> str:
    """The id nginx (or a load balancer) gave the request, else a new one."""
    given = request.headers.get("X-Request-ID", "")
    return given if _VALID_REQUEST_ID.match(given) else uuid.uuid4().hex


def _start_request(request: HttpRequest) -> None:
    request._noisebank_started = time.perf_counter()  # type: ignore[attr-defined]
    request_id_var.set(request_id_for(request))


def _view_name(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    return (match.view_name if match else None) or "unmatched"


def _finish_request(request: HttpRequest, response: HttpResponseBase) -> None:
    seconds = time.perf_counter() - request._noisebank_started  # type: ignore[attr-defined]
    response["X-Request-ID"] = request_id_var.get() or ""
    view = _view_name(request)
    metrics.request_finished(request.method or "", view, response.status_code, seconds)
    user = getattr(request, "user", None)
    level = logging.DEBUG if request.path in _QUIET_PATHS else logging.INFO
    request_log.log(
        level,
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
            "view": view,
            "user_id": user.pk if user is not None and user.is_authenticated else None,
            "client": request.META.get("REMOTE_ADDR"),
        },
    )


# Give every request an id (kept from a valid X-Request-ID), count it, log one line for it and
# send the id back in X-Request-ID. Log lines written while it is handled carry the id.
request_id_middleware = _around(_start_request, _finish_request)


def _mark_replica_reads(request: HttpRequest) -> None:
    reads_may_use_replica.set(
        request.method in ("GET", "HEAD")
        and PIN_COOKIE not in request.COOKIES
        and replica_configured()
    )


def _pin_after_write(request: HttpRequest, response: HttpResponseBase) -> None:
    seconds = settings.NOISEBANK_REPLICA_PIN_SECONDS
    if request.method not in _SAFE_METHODS and seconds > 0 and replica_configured():
        response.set_cookie(
            PIN_COOKIE,
            "1",
            max_age=seconds,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )


# Let GET and HEAD requests read the catalogue from the replica (noisebank.ops.replica).
replica_reads_middleware = _around(_mark_replica_reads, _pin_after_write)
