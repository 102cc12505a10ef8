import pytest
from django.contrib.auth.models import User
from django.test import Client

from noisebank.testing import PASSWORD


def test_catalogue_redirects_anonymous_visitor_to_login(client: Client, db: None) -> None:
    response = client.get("/recordings/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/recordings/"


def test_admin_redirects_anonymous_visitor_to_login(client: Client, db: None) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_api_answers_anonymous_client_with_401_json(client: Client, db: None) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]


def test_login_page_is_public(client: Client, db: None) -> None:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content


def test_researcher_logs_in_and_lands_on_their_home_page(client: Client, alice: User) -> None:
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"  # views.home: the dashboard, for a researcher
    assert client.get("/recordings/").status_code == 200


def test_wrong_password_is_refused_with_a_message(client: Client, alice: User) -> None:
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"do not match" in response.content
    assert client.get("/recordings/").status_code == 302


def test_logout_ends_the_session(client: Client, alice: User) -> None:
    client.force_login(alice)
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/recordings/").status_code == 302


@pytest.mark.parametrize("path", ["/healthz", "/accounts/login/"])
def test_public_pages(client: Client, db: None, path: str) -> None:
    assert client.get(path).status_code == 200
