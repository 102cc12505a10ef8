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
def isolated_files(settings: Any, tmp_path: Path) -> Path:
    """Media, uploads and upload temp files of each test in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.UPLOAD_ROOT = tmp_path / "uploads"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads" / "tmp")
    Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True)
    return tmp_path


@pytest.fixture
def admin_client(admin: User) -> Client:
    return login(admin)


@pytest.fixture
def bob_client(bob: User) -> Client:
    return login(bob)
