"""三员分立: no ordinary account is two of the system, security and audit administrators.

The roles are Groups made by reference data (`reference.ADMIN_ROLES`). The rule is enforced where
a role is given (`actions.assign_admin_role`), in the admin's user form, on every change of an
account's groups from any code path (the m2m guard below), and reported by a system check should a
database already break it (rows written before the rule, or by raw SQL). A superuser holds every
permission anyway and is not bound by it.
"""

from __future__ import annotations

from django.core import checks
from django.db import DatabaseError

from zhangzhi.lib.errors import Conflict

from . import reference


class SeparationOfDuties(Conflict):
    """Giving this role would make one account two of the three administrators."""

    code = "separation_of_duties"


def roles_by_group_name() -> dict[str, str]:
    return {name: code for code, name in reference.admin_role_names().items()}


def admin_roles_of(user) -> set[str]:
    """The administrator roles (codes) an account holds through its groups."""
    if user is None or user.pk is None:
        return set()
    by_name = roles_by_group_name()
    return {by_name[n] for n in user.groups.filter(name__in=by_name).values_list("name", flat=True)}


def role_label(code: str) -> str:
    return reference.admin_role_names().get(code, code)


def check(roles: set[str], *, is_superuser: bool, username: str = "") -> None:
    if len(roles) > 1 and not is_superuser:
        names = "、".join(role_label(r) for r in sorted(roles))
        raise SeparationOfDuties(
            f"{username or 'this account'} cannot be {names} at once: one account holds at most one of "
            "the system, security and audit administrator roles (三员分立)", {"groups": "separation of duties"})


def violations() -> list[tuple[str, set[str]]]:
    """Ordinary accounts that hold two or more of the roles."""
    from django.contrib.auth import get_user_model

    by_name = roles_by_group_name()
    held: dict[str, set[str]] = {}
    rows = (get_user_model().groups.through.objects.filter(group__name__in=by_name, user__is_superuser=False)
            .values_list("user__username", "group__name"))
    for username, group in rows:
        held.setdefault(username, set()).add(by_name[group])
    return sorted((u, r) for u, r in held.items() if len(r) > 1)


@checks.register(checks.Tags.security)
def separation_of_duties(app_configs, **kwargs):
    try:
        found = violations()
    except DatabaseError:  # not migrated yet: nothing to report
        return []
    return [checks.Error(f"account {u!r} holds {', '.join(role_label(r) for r in sorted(roles))} at once",
                         hint="三员分立: remove all but one of these groups (the security administrator does it "
                              "in the admin, or `assign_admin_role`)", id="zhangzhi.E010")
            for u, roles in found]


def _guard_groups(sender, instance, action, reverse, model, pk_set, **kwargs):
    """m2m_changed on User.groups: refuse an addition that would break the rule, whoever makes it."""
    if action != "pre_add" or not pk_set:
        return
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    by_name = roles_by_group_name()
    if not reverse:  # user.groups.add(groups)
        adding = {by_name[n] for n in Group.objects.filter(pk__in=pk_set, name__in=by_name)
                  .values_list("name", flat=True)}
        if adding:
            check(admin_roles_of(instance) | adding, is_superuser=instance.is_superuser,
                  username=instance.get_username())
        return
    role = by_name.get(instance.name)  # group.user_set.add(users)
    if role is None:
        return
    for user in get_user_model().objects.filter(pk__in=pk_set, is_superuser=False):
        check(admin_roles_of(user) | {role}, is_superuser=False, username=user.get_username())


def _ensure_roles_after_migrate(sender, app_config=None, **kwargs):
    """The groups and their permissions, once every app's permissions exist (the last app's post_migrate)."""
    from django.apps import apps

    last = [c for c in apps.get_app_configs() if c.models_module is not None][-1]  # as emit_post_migrate_signal
    if getattr(sender, "label", None) != last.label:
        return
    reference.ensure_admin_roles()


def connect() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import m2m_changed, post_migrate

    m2m_changed.connect(_guard_groups, sender=get_user_model().groups.through, weak=False,
                        dispatch_uid="zz_separation_of_duties")
    post_migrate.connect(_ensure_roles_after_migrate, weak=False, dispatch_uid="zz_admin_roles")
