from django.urls import path

from noisebank.exports import job_views

urlpatterns = [
    path("exports/", job_views.export_history, name="export-history"),
    path("exports/<uuid:job_id>/rerun/", job_views.export_rerun, name="export-rerun"),
    path("exports/<uuid:job_id>/delete/", job_views.export_delete, name="export-delete"),
]
