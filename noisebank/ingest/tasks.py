"""Background tasks of the ingest app, run by `noisebank worker` (django-tasks-db)."""

from typing import Any

from django_tasks import task

from noisebank.ingest import services
from noisebank.ingest.calibrations import calibration_apply
from noisebank.ops.worker import on_release


@task()
def process_recording(recording_id: int) -> str:
    """Measure one recording. Queued by the services once their transaction has committed."""
    # Cheap (an indexed status filter): any worker that gets work also rescues orphaned rows.
    services.recordings_sweep_stale()
    return services.recording_process(recording_id)


@on_release(process_recording.module_path)
def _release_recording(args: list[Any], kwargs: dict[str, Any], lost: bool) -> None:
    services.recording_release(*args, **kwargs, lost=lost)


@task()
def apply_calibration(calibration_id: int) -> str:
    """Measure again the recordings a new device calibration covers."""
    return calibration_apply(calibration_id)
