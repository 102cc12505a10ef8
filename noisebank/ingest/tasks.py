"""Background tasks of the ingest app, run by `noisebank worker` (django-tasks-db)."""

from django_tasks import task

from noisebank.ingest import services
from noisebank.ingest.calibrations import calibration_apply


@task()
def process_recording(recording_id: int) -> str:
    """Measure one recording. Queued by the services once their transaction has committed."""
    # Cheap (an indexed status filter): any worker that gets work also rescues orphaned rows.
    services.recordings_sweep_stale()
    return services.recording_process(recording_id)


@task()
def apply_calibration(calibration_id: int) -> str:
    """Measure again the recordings a new device calibration covers."""
    return calibration_apply(calibration_id)
