from django.contrib import admin
from django.urls import include, path

from noisebank import views
from noisebank.api.urls import api
from noisebank.exports import views as export_views
from noisebank.ops import views as ops_views

handler404 = "noisebank.views.page_not_found"

admin.site.site_header = "Noisebank administration"
admin.site.site_title = "Noisebank admin"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", ops_views.healthz, name="healthz"),
    path("metrics", ops_views.metrics_view, name="metrics"),
    path("accounts/", include("noisebank.accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # The original system's batch API, kept for its users' scripts (see README).
    path("api/export-data/", export_views.export_data_compat, name="export-data-compat"),
    path("columns/", export_views.columns_page, name="columns"),
    path("", include("noisebank.catalog.urls")),
    path("", include("noisebank.curation.urls")),
    path("", include("noisebank.ingest.urls")),
    path("", include("noisebank.exports.urls")),
]
