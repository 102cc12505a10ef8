from django.urls import path

from noisebank.catalog import views

urlpatterns = [
    path("recordings/", views.recording_list, name="recording-list"),
]
