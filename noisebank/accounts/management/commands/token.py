from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from noisebank.accounts.models import ApiToken, token_create


class Command(BaseCommand):
    help = "Create, list and revoke API bearer tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token for USERNAME and print it once.")
        create.add_argument("username")
        create.add_argument("--name", default="", help="What the token is for.")
        listing = sub.add_parser("list", help="List tokens (of USERNAME, or all).")
        listing.add_argument("username", nargs="?")
        revoke = sub.add_parser("revoke", help="Revoke the token whose prefix is PREFIX.")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, f"_{action}")(**options)

    def _create(self, *, username: str, name: str, **_: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        token, raw = token_create(user=user, name=name)
        self.stderr.write(f"Token {token.prefix}… for {username}; it is shown only once:")
        self.stdout.write(raw)

    def _list(self, *, username: str | None, **_: Any) -> None:
        tokens = ApiToken.objects.select_related("user")
        if username:
            tokens = tokens.filter(user__username=username)
        for t in tokens:
            state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            self.stdout.write(f"{t.prefix}…  {t.user}  {t.name or '-'}  {state}  used {used}")

    def _revoke(self, *, prefix: str, **_: Any) -> None:
        prefix = prefix.rstrip("…")
        matches = ApiToken.objects.filter(prefix__startswith=prefix, revoked_at__isnull=True)
        count = matches.count()
        if count != 1:
            raise CommandError(
                f"{count} active tokens start with {prefix!r}; give a prefix that names one."
            )
        matches.update(revoked_at=timezone.now())
        self.stdout.write(f"Revoked {prefix}….")
