"""Authentication for every request: session or bearer token, and login required by default."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth import middleware as auth_middleware
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from noisebank.accounts.models import SCOPES, ApiToken, token_digest
from noisebank.accounts.scopes import scope_needed
from noisebank.api.errors import error_response


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
            token = ApiToken.objects.select_related("user").filter(digest=token_digest(raw)).first()
            refusal = _refusal(token)
            if refusal is not None:
                response = error_response(401, refusal)
                response["WWW-Authenticate"] = 'Bearer realm="noisebank", error="invalid_token"'
                return response
            assert token is not None
            needed = scope_needed(request)
            scopes = token.scopes or list(SCOPES)  # made before scopes: every scope
            if needed not in scopes:
                return error_response(
                    403,
                    f"This token may not {needed} (its scopes: {', '.join(scopes)}); make one "
                    f"with the {needed} scope: noisebank token create USER --scopes {needed}.",
                )
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
            request.user = token.user
            request.auth_token = token  # type: ignore[attr-defined]
            request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
        return self.get_response(request)


def _refusal(token: ApiToken | None) -> str | None:
    """Why a presented token does not log anyone in, or None when it does."""
    if token is None:
        return "The bearer token is unknown."
    if token.revoked_at is not None:
        return f"The bearer token {token.prefix}… was revoked on {token.revoked_at:%Y-%m-%d}."
    if token.expires_at is not None and token.expires_at <= timezone.now():
        return f"The bearer token {token.prefix}… expired on {token.expires_at:%Y-%m-%d}."
    if not token.user.is_active:
        return "The bearer token's account is not active."
    return None


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's: every view needs a login unless marked `login_not_required`.

    API clients get a 401 with a JSON body instead of a redirect to the login page.
    """

    def handle_no_permission(  # type: ignore[override]
        self, request: HttpRequest, view_func: Any
    ) -> HttpResponse:
        if is_api_path(request):
            response = error_response(401, "Log in, or send Authorization: Bearer <token>.")
            response["WWW-Authenticate"] = 'Bearer realm="noisebank"'
            return response
        return super().handle_no_permission(request, view_func)
