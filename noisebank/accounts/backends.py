from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.http import HttpRequest


class EmailOrUsernameBackend(ModelBackend):
    """Django's ModelBackend, which also takes an e-mail address where the user name goes
    (sign-up makes the user name; people remember their address). An address held by several
    accounts logs none of them in by address."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username and "@" in username:
            owners = list(User.objects.filter(email__iexact=username.strip())[:2])
            if len(owners) == 1:
                username = owners[0].get_username()
        return super().authenticate(request, username=username, password=password, **kwargs)
