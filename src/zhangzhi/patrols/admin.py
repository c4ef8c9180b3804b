from django.contrib import admin

from zhangzhi.org.admin import JurisdictionAdmin

from .models import FrequencyRule, Patrol, RuleSet


@admin.register(RuleSet)
class RuleSetAdmin(JurisdictionAdmin):
    """An office tightens or loosens the rules of its region; system-wide rows (no region) are the
    system administrator's (superuser)."""

    list_display = ("system", "region", "level", "min_duration_s", "min_length_m", "buffer_m", "min_coverage")
    list_filter = ("system", "level")


@admin.register(FrequencyRule)
class FrequencyRuleAdmin(JurisdictionAdmin):
    list_display = ("system", "region", "level", "period", "required", "role_kinds")


@admin.register(Patrol)
class PatrolAdmin(JurisdictionAdmin):
    """Read-only: a patrol is what the phone recorded and the engine judged."""

    list_display = ("started_at", "person", "feature", "level", "effective", "coverage", "length_m")
    list_filter = ("effective", "level", "source")
    raw_id_fields = ("person", "feature", "region", "uploaded_by")
    exclude = ("track", "signature")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
