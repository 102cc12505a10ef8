"""Authentication for every request: session or bearer token, and login required by default."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth import middleware as auth_middleware
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from noisebank.accounts.models import ApiToken, token_digest


def is_api_path(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


class BearerTokenMiddleware:
    """`Authorization: Bearer <token>` logs the request in as the token's user.

    A request that carries a token uses no cookies, so CSRF does not apply to it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        # /metrics checks its own bearer token (NOISEBANK_METRICS_TOKEN), not a user's.
        if header[:7].lower() == "bearer " and request.path != "/metrics":
            raw = header[7:].strip()
            token = (
                ApiToken.objects.active().select_related("user").filter(digest=token_digest(raw))
            ).first()
            if token is None:
                return JsonResponse(
                    {"detail": "The bearer token is unknown or revoked."}, status=401
                )
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
            request.user = token.user
            request.auth_token = token  # type: ignore[attr-defined]
            request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
        return self.get_response(request)


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's: every view needs a login unless marked `login_not_required`.

    API clients get a 401 with a JSON body instead of a redirect to the login page.
    """

    def handle_no_permission(  # type: ignore[override]
        self, request: HttpRequest, view_func: Any
    ) -> HttpResponse:
        if is_api_path(request):
            response = JsonResponse(
                {"detail": "Log in, or send Authorization: Bearer <token>."}, status=401
            )
            response["WWW-Authenticate"] = 'Bearer realm="noisebank"'
            return response
        return super().handle_no_permission(request, view_func)
