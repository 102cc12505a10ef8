from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from noisebank.catalog.models import Recording
from noisebank.ingest.models import ChunkedUpload
from noisebank.ingest.services import recordings_reprocess


@admin.action(description="Re-process selected recordings (measure them again)")
def reprocess_selected(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Recording]
) -> None:
    result = recordings_reprocess(queryset.select_related(None).only("pk", "audio", "status"))
    skipped = []
    if result.without_audio:
        skipped.append(f"{result.without_audio} without audio")
    if result.busy:
        skipped.append(f"{result.busy} being measured right now")
    modeladmin.message_user(
        request,
        format_html(
            "Queued {} recording{} for measuring{}. <a href='{}'>Follow the progress</a>.",
            result.queued,
            "" if result.queued == 1 else "s",
            f" (skipped: {', '.join(skipped)})" if skipped else "",
            reverse("processing-status"),
        ),
        messages.SUCCESS if result.queued else messages.WARNING,
    )


@admin.register(ChunkedUpload)
class ChunkedUploadAdmin(admin.ModelAdmin):
    list_display = ["filename", "owner", "size", "created_at"]
    list_select_related = ["owner"]
    readonly_fields = ["id", "owner", "filename", "size", "created_at"]
