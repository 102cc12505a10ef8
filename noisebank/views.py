from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views import defaults

from noisebank.accounts.roles import may
from noisebank.api.errors import not_found


def home(request: HttpRequest) -> HttpResponse:
    """Researchers and up: the dashboard; collectors: their own uploads; anyone else: login
    (a logged-in account with no role gets the catalogue's refusal, which says why)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if may(request.user, "dashboard"):
        return redirect("dashboard")
    if may(request.user, "own"):
        return redirect("my-recordings")
    return redirect("recording-list")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """JSON in the API's error shape under /api/ (a client parses it), the HTML page elsewhere."""
    if request.path.startswith("/api/"):
        return not_found(f"There is nothing at {request.path}.")
    return defaults.page_not_found(request, exception)
