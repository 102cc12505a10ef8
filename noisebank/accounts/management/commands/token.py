from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from noisebank.accounts.models import SCOPES, ApiToken, token_create

# A token that is forgotten keeps working until it expires: a year unless said otherwise.
DEFAULT_DAYS = 365


class Command(BaseCommand):
    help = "Create, list and revoke API bearer tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token for USERNAME and print it once.")
        create.add_argument("username")
        create.add_argument("--name", default="", help="What the token is for.")
        create.add_argument(
            "--scopes",
            default=",".join(SCOPES),
            help=f"What it may do, comma-separated: {', '.join(SCOPES)} (default: all three).",
        )
        create.add_argument(
            "--expires-days",
            type=int,
            default=DEFAULT_DAYS,
            help=f"Days until it stops working (default {DEFAULT_DAYS}; 0: never).",
        )
        listing = sub.add_parser("list", help="List tokens (of USERNAME, or all).")
        listing.add_argument("username", nargs="?")
        revoke = sub.add_parser("revoke", help="Revoke the token whose prefix is PREFIX.")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, f"_{action}")(**options)

    def _create(
        self, *, username: str, name: str, scopes: str, expires_days: int, **_: Any
    ) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        if expires_days < 0:
            raise CommandError("--expires-days is 0 (never) or more.")
        expires = timezone.now() + timedelta(days=expires_days) if expires_days else None
        wanted = [s.strip() for s in scopes.split(",") if s.strip()]
        try:
            token, raw = token_create(user=user, name=name, scopes=wanted, expires_at=expires)
        except ValueError as e:
            raise CommandError(str(e)) from None
        until = f"until {expires:%Y-%m-%d}" if expires else "with no expiry"
        self.stderr.write(
            f"Token {token.prefix}… for {username} ({', '.join(token.scopes)}), {until}; "
            "it is shown only once:"
        )
        self.stdout.write(raw)

    def _list(self, *, username: str | None, **_: Any) -> None:
        tokens = ApiToken.objects.select_related("user")
        if username:
            tokens = tokens.filter(user__username=username)
        now = timezone.now()
        for t in tokens:
            if t.revoked_at:
                state = f"revoked {t.revoked_at:%Y-%m-%d}"
            elif t.expires_at and t.expires_at <= now:
                state = f"expired {t.expires_at:%Y-%m-%d}"
            else:
                state = f"active until {t.expires_at:%Y-%m-%d}" if t.expires_at else "active"
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            scopes = ",".join(t.scopes or SCOPES)
            self.stdout.write(
                f"{t.prefix}…  {t.user}  {t.name or '-'}  {scopes}  {state}  used {used}"
            )

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
