from django.contrib import admin

from zhangzhi.org.admin import JurisdictionAdmin

from .models import Feature, FeatureKind


@admin.register(FeatureKind)
class FeatureKindAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "system", "geometry", "is_part", "order")


@admin.register(Feature)
class FeatureAdmin(JurisdictionAdmin):
    list_display = ("name", "kind", "level", "code", "region", "parent", "length_m")
    list_filter = ("kind", "level", "illustrative")
    search_fields = ("name", "code")
    raw_id_fields = ("parent", "region")
    readonly_fields = ("min_lon", "min_lat", "max_lon", "max_lat", "length_m", "area_m2")

    def save_model(self, request, obj, form, change):
        # geometry edits go through the same checks and measures as the API
        from . import geo
        from .actions import _apply_geometry

        _apply_geometry(obj, geo.parse(obj.geometry, obj.kind.geometry))
        super().save_model(request, obj, form, change)
