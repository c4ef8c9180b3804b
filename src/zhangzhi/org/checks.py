"""A production deployment refuses to start while the demo's accounts exist."""

from django.conf import settings
from django.core.checks import Error, Tags, register

DEMO_USERNAMES = ("city-office", "county-office", "township-chief", "village-chief", "other-county-chief",
                  "member-unit", "volunteer", "sys-admin", "sec-admin", "audit-admin")


@register(deploy=False)
def no_demo_users_in_production(app_configs, **kwargs):
    if not settings.PRODUCTION:
        return []
    from django.contrib.auth import get_user_model
    from django.db import DatabaseError

    try:
        found = list(get_user_model().objects.filter(username__in=DEMO_USERNAMES)
                     .values_list("username", flat=True))
    except DatabaseError:  # not migrated yet: nothing to refuse
        return []
    if found:
        return [Error(f"demo accounts exist in a production database: {', '.join(sorted(found))}",
                      hint="delete them (or load the demo only into a non-production database)",
                      id="zhangzhi.E001")]
    return []


@register(Tags.database)
def audit_log_is_guarded(app_configs, databases=None, **kwargs):
    """The append-only triggers exist (a table rebuild by a later migration on SQLite drops them)."""
    from django.db import DatabaseError, connections

    from . import audit

    errors = []
    for alias in databases or []:
        connection = connections[alias]
        expected = audit.GUARD_TRIGGERS.get(connection.vendor)
        if expected is None:
            continue
        try:
            if audit.TABLE not in connection.introspection.table_names() or not _guard_migrated(connection):
                continue  # before `migrate` has installed the guard (an upgrade in progress): nothing to hold
            missing = expected - audit.installed_guard(connection)
        except DatabaseError:
            continue
        if missing:
            errors.append(Error(f"the audit log of database {alias!r} is not append-only: trigger(s) "
                                f"{', '.join(sorted(missing))} missing",
                                hint="run `zhangzhi migrate`; a migration that rebuilt org_changelog must "
                                     "call zhangzhi.org.audit.install_guard again", id="zhangzhi.E002"))
    return errors


def _guard_migrated(connection) -> bool:
    from django.db.migrations.recorder import MigrationRecorder

    return MigrationRecorder(connection).migration_qs.filter(app="org", name="0004_audit_log").exists()


@register()
def region_owned_models_declare_their_jurisdiction(app_configs, **kwargs):
    """Every model that points at a region, or at a region-owned model, is itself region-owned:
    its manager is a RestrictedQuerySet and it declares a Jurisdiction. A new app copying the
    skeleton cannot forget it; a model that is deliberately outside says why in
    `jurisdiction_exempt`."""
    from django.apps import apps

    return unscoped_models(apps.get_models())


def unscoped_models(all_models) -> list:
    from django.db import models

    from .jurisdiction import Jurisdiction, RestrictedQuerySet
    from .models import Region

    def restricted(model) -> bool:
        return issubclass(getattr(model._default_manager, "_queryset_class", object), RestrictedQuerySet)

    errors = []
    for model in all_models:
        if not model.__module__.startswith("zhangzhi.") or getattr(model, "jurisdiction_exempt", ""):
            continue
        owners = [f for f in model._meta.get_fields()
                  if isinstance(f, models.ForeignKey) and (f.related_model is Region or restricted(f.related_model))
                  and f.related_model is not model]
        if restricted(model):
            if not isinstance(getattr(model, "jurisdiction", None), Jurisdiction):
                errors.append(Error(f"{model._meta.label} is restricted but declares no jurisdiction",
                                    hint="add jurisdiction = Jurisdiction(...)", obj=model, id="zhangzhi.E020"))
        elif owners:
            errors.append(Error(
                f"{model._meta.label} points at {owners[0].related_model.__name__} ({owners[0].name}) but reads "
                "and writes are not scoped by jurisdiction",
                hint="objects = RestrictedQuerySet.as_manager() and jurisdiction = Jurisdiction(...) "
                     "(see zhangzhi.org.jurisdiction), or jurisdiction_exempt = 'why'",
                obj=model, id="zhangzhi.E021"))
    return errors
