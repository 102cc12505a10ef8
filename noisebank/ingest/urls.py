from django.urls import path

from noisebank.ingest import calibration_views, views

urlpatterns = [
    path("recordings/upload/", views.upload, name="recording-upload"),
    path("recordings/upload/bulk/", views.bulk_upload, name="recording-bulk-upload"),
    path("calibrations/", calibration_views.calibrations, name="calibrations"),
    path("recordings/processing/", views.processing_status, name="processing-status"),
    path("recordings/<slug:noise_id>/", views.recording_detail, name="recording-detail"),
    path("recordings/<slug:noise_id>/audio", views.recording_audio, name="recording-audio"),
    path("recordings/<slug:noise_id>/edit/", views.recording_edit, name="recording-edit"),
    path(
        "recordings/<slug:noise_id>/delete/", views.recording_delete_view, name="recording-delete"
    ),
    path(
        "recordings/<slug:noise_id>/reprocess/",
        views.recording_reprocess,
        name="recording-reprocess",
    ),
]
