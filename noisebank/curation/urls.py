from django.urls import path

from noisebank.curation import bulk_views, views

urlpatterns = [
    path("review/", views.review_queue, name="review-queue"),
    path("review/decide/", views.review_decide, name="review-decide"),
    # Before the ingest app's recordings/<noise_id>/: "mine" and "bulk" are no noise ids.
    path("recordings/mine/", views.my_recordings, name="my-recordings"),
    path("recordings/bulk/", bulk_views.bulk_form, name="bulk-form"),
    path("recordings/bulk/preview/", bulk_views.bulk_preview, name="bulk-preview"),
    path("recordings/bulk/apply/", bulk_views.bulk_apply, name="bulk-apply"),
    path("recordings/bulk/<uuid:bulk_id>/", bulk_views.bulk_status, name="bulk-status"),
]
