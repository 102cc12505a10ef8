from typing import Any

from django.http import HttpRequest
from ninja.security import SessionAuth


class SessionOrToken(SessionAuth):
    """A logged-in browser session (CSRF checked on writes) or a bearer token.

    BearerTokenMiddleware has already turned a valid token into request.user; such a request
    carries no cookies, so CSRF does not apply.
    """

    def __call__(self, request: HttpRequest) -> Any:
        if getattr(request, "auth_token", None) is not None:
            return request.user
        return super().__call__(request)
