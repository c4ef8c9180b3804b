from django.contrib import admin

from zhangzhi.org.admin import JurisdictionAdmin

from .models import Alert, Quarantine, Station, Threshold


class ThresholdInline(admin.TabularInline):
    model = Threshold
    extra = 0


@admin.register(Station)
class StationAdmin(JurisdictionAdmin):
    list_display = ("name", "kind", "level", "mn", "feature", "region", "target_class", "active")
    list_filter = ("kind", "level", "water_body", "active")
    search_fields = ("name", "code", "mn")
    raw_id_fields = ("feature", "region")
    inlines = [ThresholdInline]


@admin.register(Quarantine)
class QuarantineAdmin(JurisdictionAdmin):
    """Read-only: frames are replayed through the API or ``zhangzhi hj212 replay``, never edited."""

    list_display = ("received_at", "reason", "mn", "peer", "status")
    list_filter = ("reason", "status")
    search_fields = ("mn",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(JurisdictionAdmin):
    list_display = ("station", "parameter", "opened_at", "closed_at", "count", "value", "limit", "case_id")
    list_filter = ("parameter",)
