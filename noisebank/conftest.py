from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from noisebank.accounts.roles import Role
from noisebank.testing import make_user


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    """Tests create many users; the production hasher spends ~0.3 s on each on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db: None) -> User:
    """A researcher: owns things in tests."""
    return make_user("alice", Role.RESEARCHER)


@pytest.fixture
def bob(db: None) -> User:
    """Alice's colleague with the same role."""
    return make_user("bob", Role.RESEARCHER)


@pytest.fixture
def charlie(db: None) -> User:
    """An outsider to alice's work: a collector."""
    return make_user("charlie", Role.COLLECTOR)


@pytest.fixture
def rita(db: None) -> User:
    """A reviewer: accepts or rejects what collectors upload."""
    return make_user("rita", Role.REVIEWER)


@pytest.fixture
def rita_client(rita: User) -> Client:
    return login(rita)


@pytest.fixture
def admin(db: None) -> User:
    return make_user("root", Role.ADMIN)


@pytest.fixture
def nobody(db: None) -> User:
    """A logged-in account with no role at all."""
    return make_user("nobody", None)


def login(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def alice_client(alice: User) -> Client:
    return login(alice)


@pytest.fixture
def charlie_client(charlie: User) -> Client:
    return login(charlie)


@pytest.fixture(autouse=True)
def isolated_files(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Media, uploads and upload temp files of each test in a folder of their own (not the
    test's tmp_path, which stays the test's to fill and inspect)."""
    root = tmp_path_factory.mktemp("files")
    settings.MEDIA_ROOT = root / "media"
    settings.UPLOAD_ROOT = root / "uploads"
    settings.FILE_UPLOAD_TEMP_DIR = str(root / "uploads" / "tmp")
    Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True)
    return root


@pytest.fixture
def admin_client(admin: User) -> Client:
    return login(admin)


@pytest.fixture
def bob_client(bob: User) -> Client:
    return login(bob)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say which tests did not run and why, grouped, so a green run on a machine without
    Chromium, nginx or PostgreSQL is not mistaken for the whole suite (README: Tests)."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons:
        return
    terminalreporter.section("tests not run here, and why")
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{count:5d}  {reason}")
