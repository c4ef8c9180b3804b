"""The admin, limited by jurisdiction exactly as the API is.

Every list is ``visible_to`` the user; every change is allowed only on rows ``editable_by`` them;
every foreign key offers only what the user may use (a region or unit they edit, a person or
feature they see), so the *target* of an add or change is checked, not only the row's current
region. Saves go through the same actions as the API, so they land in the same log. Reference data
(roles, systems, kinds, categories, system-wide rules) has no region: only users holding the
model's permissions (the system administrator) change it.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _

from zhangzhi.lib.errors import Forbidden, InvalidInput
from zhangzhi.org import actions, scope
from zhangzhi.org.jurisdiction import RestrictedQuerySet

from .models import ChangeLog, Person, Post, Region, Role, System, Unit


def is_restricted(model) -> bool:
    return issubclass(getattr(model._default_manager, "_queryset_class", object), RestrictedQuerySet)


class JurisdictionAdmin(admin.ModelAdmin):
    """Admin lists and edits limited to the user's jurisdiction, as in the API."""

    # foreign keys whose choices are what the user may *edit* (the row's place); other restricted
    # foreign keys offer what the user may *see*
    editable_choice_fields: tuple[str, ...] = ("region", "parent", "units")
    # empty would mean "no region", i.e. system-wide or top level: the administrator's alone
    required_when_restricted: tuple[str, ...] = ("region", "parent")

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def _editable(self, request, obj) -> bool:
        return type(obj)._default_manager.editable_by(request.user).filter(pk=obj.pk).exists()

    def has_change_permission(self, request, obj=None):
        ok = super().has_change_permission(request, obj)
        return ok and (obj is None or self._editable(request, obj))

    def has_add_permission(self, request):
        return super().has_add_permission(request) and scope.write_paths(request.user) != []

    def has_delete_permission(self, request, obj=None):
        return False  # records are ended, not deleted

    def _choices(self, db_field, request):
        model = db_field.related_model
        qs = model._default_manager.all()
        if db_field.name in self.editable_choice_fields:
            return qs.editable_by(request.user)
        return qs.visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if is_restricted(db_field.related_model):
            kwargs["queryset"] = self._choices(db_field, request)
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and db_field.name in self.required_when_restricted \
                and scope.write_paths(request.user) is not None:
            field.required = True
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if is_restricted(db_field.related_model):
            kwargs["queryset"] = self._choices(db_field, request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        """Models without an action of their own: check the target, save, log before and after."""
        before = {k: form.initial.get(k) for k in form.changed_data} if change else {}
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not self._editable(request, obj):
                raise _Refused(_("the target is outside your jurisdiction"))
            actions.log_change(request.user, "change" if change else "create", obj, before=_plain(before),
                               after=_plain({k: form.cleaned_data.get(k) for k in form.changed_data}))

    def _run(self, request, fn):
        """Run an action; a refusal rolls the whole form back and comes back as a message."""
        try:
            return fn()
        except (Forbidden, InvalidInput) as e:
            raise _Refused(e.message) from e

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _Refused as e:  # the admin's own transaction has been rolled back
            messages.error(request, str(e))
            return HttpResponseRedirect(request.get_full_path())


class _Refused(Exception):
    pass


def _plain(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if hasattr(v, "pk"):
            v = v.pk
        elif hasattr(v, "__iter__") and not isinstance(v, str | bytes | dict):
            v = [getattr(x, "pk", x) for x in v]
        elif v is not None and not isinstance(v, int | float | str | bool | list | dict):
            v = str(v)
        out[k] = v
    return out


class ActionFormMixin:
    """For models whose writes have actions: the form validates, then the action writes (and saves
    the relations), so the admin and the API share checks and log."""

    def save_related(self, request, form, formsets, change):
        pass


@admin.register(Region)
class RegionAdmin(ActionFormMixin, JurisdictionAdmin):
    list_display = ("name", "code", "level", "parent", "illustrative")
    list_filter = ("level", "illustrative")
    search_fields = ("name", "code")
    readonly_fields = ("path",)
    exclude = ("boundary",)
    raw_id_fields = ("parent",)

    def get_readonly_fields(self, request, obj=None):
        return ("path", "parent", "level") if obj is not None else ("path",)

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        if not change:
            new = self._run(request, lambda: actions.create_region(
                request.user, name=d["name"], level=d["level"], parent=d.get("parent"), code=d.get("code"),
                illustrative=d.get("illustrative", False)))
            obj.pk, obj.path = new.pk, new.path
        else:
            self._run(request, lambda: actions.update_region(
                request.user, obj, **{k: d[k] for k in form.changed_data if k in ("name", "code", "illustrative")}))


@admin.register(Unit)
class UnitAdmin(ActionFormMixin, JurisdictionAdmin):
    list_display = ("name", "kind", "region", "phone")
    list_filter = ("kind",)
    search_fields = ("name",)
    raw_id_fields = ("region",)

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        if not change:
            new = self._run(request, lambda: actions.create_unit(
                request.user, name=d["name"], kind=d["kind"], region=d["region"], phone=d.get("phone", "")))
            obj.pk = new.pk
        else:
            self._run(request, lambda: actions.update_unit(
                request.user, obj, **{k: d[k] for k in form.changed_data if k in ("name", "kind", "region", "phone")}))


@admin.register(Person)
class PersonAdmin(ActionFormMixin, JurisdictionAdmin):
    list_display = ("name", "title", "phone", "user")
    search_fields = ("name", "phone")
    filter_horizontal = ("units",)
    fields = ("name", "title", "phone", "published_phone", "units", "illustrative")

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        if not change:
            new = self._run(request, lambda: actions.create_person(
                request.user, name=d["name"], phone=d.get("phone", ""), title=d.get("title", ""),
                units=d.get("units") or (), illustrative=d.get("illustrative", False),
                published_phone=d.get("published_phone", "")))
            obj.pk = new.pk
        else:
            fields = {k: d[k] for k in form.changed_data
                      if k in ("name", "title", "phone", "published_phone", "units", "illustrative")}
            self._run(request, lambda: actions.update_person(request.user, obj, **fields))


@admin.register(Post)
class PostAdmin(ActionFormMixin, JurisdictionAdmin):
    list_display = ("person", "role", "level", "feature", "region", "valid_from", "valid_to")
    list_filter = ("role", "level")
    search_fields = ("person__name", "feature__name", "region__name")
    raw_id_fields = ("person", "feature", "region")
    editable_choice_fields = ("region", "feature")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("valid_to",)
        return ("person", "role", "level", "feature", "region", "valid_from", "duties")

    def save_model(self, request, obj, form, change):
        d = form.cleaned_data
        if not change:
            new = self._run(request, lambda: actions.appoint(
                request.user, person=d["person"], role=d["role"], level=d["level"], feature=d.get("feature"),
                region=d.get("region"), valid_from=d.get("valid_from"), duties=d.get("duties", "")))
            obj.pk = new.pk
        elif "valid_to" in form.changed_data and d.get("valid_to"):
            # the action checks the stored post, not the form's copy
            fresh = Post.objects.editable_by(request.user).get(pk=obj.pk)
            self._run(request, lambda: actions.end_post(request.user, fresh, valid_to=d["valid_to"]))


class ReferenceDataAdmin(admin.ModelAdmin):
    """Reference data: changed by the holders of the model's permissions (the system administrator)
    and never deleted (posts and features point at it)."""

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


@admin.register(System)
class SystemAdmin(ReferenceDataAdmin):
    list_display = ("code", "name")


@admin.register(Role)
class RoleAdmin(ReferenceDataAdmin):
    list_display = ("code", "name", "kind", "system", "on_region", "order")


@admin.register(ChangeLog)
class ChangeLogAdmin(admin.ModelAdmin):
    """The audit log, read-only, within the reader's jurisdiction (the page /audit/ is the main reader)."""

    list_display = ("at", "kind", "username", "ip", "via", "action", "model", "object_id", "region")
    list_filter = ("kind", "via", "model")
    search_fields = ("username", "object_id", "ip")
    list_select_related = ("region",)

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


from . import admin_accounts  # noqa: E402, F401  accounts, groups and tokens (the security administrator)
