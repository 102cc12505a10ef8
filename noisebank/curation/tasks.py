"""Background tasks of curation, run by `noisebank worker`."""

from typing import Any

from django_tasks import task

from noisebank.curation import bulk
from noisebank.ops.worker import on_release


@task()
def run_bulk_change(bulk_id: str) -> str:
    """A bulk change too large to run in the request (bulk.INLINE_MAX recordings or more)."""
    return bulk.bulk_run(bulk_id)


@on_release(run_bulk_change.module_path)
def _release_bulk_change(args: list[Any], kwargs: dict[str, Any], lost: bool) -> None:
    bulk.bulk_release(*args, **kwargs)
