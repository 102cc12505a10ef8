"""The read replica: catalogue reads and exports go to it when DATABASE_REPLICA_URL is set.

- `read_alias()` names the database an export (or any long read) should read from: "replica" when
  one is configured, else "default". The export row source and export jobs call it.
- `ReplicaRouter` sends reads of the catalogue's models to the replica during GET and HEAD
  requests (marked by noisebank.ops.middleware.replica_reads_middleware). Everything else stays
  on the primary: writes, the handling of POST and other unsafe requests, the task queue,
  sessions, users and tokens, and whatever the worker reads before it writes.
- After an unsafe request the browser is pinned to the primary for NOISEBANK_REPLICA_PIN_SECONDS,
  so whoever just changed something sees the change on the next page even while the replica
  lags. (API clients that send no cookies are not pinned: read your own write from the primary
  by retrying, or keep the replica's lag low.)

The replica is a copy the database server maintains (streaming replication); Django never
migrates it.
"""

from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

REPLICA = "replica"
ROUTED_APPS = {"catalog"}
PIN_COOKIE = "nb_primary"

reads_may_use_replica: ContextVar[bool] = ContextVar("noisebank_replica_reads", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def read_alias() -> str:
    """Where exports read: the replica when there is one."""
    return REPLICA if replica_configured() else DEFAULT_DB_ALIAS


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if (
            model._meta.app_label in ROUTED_APPS
            and reads_may_use_replica.get()
            and replica_configured()
        ):
            return REPLICA
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str:
        # Also for an instance that was read from the replica: it is saved to the primary.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        same_data = {DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in same_data and obj2._state.db in same_data:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None
