"""The API docs page loads Swagger UI from the app's own static files (no CDN)."""

import re

from django.test import Client


def test_the_docs_page_names_only_the_apps_own_scripts_and_styles(alice_client: Client) -> None:
    response = alice_client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/ninja/swagger-ui-bundle.js" in assets
    assert "/static/ninja/swagger-ui.css" in assets
    assert [a for a in assets if "//" in a] == []


def test_swagger_ui_is_served_by_the_app(client: Client) -> None:
    response = client.get("/static/ninja/swagger-ui-bundle.js")
    assert response.status_code == 200
    assert b"SwaggerUIBundle" in b"".join(response.streaming_content)  # type: ignore[attr-defined]
