from django.test import Client


def test_healthz_says_the_database_answers(client: Client, db: None) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert response["Cache-Control"].startswith("max-age=0")
