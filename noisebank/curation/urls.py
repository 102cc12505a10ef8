from django.urls import path

from noisebank.curation import views

urlpatterns = [
    path("review/", views.review_queue, name="review-queue"),
    path("review/decide/", views.review_decide, name="review-decide"),
    # Before the ingest app's recordings/<noise_id>/: "mine" is no noise_id.
    path("recordings/mine/", views.my_recordings, name="my-recordings"),
]
