from django.contrib import admin

from noisebank.exports.models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "format", "status", "rows_total", "bytes", "created_at"]
    list_filter = ["status", "format"]
    list_select_related = ["owner"]
    search_fields = ["id", "owner__username"]
    readonly_fields = [f.name for f in ExportJob._meta.fields]
