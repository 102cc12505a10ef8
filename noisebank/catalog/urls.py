from django.urls import path

from noisebank.catalog import dashboard, sitemap, summary, views

urlpatterns = [
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("recordings/", views.recording_list, name="recording-list"),
    path("map/", sitemap.site_map, name="site-map"),
    path("recordings/summary/", summary.recording_summary, name="recording-summary"),
    # The original system's list page: old bookmarks land on ours, their filters translated.
    path("datasetlist/", views.datasetlist_redirect, name="datasetlist-redirect"),
]
