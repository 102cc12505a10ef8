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
