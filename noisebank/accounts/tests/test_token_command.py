import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from noisebank.accounts.models import ApiToken


def create_token(username: str) -> str:
    out = io.StringIO()
    call_command("token", "create", username, "--name", "script", stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def test_token_is_stored_hashed_and_shown_once(alice: User) -> None:
    raw = create_token("alice")
    token = ApiToken.objects.get()
    assert raw.startswith("nb_") and len(raw) > 40
    assert raw not in (token.digest, token.prefix) and raw.startswith(token.prefix)


def test_bearer_token_logs_the_script_in(alice: User) -> None:
    raw = create_token("alice")
    response = Client().get("/recordings/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


def test_revoked_token_is_refused(alice: User) -> None:
    raw = create_token("alice")
    call_command("token", "revoke", raw[:10], stdout=io.StringIO())
    response = Client().get("/recordings/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_token_of_deactivated_user_is_refused(alice: User) -> None:
    raw = create_token("alice")
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert Client().get("/recordings/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_unknown_user_is_a_clear_error(db: None) -> None:
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        create_token("ghost")


def test_list_shows_prefix_not_secret(alice: User) -> None:
    raw = create_token("alice")
    out = io.StringIO()
    call_command("token", "list", stdout=out)
    assert raw[:10] in out.getvalue() and raw not in out.getvalue()


def test_api_reports_who_the_token_belongs_to(alice: User) -> None:
    raw = create_token("alice")
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.json() == {"username": "alice", "role": "researcher"}
