"""Self sign-up: an inactive collector until the e-mail address is verified by its code or
link; duplicate addresses, wrong, expired and reused codes, locking, closed and invite modes."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from noisebank.accounts.models import EmailVerification, Invitation, Profile
from noisebank.accounts.roles import Role, role_of
from noisebank.accounts.signup import MAX_FAILURES, SignupRefused, verification_check_code

PASSWORD = "trains-at-dawn-2026"
FORM = {
    "name": "Ama Owusu",
    "email": "Ama.Owusu@Field.example",
    "organisation": "Ghana Railway Noise Study",
    "password1": PASSWORD,
    "password2": PASSWORD,
}


@pytest.fixture(autouse=True)
def open_signup(settings: Any) -> None:
    settings.NOISEBANK_SIGNUP = "open"
    cache.clear()  # the password reset limits count in the cache


def sign_up(client: Client, **changes: str) -> Any:
    return client.post("/accounts/signup/", {**FORM, **changes})


def code_in(message: Any) -> str:
    found = re.search(r"code to verify this e-mail address for Noisebank: (\d{6})", message.body)
    assert found, message.body
    return found.group(1)


def link_in(message: Any) -> str:
    """The path of the verification link in the e-mail."""
    found = re.search(r"http://[^/\s]+(/accounts/verify/\S+/)", message.body)
    assert found, message.body
    return found.group(1)


def test_sign_up_makes_an_inactive_collector_and_mails_a_code_and_a_link(
    client: Client, db: None
) -> None:
    response = sign_up(client)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/verify/?email=")
    user = User.objects.get(email="Ama.Owusu@field.example")
    assert (user.username, user.first_name, user.is_active) == ("ama.owusu", "Ama Owusu", False)
    assert role_of(user) is Role.COLLECTOR
    assert Profile.objects.get(user=user).organisation == "Ghana Railway Noise Study"
    [message] = mail.outbox
    assert message.to == ["Ama.Owusu@field.example"] and code_in(message) in message.subject
    assert "/accounts/verify/" in message.body and "ama.owusu" in message.body
    # Only digests are stored.
    v = EmailVerification.objects.get(user=user)
    assert code_in(message) not in (v.code_digest, v.link_digest)
    # The account cannot log in before it is verified, and says why.
    login = client.post("/accounts/login/", {"username": "ama.owusu", "password": PASSWORD})
    assert b"not verified yet" in login.content
    assert client.get("/recordings/").status_code == 302


def test_the_code_verifies_the_account_once_and_logs_it_in(client: Client, db: None) -> None:
    sign_up(client)
    code = code_in(mail.outbox[0])
    response = client.post("/accounts/verify/", {"email": FORM["email"], "code": code})
    assert response.status_code == 302 and response["Location"] == "/recordings/upload/"
    assert User.objects.get(username="ama.owusu").is_active
    assert client.get("/recordings/upload/").status_code == 200
    again = Client().post("/accounts/verify/", {"email": FORM["email"], "code": code})
    assert again.status_code == 400 and b"already verified" in again.content
    # The e-mail address logs in as well as the user name.
    other = Client()
    assert (
        other.post(
            "/accounts/login/", {"username": "ama.owusu@field.example", "password": PASSWORD}
        ).status_code
        == 302
    )


def test_the_link_asks_before_it_verifies_and_works_once(client: Client, db: None) -> None:
    sign_up(client)
    path = link_in(mail.outbox[0])
    looked = client.get(path)  # a mail scanner opening the link uses nothing up
    assert looked.status_code == 200 and b"Verify and log in" in looked.content
    assert not User.objects.get(username="ama.owusu").is_active
    assert client.post(path).status_code == 302
    assert User.objects.get(username="ama.owusu").is_active
    reused = Client().post(path)
    assert reused.status_code == 400 and b"not valid" in reused.content


def test_a_wrong_code_says_how_many_tries_are_left_and_ten_lock_verification(
    client: Client, db: None
) -> None:
    sign_up(client)
    right = code_in(mail.outbox[0])
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    first = client.post("/accounts/verify/", {"email": FORM["email"], "code": wrong})
    assert first.status_code == 400 and b"9 more tries" in first.content
    for _ in range(MAX_FAILURES - 2):
        client.post("/accounts/verify/", {"email": FORM["email"], "code": wrong})
    last = client.post("/accounts/verify/", {"email": FORM["email"], "code": wrong})
    assert b"10 wrong codes: verification is locked for 15 minutes" in last.content
    locked = client.post("/accounts/verify/", {"email": FORM["email"], "code": right})
    assert b"Too many wrong codes" in locked.content
    assert not User.objects.get(username="ama.owusu").is_active
    # Asking for a new code does not lift the lock.
    v = EmailVerification.objects.get(user__username="ama.owusu")
    v.last_sent_at = timezone.now() - timedelta(minutes=5)
    v.save()
    client.post("/accounts/verify/resend/", {"email": FORM["email"]})
    newest = code_in(mail.outbox[-1])
    with pytest.raises(SignupRefused, match="Too many wrong codes"):
        verification_check_code(email=FORM["email"], code=newest)
    # Once the lock has passed, the newest code works.
    EmailVerification.objects.filter(pk=v.pk).update(locked_until=timezone.now())
    assert verification_check_code(email=FORM["email"], code=newest).is_active


def test_an_expired_code_is_refused_and_a_new_one_replaces_it(client: Client, db: None) -> None:
    sign_up(client)
    old = code_in(mail.outbox[0])
    EmailVerification.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.post("/accounts/verify/", {"email": FORM["email"], "code": old})
    assert b"This code has expired: ask for a new one." in expired.content
    # New codes are sent at most once a minute.
    soon = client.post("/accounts/verify/resend/", {"email": FORM["email"]}, follow=True)
    assert b"A code was sent a moment ago" in soon.content and len(mail.outbox) == 1
    EmailVerification.objects.update(last_sent_at=timezone.now() - timedelta(minutes=2))
    client.post("/accounts/verify/resend/", {"email": FORM["email"]})
    new = code_in(mail.outbox[-1])
    refused = client.post("/accounts/verify/", {"email": FORM["email"], "code": old})
    assert refused.status_code == 400 and b"not right" in refused.content
    assert (
        client.post("/accounts/verify/", {"email": FORM["email"], "code": new}).status_code == 302
    )


def test_a_duplicate_address_is_refused_whatever_its_case(client: Client, alice: User) -> None:
    response = sign_up(client, email="ALICE@example.org")
    assert response.status_code == 409
    assert b"An account with this e-mail address already exists" in response.content
    assert User.objects.filter(email__iexact="alice@example.org").count() == 1
    sign_up(client)
    waiting = sign_up(Client(), email=FORM["email"].lower())
    assert (
        waiting.status_code == 409 and b"waiting for its address to be verified" in waiting.content
    )


def test_passwords_must_pass_djangos_validators_and_match(client: Client, db: None) -> None:
    weak = sign_up(client, password1="password", password2="password")
    assert weak.status_code == 400 and b"too common" in weak.content
    differ = sign_up(client, password2="something-else-2026")
    assert differ.status_code == 400 and b"The two passwords differ." in differ.content
    assert not User.objects.filter(email__iexact=FORM["email"]).exists()
    assert mail.outbox == []


def test_sign_up_while_closed_is_refused_with_a_message(
    client: Client, db: None, settings: Any
) -> None:
    settings.NOISEBANK_SIGNUP = "closed"
    page = client.get("/accounts/signup/")
    assert page.status_code == 403 and b"Sign-up is closed" in page.content
    assert sign_up(client).status_code == 403
    assert not User.objects.filter(email__iexact=FORM["email"]).exists()
    assert b"Create an account" not in client.get("/accounts/login/").content


def test_invitations_let_people_sign_up_in_invite_mode(
    client: Client, admin_client: Client, settings: Any
) -> None:
    settings.NOISEBANK_SIGNUP = "invite"
    assert sign_up(client).status_code == 403
    sent = admin_client.post(
        "/accounts/invitations/", {"emails": "ama.owusu@field.example, bad@", "role": "3"}
    )
    assert sent.status_code == 400 and b"Not e-mail addresses: bad@" in sent.content
    admin_client.post("/accounts/invitations/", {"emails": "ama.owusu@field.example", "role": "3"})
    [message] = mail.outbox
    link = re.search(r"http://\S+(/accounts/signup/\?invite=\S+)", message.body)
    assert link and "reviewer" in message.body
    form = client.get(link.group(1))
    assert form.status_code == 200 and b"invited as a reviewer" in form.content
    token = link.group(1).split("invite=")[1]
    wrong = sign_up(client, invite=token, email="someone.else@field.example")
    assert wrong.status_code == 400 and b"This invitation is for ama.owusu@field.example" in (
        wrong.content
    )
    done = sign_up(client, invite=token, email="ama.owusu@field.example")
    assert done.status_code == 302
    user = User.objects.get(email="ama.owusu@field.example")
    # The invitation's link proved the address: active at once, in the invited role, logged in.
    assert user.is_active and role_of(user) is Role.REVIEWER
    assert client.get("/review/").status_code == 200
    assert Invitation.objects.get().state == "used"
    again = Client().get(link.group(1))
    assert again.status_code == 400 and b"already used" in again.content


def test_only_admins_send_invitations(alice_client: Client, charlie_client: Client) -> None:
    for client in (alice_client, charlie_client):
        assert client.get("/accounts/invitations/").status_code == 403
        client.post("/accounts/invitations/", {"emails": "x@example.org", "role": "1"})
    assert mail.outbox == []


def test_password_reset_by_email_works_once(client: Client, alice: User) -> None:
    asked = client.post("/accounts/password/reset/", {"email": "ALICE@example.org"})
    assert asked.status_code == 302
    [message] = mail.outbox
    path = re.search(r"http://[^/\s]+(/accounts/password/reset/\S+/)", message.body).group(1)
    form = client.get(path, follow=True)
    assert b"Set a new password" in form.content
    new = "a-new-password-for-alice"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    logged_in = Client().post("/accounts/login/", {"username": "alice", "password": new})
    assert logged_in.status_code == 302
    reused = Client().get(path, follow=True)
    assert b"This link does not work any more" in reused.content


def test_password_reset_mails_are_limited_per_address(client: Client, alice: User) -> None:
    for _ in range(5):
        client.post("/accounts/password/reset/", {"email": "alice@example.org"})
    refused = client.post("/accounts/password/reset/", {"email": "alice@example.org"})
    assert refused.status_code == 200 and b"Too many password reset" in refused.content
    assert len(mail.outbox) == 5
