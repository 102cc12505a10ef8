import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "nb_"


def token_digest(raw: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 is enough: nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


# What a token may be used for; a request needing another scope is refused (accounts/scopes.py).
SCOPES = ("read", "upload", "export")


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> "ApiTokenQuerySet":
        return self.filter(revoked_at__isnull=True, user__is_active=True).exclude(
            expires_at__lte=timezone.now()
        )


class ApiToken(models.Model):
    """A bearer token for scripts. Only its digest is stored; the token is shown once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise it")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Tokens made before scopes and expiry existed keep every scope and never expire.
    scopes = models.JSONField(default=list, help_text="read, upload, export")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never")

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


def token_create(
    *,
    user: User,
    name: str = "",
    scopes: Sequence[str] = SCOPES,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(
            f"Unknown scope{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: use "
            f"{', '.join(SCOPES)}."
            if unknown
            else f"Give at least one scope: {', '.join(SCOPES)}."
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[:10],
        digest=token_digest(raw),
        scopes=[s for s in SCOPES if s in scopes],
        expires_at=expires_at,
    )
    return token, raw


class Profile(models.Model):
    """What a person told us at sign-up besides their name and e-mail address."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    organisation = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"profile of {self.user}"


class EmailVerification(models.Model):
    """The pending proof that a new account's e-mail address is its owner's: one row an account.

    A resend replaces the code and link (only digests are kept); failures and the lock stay, so
    asking for new codes does not reset the count of wrong ones.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    email = models.EmailField()
    salt = models.CharField(max_length=32, blank=True)
    code_digest = models.CharField(max_length=64, blank=True)
    # Looked up by the link's token: sha256 of it (unique while pending, empty once used).
    link_digest = models.CharField(max_length=64, blank=True, db_index=True)
    expires_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    sends_in_window = models.PositiveSmallIntegerField(default=0)

    def __str__(self) -> str:
        return f"verification of {self.email}"


class Invitation(models.Model):
    """An administrator's invitation to sign up with one e-mail address, in a role."""

    email = models.EmailField()
    role = models.PositiveSmallIntegerField()  # accounts.roles.Role
    token_digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation for {self.email}"

    @property
    def role_name(self) -> str:
        from noisebank.accounts.roles import Role

        return Role(self.role).group_name

    @property
    def state(self) -> str:
        if self.used_at is not None:
            return "used"
        return "expired" if timezone.now() >= self.expires_at else "pending"
