import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("NOISEBANK_", "DATABASE"))}
    full_env |= {"NOISEBANK_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("key", ["change-me", "short"])
def test_refuses_to_start_with_a_placeholder_secret_and_debug_off(tmp_path: Path, key: str) -> None:
    result = check(tmp_path, NOISEBANK_SECRET_KEY=key)
    assert result.returncode != 0
    assert "NOISEBANK_SECRET_KEY is a placeholder" in result.stderr


def test_placeholder_secret_is_allowed_in_debug(tmp_path: Path) -> None:
    assert check(tmp_path, NOISEBANK_SECRET_KEY="change-me", NOISEBANK_DEBUG="1").returncode == 0


def test_without_a_key_one_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    assert check(tmp_path).returncode == 0
    key_file = tmp_path / "secret_key"
    first = key_file.read_text()
    assert len(first) >= 50 and (key_file.stat().st_mode & 0o077) == 0
    assert check(tmp_path).returncode == 0 and key_file.read_text() == first


def test_sqlite_runs_in_wal_mode(db: None) -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = cursor.fetchone()[0]
    # The test database lives in memory, where WAL does not apply; a file database reports wal.
    assert mode in {"wal", "memory"}


def test_an_unknown_signup_mode_is_refused_at_start(tmp_path: Path) -> None:
    result = check(tmp_path, NOISEBANK_SIGNUP="sometimes")
    assert result.returncode != 0
    assert "NOISEBANK_SIGNUP='sometimes': use open, invite or closed." in result.stderr


def test_an_smtp_host_sends_mail_by_smtp_and_its_port_chooses_tls(tmp_path: Path) -> None:
    def shown(**env: str) -> str:
        script = (
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'noisebank.settings';"
            "django.setup(); from django.conf import settings as s;"
            "print(s.EMAIL_BACKEND, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_USE_SSL)"
        )
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("NOISEBANK_")}
        full_env |= {"NOISEBANK_DATA_DIR": str(tmp_path), **env}
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=full_env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert shown() == "django.core.mail.backends.console.EmailBackend 587 True False"
    assert shown(NOISEBANK_EMAIL_HOST="smtp.example.org", NOISEBANK_EMAIL_PORT="465") == (
        "django.core.mail.backends.smtp.EmailBackend 465 False True"
    )
