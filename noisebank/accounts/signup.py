"""Self sign-up: accounts that verify their e-mail address, invitations, and their e-mails.

    account_signup(name=…, email=…, password=…, organisation=…)   -> an inactive collector
    verification_send(user)                                       -> a code and a link, mailed
    verification_check_code(email=…, code=…) / verification_check_link(token)
    invitation_create(email=…, role=…, invited_by=admin)          -> mailed; signs up at once

NOISEBANK_SIGNUP says who may sign up: `open` (anyone), `invite` (whoever holds an invitation)
or `closed`. A new account is inactive (it cannot log in, its API tokens do not work) until its
e-mail address is verified, by the code or the link of one e-mail. Codes and links expire
(NOISEBANK_SIGNUP_CODE_MINUTES), are used once, and only their digests are stored; ten wrong
codes lock verification for VERIFY_LOCK; new codes are sent at most once a minute and
SENDS_PER_HOUR times an hour. An invitation's link proves its address, so an invited account is
active at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from noisebank.accounts.models import EmailVerification, Invitation, Profile
from noisebank.accounts.roles import Role, role_group

SIGNUP_MODES = ("open", "invite", "closed")
MAX_FAILURES = 10
VERIFY_LOCK = timedelta(minutes=15)
RESEND_AFTER = timedelta(seconds=60)
SENDS_PER_HOUR = 5
CODE_DIGITS = 6
INVITABLE_ROLES = (Role.COLLECTOR, Role.RESEARCHER, Role.REVIEWER)


class SignupRefused(ValueError):
    """Why a sign-up, a verification or an invitation did not happen, in words for the user.
    `field` names the form field at fault, if one is; `status` is the HTTP answer."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


def signup_mode() -> str:
    mode = str(getattr(settings, "NOISEBANK_SIGNUP", "closed")).strip().lower()
    return mode if mode in SIGNUP_MODES else "closed"


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _code_digest(salt: str, code: str) -> str:
    # Keyed with the secret key: six digits are quickly tried against a leaked bare hash.
    return salted_hmac("noisebank.accounts.verify", f"{salt}:{code}").hexdigest()


def normalise_email(email: str) -> str:
    local, _, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}" if local else email.strip()


def email_taken(email: str) -> User | None:
    return User.objects.filter(email__iexact=normalise_email(email)).first()


def username_for(email: str) -> str:
    """A readable, unique user name from the address's local part (it shows in noise ids)."""
    local = email.split("@", 1)[0]
    ascii_local = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9._-]+", "", ascii_local)[:30].strip("._-") or "collector"
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}{n}"
    return name


# --- Sign-up --------------------------------------------------------------------------------


def account_signup(
    *,
    name: str,
    email: str,
    password: str,
    organisation: str = "",
    invitation_token: str = "",
) -> User:
    """A new collector (or the invitation's role): inactive until verified, unless invited."""
    mode = signup_mode()
    invitation = invitation_valid(invitation_token) if invitation_token else None
    if mode == "closed" and invitation is None:
        raise SignupRefused(
            "Sign-up is closed on this Noisebank: ask an administrator for an account."
        )
    if mode == "invite" and invitation is None:
        raise SignupRefused(
            "Sign-up here is by invitation: ask an administrator to invite your e-mail address."
        )
    email = normalise_email(email)
    if invitation is not None and invitation.email.lower() != email.lower():
        raise SignupRefused(
            f"This invitation is for {invitation.email}; sign up with that address.",
            field="email",
        )
    existing = email_taken(email)
    if existing is not None:
        raise SignupRefused(_taken_message(existing), field="email", status=409)
    candidate = User(username="", email=email, first_name=name.strip()[:150])
    try:
        validate_password(password, candidate)
    except ValidationError as e:
        raise SignupRefused(" ".join(e.messages), field="password1") from e
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username_for(email),
                email,
                password,
                first_name=name.strip()[:150],
                is_active=invitation is not None,
            )
            Profile.objects.create(user=user, organisation=organisation.strip()[:200])
            role = Role(invitation.role) if invitation is not None else Role.COLLECTOR
            user.groups.add(role_group(role))
            if invitation is not None:
                claimed = Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(
                    used_at=timezone.now(), user=user
                )
                if not claimed:  # used by a second tab a moment ago
                    raise SignupRefused("This invitation has just been used.")
    except IntegrityError as e:  # the same address signing up twice at once
        raise SignupRefused(_taken_message(email_taken(email)), field="email", status=409) from e
    if invitation is None:
        verification_send(user)
    return user


