"""The security administrator's admin: accounts, their groups (三员分立 checked), lock-outs and tokens.

- Users: who holds which administrator role, who has a second factor; actions to unlock, to revoke
  all API tokens, and to make an account one of the three administrators (`actions.assign_admin_role`).
  A non-superuser cannot make anyone a superuser, cannot grant single permissions (rights go through
  groups, where the rule is checked), cannot change their own groups, and does not see superusers.
- Groups: the three administrators' groups are kept by reference data: only a superuser edits them.
- API tokens: listed, revoked (never shown: only digests are stored).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from zhangzhi.lib.errors import ZhangzhiError

from . import accounts, actions, duties, reference
from .models import ApiToken

User = get_user_model()


class AccountForm(UserChangeForm):
    def clean(self):
        data = super().clean()
        groups = data.get("groups")
        if groups is not None:
            by_name = duties.roles_by_group_name()
            roles = {by_name[g.name] for g in groups if g.name in by_name}
            is_superuser = data.get("is_superuser", self.instance.is_superuser)
            try:
                duties.check(roles, is_superuser=is_superuser, username=self.instance.get_username())
            except duties.SeparationOfDuties as e:
                raise ValidationError({"groups": e.message}) from None
        return data


class LockedFilter(admin.SimpleListFilter):
    title = _("locked out")
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return (("yes", _("Yes")),)

    def queryset(self, request, queryset):
        if self.value() == "yes":
            from axes.models import AccessAttempt

            names = AccessAttempt.objects.values_list("username", flat=True).distinct()
            return queryset.filter(username__in=accounts.locked_usernames(names))
        return queryset


def _role_action(role: str):
    def action(modeladmin, request, queryset):
        for user in queryset:
            try:
                actions.assign_admin_role(request.user, user, role)
            except ZhangzhiError as e:
                modeladmin.message_user(request, e.message, messages.ERROR)
            else:
                modeladmin.message_user(request, _("%(user)s: %(role)s") % {
                    "user": user.get_username(), "role": duties.role_label(role)})

    action.__name__ = f"make_{role}_admin"
    action.short_description = _("设为%(role)s") % {"role": reference.admin_role_names()[role]}
    action.allowed_permissions = ("change",)
    return action


class AccountAdmin(UserAdmin):
    form = AccountForm
    list_display = ("username", "person_name", "admin_roles", "is_staff", "is_active", "second_factor", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups", LockedFilter)
    actions = ["unlock", "revoke_tokens", *[_role_action(r) for r in reference.ADMIN_ROLES]]

    def get_queryset(self, request):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        qs = super().get_queryset(request).select_related("person").prefetch_related("groups").annotate(
            has_device=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))
        return qs if request.user.is_superuser else qs.filter(is_superuser=False)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["is_superuser", "user_permissions"]
            if obj is not None and obj.pk == request.user.pk:
                fields += ["groups", "is_staff", "is_active"]
        return fields

    @admin.display(description=_("person"))
    def person_name(self, obj):
        person = getattr(obj, "person", None)
        return person.name if person else ""

    @admin.display(description=_("administrator role"))
    def admin_roles(self, obj):
        names = set(reference.admin_role_names().values())
        return "、".join(g.name for g in obj.groups.all() if g.name in names)

    @admin.display(description=_("two-step verification"), boolean=True)
    def second_factor(self, obj):
        return getattr(obj, "has_device", False)

    def has_unlock_permission(self, request):
        return accounts.manages_all_accounts(request.user, "axes.delete_accessattempt")

    def has_revoke_permission(self, request):
        return accounts.manages_all_accounts(request.user, "org.delete_apitoken")

    @admin.action(description=_("解除登录锁定"), permissions=["unlock"])
    def unlock(self, request, queryset):
        removed = sum(actions.unlock_account(request.user, u.get_username()) for u in queryset)
        self.message_user(request, _("已解除锁定（清除 %(n)d 条失败记录）。") % {"n": removed})

    @admin.action(description=_("吊销全部 API 令牌"), permissions=["revoke"])
    def revoke_tokens(self, request, queryset):
        n = sum(actions.revoke_tokens_of(request.user, u) for u in queryset)
        self.message_user(request, _("已吊销 %(n)d 个令牌。") % {"n": n})


class RoleAwareGroupAdmin(GroupAdmin):
    """The three administrators' groups are reference data: their permissions are fixed in code."""

    def _is_role(self, obj) -> bool:
        return obj is not None and obj.name in reference.admin_role_names().values()

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (request.user.is_superuser or not self._is_role(obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not self._is_role(obj)


class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "created", "expires", "last_used", "revoked", "revoked_by")
    list_filter = ("revoked", "expires")
    search_fields = ("user__username", "name")
    readonly_fields = ("user", "name", "created", "expires", "last_used", "revoked", "revoked_by")
    exclude = ("digest",)
    actions = ["revoke"]

    def get_queryset(self, request):
        return ApiToken.objects.managed_by(request.user).select_related("user", "revoked_by")

    def has_add_permission(self, request):
        return False  # tokens are issued by POST /api/v1/auth/token, to their owner only

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, then pruned by `zhangzhi prune_tokens`

    @admin.action(description=_("吊销所选令牌"), permissions=["change"])
    def revoke(self, request, queryset):
        for token in queryset:
            actions.revoke_token(request.user, token)
        self.message_user(request, _("已吊销 %(n)d 个令牌。") % {"n": queryset.count()})


for model in (User, Group):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
admin.site.register(User, AccountAdmin)
admin.site.register(Group, RoleAwareGroupAdmin)
admin.site.register(ApiToken, ApiTokenAdmin)
