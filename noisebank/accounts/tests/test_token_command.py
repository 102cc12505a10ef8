import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

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


def bearer(raw: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize(
    ("method", "url", "needs"),
    [
        ("get", "/api/v1/recordings", "read"),
        ("get", "/api/v1/exports", "read"),
        ("get", "/api/v1/recordings/export.csv", "export"),
        ("get", "/api/v1/recordings/dataset.zip", "export"),
        ("post", "/api/v1/exports", "export"),
        ("get", "/api/export-data/", "export"),
        ("post", "/api/v1/uploads", "upload"),
        ("post", "/api/v1/recordings", "upload"),
    ],
)
def test_a_token_does_only_what_its_scopes_allow(
    alice: User, method: str, url: str, needs: str
) -> None:
    for scopes in ("read", "upload", "export"):
        out = io.StringIO()
        call_command(
            "token", "create", "alice", "--scopes", scopes, stdout=out, stderr=io.StringIO()
        )
        response = getattr(Client(), method)(url, **bearer(out.getvalue().strip()))
        if scopes == needs:
            assert response.status_code != 403, (scopes, url, response.content)
        else:
            assert response.status_code == 403, (scopes, url)
            assert f"may not {needs}" in response.json()["detail"]


def test_an_expired_token_is_refused_and_listed_as_expired(alice: User) -> None:
    raw = create_token("alice")
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client().get("/api/v1/me", **bearer(raw))
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    out = io.StringIO()
    call_command("token", "list", "alice", stdout=out)
    assert "expired" in out.getvalue() and "read,upload,export" in out.getvalue()


def test_a_new_token_expires_in_a_year_unless_told(alice: User) -> None:
    create_token("alice")
    call_command(
        "token", "create", "alice", "--expires-days", "0", "--scopes", "read",
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    yearly, forever = ApiToken.objects.order_by("created_at")
    assert yearly.expires_at is not None
    assert timedelta(days=364) < yearly.expires_at - timezone.now() <= timedelta(days=365)
    assert forever.expires_at is None and forever.scopes == ["read"]


def test_an_unknown_scope_is_a_clear_error(alice: User) -> None:
    with pytest.raises(CommandError, match="Unknown scope delete"):
        call_command("token", "create", "alice", "--scopes", "read,delete", stderr=io.StringIO())