def _taken_message(user: User | None) -> str:
    if user is not None and not user.is_active and user.has_usable_password():
        return (
            "An account with this e-mail address is waiting for its address to be verified: "
            "enter the code we sent, or ask for a new one."
        )
    return (
        "An account with this e-mail address already exists: log in, or reset your password "
        "if you forgot it."
    )


# --- Verification ---------------------------------------------------------------------------


@dataclass
class Sent:
    code: str
    link: str


def verification_send(user: User) -> Sent:
    """A new code and link for `user` (the old ones stop working), e-mailed to them."""
    now = timezone.now()
    with transaction.atomic():
        v, _ = EmailVerification.objects.select_for_update().get_or_create(
            user=user, defaults={"email": user.email, "expires_at": now}
        )
        if v.verified_at is not None:
            raise SignupRefused("This e-mail address is already verified: log in.")
        if v.last_sent_at and now - v.last_sent_at < RESEND_AFTER:
            wait = int((RESEND_AFTER - (now - v.last_sent_at)).total_seconds()) + 1
            raise SignupRefused(f"A code was sent a moment ago; ask again in {wait} s.")
        if v.window_start is None or now - v.window_start >= timedelta(hours=1):
            v.window_start, v.sends_in_window = now, 0
        if v.sends_in_window >= SENDS_PER_HOUR:
            again = v.window_start + timedelta(hours=1)
            raise SignupRefused(
                f"{SENDS_PER_HOUR} codes were sent within the hour; ask again after "
                f"{again:%H:%M} UTC."
            )
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        token = secrets.token_urlsafe(32)
        v.email = user.email
        v.salt = secrets.token_hex(8)
        v.code_digest = _code_digest(v.salt, code)
        v.link_digest = _digest(token)
        v.expires_at = now + timedelta(minutes=settings.NOISEBANK_SIGNUP_CODE_MINUTES)
        v.last_sent_at = now
        v.sends_in_window += 1
        v.save()
    link = settings.NOISEBANK_BASE_URL.rstrip("/") + reverse("verify-link", args=[token])
    minutes = settings.NOISEBANK_SIGNUP_CODE_MINUTES
    send_mail(
        f"Noisebank: your code is {code}",
        f"Hello {user.first_name or user.username},\n\n"
        f"Your code to verify this e-mail address for Noisebank: {code}\n\n"
        f"Or open this link:\n{link}\n\n"
        f"Both work once and for {minutes} minutes. Your user name is {user.username}; "
        "you can also log in with this e-mail address.\n\n"
        "If you did not sign up, ignore this e-mail: without verification the account "
        "cannot be used.\n",
        None,
        [user.email],
    )
    return Sent(code, link)


def _pending(email: str) -> EmailVerification:
    v = (
        EmailVerification.objects.select_for_update()
        .select_related("user")
        .filter(user__email__iexact=normalise_email(email))
        .order_by("-id")
        .first()
    )
    if v is None:
        raise SignupRefused(
            "No sign-up is waiting for this e-mail address: check it, or sign up.", field="email"
        )
    return v


def _usable(v: EmailVerification, now: Any) -> None:
    if v.verified_at is not None or v.user.is_active:
        raise SignupRefused("This e-mail address is already verified: log in.")
    if v.locked_until and now < v.locked_until:
        raise SignupRefused(
            f"Too many wrong codes: verification is locked until {v.locked_until:%H:%M} UTC. "
            "Then enter the code again or ask for a new one."
        )
    if now >= v.expires_at:
        raise SignupRefused("This code has expired: ask for a new one.", field="code")


