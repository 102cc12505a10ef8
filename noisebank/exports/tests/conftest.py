from collections.abc import Iterator

import pytest

from noisebank.exports.tests.readback import open_connections, settled_connections


@pytest.fixture(autouse=True)
def no_export_left_open(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every export test ends with its snapshots closed (an open one would also block the
    database flush between transactional tests on PostgreSQL)."""
    if "transactional_db" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("transactional_db")
    before = open_connections()
    yield
    assert settled_connections(before) == before, "an export's connection was left open"
