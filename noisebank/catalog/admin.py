from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from noisebank.catalog import models as m
from noisebank.ingest.admin import reprocess_selected


class TaxonAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name", "description"]


class SoundClassInline(admin.TabularInline):
    model = m.SoundClass
    extra = 0
    show_change_link = True


class SubclassInline(admin.TabularInline):
    model = m.Subclass
    extra = 0


class CommunityInline(admin.TabularInline):
    model = m.Community
    extra = 0


@admin.register(m.Category)
class CategoryAdmin(TaxonAdmin):
    inlines = [SoundClassInline]


@admin.register(m.SoundClass)
class SoundClassAdmin(TaxonAdmin):
    list_display = ["name", "category", "description"]
    list_filter = ["category"]
    list_select_related = ["category"]
    inlines = [SubclassInline]


@admin.register(m.Subclass)
class SubclassAdmin(TaxonAdmin):
    list_display = ["name", "sound_class", "description"]
    list_filter = ["sound_class__category"]
    list_select_related = ["sound_class"]


@admin.register(m.Region)
class RegionAdmin(TaxonAdmin):
    list_display = ["name", "time_zone", "description"]
    inlines = [CommunityInline]


@admin.register(m.Community)
class CommunityAdmin(TaxonAdmin):
    list_display = ["name", "region", "description"]
    list_filter = ["region"]
    list_select_related = ["region"]


admin.site.register(m.MicrophoneType, TaxonAdmin)
admin.site.register(m.TimeOfDay, TaxonAdmin)
admin.site.register(m.DatasetType, TaxonAdmin)


class CalibrationInline(admin.TabularInline):
    """Made on the calibration page (/calibrations/) or by `noisebank calibrate`: read-only."""

    model = m.Calibration
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "valid_from", "nominal_db", "measured_dbfs", "offset_db", "frequency_hz", "file",
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(m.Device)
class DeviceAdmin(TaxonAdmin):
    list_display = ["name", "microphone_type", "calibration_offset_db"]
    list_select_related = ["microphone_type"]
    inlines = [CalibrationInline]


class AudioFeaturesInline(admin.StackedInline):
    model = m.AudioFeatures
    extra = 0
    can_delete = False


class NoiseAnalysisInline(admin.StackedInline):
    model = m.NoiseAnalysis
    extra = 0
    can_delete = False
    exclude = ["level_series"]


@admin.register(m.Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = [
        "noise_id",
        "name",
        "category",
        "sound_class",
        "region",
        "recorded_at",
        "collector",
        "status",
    ]
    list_filter = ["status", "category", "region", "dataset_type", "time_of_day"]
    list_select_related = ["category", "sound_class", "region", "collector"]
    search_fields = ["noise_id", "name", "original_filename", "sha256"]
    date_hierarchy = "recorded_at"
    raw_id_fields = ["collector"]
    autocomplete_fields = ["category", "sound_class", "subclass", "region", "community"]
    readonly_fields = ["noise_id", "sha256", "size_bytes", "created_at", "updated_at"]
    inlines = [AudioFeaturesInline, NoiseAnalysisInline]
    show_full_result_count = False
    actions = [reprocess_selected]

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Levels or features edited in the inlines: the copies the catalogue filters on follow.
        m.Recording.objects.filter(pk=form.instance.pk).copy_measurements()
