"""Security headers on every response, and `check --deploy` clean under production settings."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "url",
    ["/recordings/", "/api/v1/me", "/api/v1/nothing-here", "/api/v1/docs", "/nope/"],
)
def test_every_response_carries_the_security_headers(alice_client: Client, url: str) -> None:
    response = alice_client.get(url)
    csp = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script runs, no other origin
    assert "'unsafe-inline'" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response  # only behind TLS (see below)


def test_static_files_are_never_sniffed_into_another_type(client: Client) -> None:
    response = client.get("/static/noisebank/page.js")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"


def test_no_page_holds_an_inline_script() -> None:
    """The policy would block it; what a page needs comes from /static/."""
    offenders = []
    for template in [
        *ROOT.glob("templates/**/*.html"),
        *ROOT.glob("noisebank/*/templates/**/*.html"),
    ]:
        text = template.read_text()
        for chunk in text.split("<script")[1:]:
            head = chunk.split(">", 1)[0]
            if "src=" not in head and "application/json" not in head:
                offenders.append(str(template.relative_to(ROOT)))
        if " onclick=" in text or " onsubmit=" in text or " onchange=" in text:
            offenders.append(str(template.relative_to(ROOT)))
    assert offenders == []


def production_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOISEBANK_", "DATABASE"))}
    return env | {
        "NOISEBANK_DATA_DIR": str(tmp_path),
        "NOISEBANK_SECRET_KEY": secrets.token_urlsafe(50),
        "NOISEBANK_SECURE_COOKIES": "1",
        "NOISEBANK_ALLOWED_HOSTS": "noisebank.example.org",
    }


def test_check_deploy_is_clean_under_production_settings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=production_env(tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_behind_tls_browsers_are_told_to_stay_on_https(tmp_path: Path) -> None:
    code = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client(HTTP_HOST='noisebank.example.org').get('/healthz', secure=True); "
        "print(r['Strict-Transport-Security']); "
        "print(Client(HTTP_HOST='noisebank.example.org').get('/recordings/').status_code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**production_env(tmp_path), "DJANGO_SETTINGS_MODULE": "noisebank.settings"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    hsts, plain_http = result.stdout.splitlines()[-2:]
    assert hsts == "max-age=31536000; includeSubDomains"
    assert plain_http == "301"  # plain HTTP is sent to HTTPS
