"""Log-in throttling: ten failed log-ins for one account from one address pause it, with a
clear page; another address, another account and the API's tokens are not affected."""

import re
from datetime import timedelta

from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core import mail
from django.http import HttpResponse
from django.test import Client

from noisebank.testing import PASSWORD


def log_in(username: str, password: str, address: str = "10.0.0.1") -> HttpResponse:
    return Client(REMOTE_ADDR=address).post(  # type: ignore[return-value]
        "/accounts/login/", {"username": username, "password": password}
    )


def test_ten_failures_pause_that_account_from_that_address_with_a_clear_page(
    alice: User, bob: User
) -> None:
    for _ in range(9):
        assert log_in("alice", "wrong").status_code == 200  # the form again, with its error
    locked = log_in("alice", "wrong")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed log-ins" in page and "paused for 15 minutes" in page
    assert "reset it by e-mail" in page
    assert log_in("alice", PASSWORD).status_code == 429  # the right password waits too
    assert log_in("alice", PASSWORD, address="10.0.0.2").status_code == 302  # elsewhere: fine
    assert log_in("bob", PASSWORD).status_code == 302  # another account: fine


def test_the_pause_ends_after_its_time(alice: User) -> None:
    for _ in range(10):
        log_in("alice", "wrong")
    assert log_in("alice", PASSWORD).status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert log_in("alice", PASSWORD).status_code == 302


def test_a_success_forgets_the_earlier_failures(alice: User) -> None:
    for _ in range(9):
        log_in("alice", "wrong")
    assert log_in("alice", PASSWORD).status_code == 302
    for _ in range(9):
        assert log_in("alice", "wrong").status_code == 200


def test_a_new_password_by_e_mail_ends_the_pause(client: Client, alice: User) -> None:
    for _ in range(10):
        log_in("alice", "wrong")
    assert log_in("alice", PASSWORD).status_code == 429
    mail.outbox.clear()
    client.post("/accounts/password/reset/", {"email": alice.email})
    link = re.search(r"http://[^/\s]+(/accounts/password/reset/\S+/)", mail.outbox[0].body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    new = "a-new-password-for-alice"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302
    assert log_in("alice", new).status_code == 302  # the page said so
