"""Background tasks of curation, run by `noisebank worker`."""

from django_tasks import task

from noisebank.curation import bulk


@task()
def run_bulk_change(bulk_id: str) -> str:
    """A bulk change too large to run in the request (bulk.INLINE_MAX recordings or more)."""
    return bulk.bulk_run(bulk_id)
