from django.contrib import admin

from zhangzhi.org import scope

from .models import ChangeLog, Person, Post, Region, Role, System, Unit


class JurisdictionAdmin(admin.ModelAdmin):
    """Admin lists and edits limited to the user's jurisdiction, as in the API."""

    region_path_field = "region__path"

    def get_queryset(self, request):
        from .models import paths_q

        qs = super().get_queryset(request)
        paths = scope.read_paths(request.user)
        return qs if paths is None else qs.filter(paths_q(paths, self.region_path_field)).distinct()

    def _region_of(self, obj):
        return getattr(obj, "region", None)

    def has_change_permission(self, request, obj=None):
        ok = super().has_change_permission(request, obj)
        return ok and (obj is None or scope.can_write(request.user, self._region_of(obj)))

    def has_delete_permission(self, request, obj=None):
        return False  # records are ended, not deleted


@admin.register(Region)
class RegionAdmin(JurisdictionAdmin):
    list_display = ("name", "code", "level", "parent", "illustrative")
    list_filter = ("level", "illustrative")
    search_fields = ("name", "code")
    readonly_fields = ("path",)
    exclude = ("boundary",)
    raw_id_fields = ("parent",)
    region_path_field = "path"

    def _region_of(self, obj):
        return obj


@admin.register(Unit)
class UnitAdmin(JurisdictionAdmin):
    list_display = ("name", "kind", "region", "phone")
    list_filter = ("kind",)
    search_fields = ("name",)
    raw_id_fields = ("region",)


@admin.register(Person)
class PersonAdmin(JurisdictionAdmin):
    list_display = ("name", "title", "phone", "user")
    search_fields = ("name", "phone")
    raw_id_fields = ("user",)
    filter_horizontal = ("units",)
    region_path_field = "units__region__path"

    def _region_of(self, obj):
        unit = obj.units.first()
        return unit.region if unit else None


@admin.register(Post)
class PostAdmin(JurisdictionAdmin):
    list_display = ("person", "role", "level", "feature", "region", "valid_from", "valid_to")
    list_filter = ("role", "level")
    search_fields = ("person__name", "feature__name", "region__name")
    raw_id_fields = ("person", "feature", "region")


@admin.register(System)
class SystemAdmin(admin.ModelAdmin):
    list_display = ("code", "name")


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "system", "on_region", "order")


@admin.register(ChangeLog)
class ChangeLogAdmin(admin.ModelAdmin):
    list_display = ("at", "actor", "action", "model", "object_id")
    list_filter = ("action", "model")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
