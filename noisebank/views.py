from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views import defaults

from noisebank.api.errors import not_found


def home(request: HttpRequest) -> HttpResponse:
    return redirect("recording-list")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """JSON in the API's error shape under /api/ (a client parses it), the HTML page elsewhere."""
    if request.path.startswith("/api/"):
        return not_found(f"There is nothing at {request.path}.")
    return defaults.page_not_found(request, exception)
