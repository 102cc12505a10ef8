"""The page a locked-out log-in gets (django-axes calls it; settings.AXES_LOCKOUT_CALLABLE)."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "pause": f"{minutes} minute{'s' if minutes != 1 else ''}",
    }
    return render(request, "registration/locked.html", context, status=429)
