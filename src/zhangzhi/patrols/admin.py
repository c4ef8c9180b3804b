from django.contrib import admin

from .models import FrequencyRule, Patrol, RuleSet


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    list_display = ("system", "region", "level", "min_duration_s", "min_length_m", "buffer_m", "min_coverage")
    list_filter = ("system", "level")


@admin.register(FrequencyRule)
class FrequencyRuleAdmin(admin.ModelAdmin):
    list_display = ("system", "region", "level", "period", "required", "role_kinds")


@admin.register(Patrol)
class PatrolAdmin(admin.ModelAdmin):
    list_display = ("started_at", "person", "feature", "level", "effective", "coverage", "length_m")
    list_filter = ("effective", "level", "source")
    raw_id_fields = ("person", "feature", "region", "uploaded_by")
    exclude = ("track", "signature")
