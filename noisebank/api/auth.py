"""The API's two ways in, either one enough: a bearer token (scripts) or the session cookie
(the browser). Both appear in the OpenAPI schema as alternatives, so a client generated from it
may send just the token."""

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth


class BearerToken(HttpBearer):
    """`Authorization: Bearer nb_…` (`noisebank token create USER`).

    BearerTokenMiddleware has already checked the token (an unknown one is a 401 there) and
    logged the request in as its user; such a request carries no cookies, so CSRF does not apply.
    """

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return request.user if getattr(request, "auth_token", None) is not None else None


class Session(SessionAuth):
    """The browser's session cookie; CSRF is checked on writes."""


API_AUTH = [BearerToken(), Session()]
