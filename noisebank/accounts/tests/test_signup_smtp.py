"""Sign-up end to end through a real SMTP server (aiosmtpd, started here): the e-mail leaves
through Django's SMTP backend, arrives, and its link verifies the account."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from noisebank.accounts.tests.smtp import Inbox, smtp_server


@pytest.fixture
def inbox(settings: Any) -> Iterator[Inbox]:
    with smtp_server() as (received, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield received


def test_sign_up_verified_by_the_link_of_an_email_sent_over_smtp(
    inbox: Inbox, db: None, settings: Any
) -> None:
    settings.NOISEBANK_SIGNUP = "open"
    settings.NOISEBANK_BASE_URL = "http://noisebank.example"
    client = Client()
    password = "rails-and-rain-2026"
    response = client.post(
        "/accounts/signup/",
        {"name": "Kofi Boateng", "email": "kofi@field.example", "organisation": "",
         "password1": password, "password2": password},
    )  # fmt: skip
    assert response.status_code == 302
    [received] = inbox.messages
    assert received["To"] == "kofi@field.example"
    code = inbox.wait_for("kofi@field.example", r"for Noisebank: (\d{6})").group(1)
    assert code in received["Subject"]
    link = inbox.wait_for("kofi@field.example", r"http://noisebank\.example(/accounts/verify/\S+/)")
    assert not User.objects.get(email="kofi@field.example").is_active
    assert client.get(link.group(1)).status_code == 200
    assert client.post(link.group(1)).status_code == 302
    assert User.objects.get(email="kofi@field.example").is_active
    assert client.get("/recordings/upload/").status_code == 200