def verification_check_code(*, email: str, code: str) -> User:
    """The verified user, or SignupRefused (wrong, expired, used, locked)."""
    now = timezone.now()
    code = re.sub(r"\s+", "", code)
    with transaction.atomic():
        v = _pending(email)
        _usable(v, now)
        if not (
            code.isdigit() and constant_time_compare(v.code_digest, _code_digest(v.salt, code))
        ):
            v.failures += 1
            left = MAX_FAILURES - v.failures
            if left <= 0:
                v.failures, v.locked_until = 0, now + VERIFY_LOCK
                v.save(update_fields=["failures", "locked_until"])
                minutes = int(VERIFY_LOCK.total_seconds() // 60)
                message = (
                    f"{MAX_FAILURES} wrong codes: verification is locked for {minutes} minutes, "
                    f"until {v.locked_until:%H:%M} UTC."
                )
            else:
                v.save(update_fields=["failures"])
                message = (
                    f"That code is not right. {left} more tr{'ies' if left > 1 else 'y'} before "
                    f"verification is locked for {int(VERIFY_LOCK.total_seconds() // 60)} minutes."
                )
        else:
            return _verified(v, now)
    raise SignupRefused(message, field="code")


def verification_check_link(token: str, *, use: bool) -> User:
    """The user a link verifies (and, with `use`, verify them), or SignupRefused."""
    now = timezone.now()
    with transaction.atomic():
        v = (
            EmailVerification.objects.select_for_update()
            .select_related("user")
            .filter(link_digest=_digest(token))
            .first()
        )
        if v is None:
            raise SignupRefused(
                "This link is not valid (a newer code replaces it, or it was mistyped): ask for "
                "a new code."
            )
        _usable(v, now)
        return _verified(v, now) if use else v.user


def _verified(v: EmailVerification, now: Any) -> User:
    v.verified_at = now
    v.code_digest = v.link_digest = ""  # used once
    v.failures = 0
    v.save()
    User.objects.filter(pk=v.user_id).update(is_active=True)
    v.user.is_active = True
    return v.user


# --- Invitations ----------------------------------------------------------------------------


def invitation_create(*, email: str, role: Role, invited_by: User) -> tuple[Invitation, str]:
    """An invitation (its raw token in the mailed link only) to sign up with `email`."""
    email = normalise_email(email)
    if email_taken(email) is not None:
        raise SignupRefused(f"{email} already has an account.", field="emails")
    if role not in INVITABLE_ROLES:
        raise SignupRefused(f"Invitations give {', '.join(r.group_name for r in INVITABLE_ROLES)}.")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation = Invitation.objects.create(
        email=email,
        role=int(role),
        token_digest=_digest(token),
        invited_by=invited_by,
        created_at=now,
        expires_at=now + timedelta(days=settings.NOISEBANK_INVITATION_DAYS),
    )
    link = settings.NOISEBANK_BASE_URL.rstrip("/") + reverse("signup") + f"?invite={token}"
    who = invited_by.get_full_name() or invited_by.get_username()
    send_mail(
        "You are invited to Noisebank",
        f"Hello,\n\n{who} invites you to contribute to Noisebank as a {role.group_name}.\n\n"
        f"Create your account here (the link works once, for "
        f"{settings.NOISEBANK_INVITATION_DAYS} days):\n{link}\n",
        None,
        [email],
    )
    return invitation, token


def invitation_valid(token: str) -> Invitation:
    invitation = Invitation.objects.filter(token_digest=_digest(token)).first()
    if invitation is None:
        raise SignupRefused("This invitation link is not valid: check it was copied whole.")
    if invitation.used_at is not None:
        raise SignupRefused("This invitation was already used: log in, or ask for a new one.")
    if timezone.now() >= invitation.expires_at:
        raise SignupRefused("This invitation has expired: ask the administrator for a new one.")
    return invitation
