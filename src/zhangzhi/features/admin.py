from django.contrib import admin

from zhangzhi.org.admin import ActionFormMixin, JurisdictionAdmin, ReferenceDataAdmin

from . import actions
from .models import Feature, FeatureKind


@admin.register(FeatureKind)
class FeatureKindAdmin(ReferenceDataAdmin):
    list_display = ("code", "name", "system", "geometry", "is_part", "order")


@admin.register(Feature)
class FeatureAdmin(ActionFormMixin, JurisdictionAdmin):
    """Features are created and changed through the same actions (checks, measures, log) as the API."""

    list_display = ("name", "kind", "level", "code", "region", "parent", "length_m")
    list_filter = ("kind", "level", "illustrative")
    search_fields = ("name", "code")
    raw_id_fields = ("parent", "region")
    readonly_fields = ("min_lon", "min_lat", "max_lon", "max_lat", "length_m", "area_m2")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        # the place in the tree and the kind are fixed once created; a new feature is made instead
        return (*self.readonly_fields, "kind", "level", "region", "parent", "code", "illustrative")

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        if not change:
            new = self._run(request, lambda: actions.create_feature(
                request.user, name=d["name"], kind=d["kind"].code, level=d["level"], geometry=d["geometry"],
                region=d["region"], parent=d.get("parent"), code=d.get("code") or None,
                start_name=d.get("start_name", ""), end_name=d.get("end_name", ""),
                description=d.get("description", ""), illustrative=d.get("illustrative", False)))
            obj.pk = new.pk
        else:
            fresh = Feature.objects.editable_by(request.user).get(pk=obj.pk)
            fields = {k: d[k] for k in form.changed_data if k in ("name", "start_name", "end_name", "description",
                                                                  "geometry")}
            self._run(request, lambda: actions.update_feature(request.user, fresh, **fields))
