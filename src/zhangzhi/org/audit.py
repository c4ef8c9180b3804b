"""安全审计: the audit log's writer, its request context, and the signals that feed it.

Every audit record is written by `record()` (writes reach it through `org.actions.log_change`, the
one entry point for actions). The request context (who, from which IP, through which channel) is
kept in a context variable set by `AuditContextMiddleware`, so an action called from a page, the
API or the admin records the client's address without being handed the request.

Besides the actions, the log is fed by signals, so nothing depends on a caller remembering:
logins, logouts and failed logins (Django's auth signals; the API token endpoint calls
`log_login`), permission changes (group and permission membership, is_staff / is_superuser /
is_active, passwords), and admin saves that did not go through an action (the admin's LogEntry).

The log is append-only (see `ChangeLog`); the SQL here installs the database triggers that make
it so even for raw SQL, and `prune()` is the one way rows leave it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models
from django.utils import timezone

from zhangzhi.lib.masking import mask_id_number, mask_phone

# -- request context ---------------------------------------------------------------------------


@dataclass
class AuditContext:
    request: object = None
    ip: str = ""
    via: str = ""
    # (model label, object id) already recorded by an action in this request: the admin's own
    # LogEntry for the same object is then not recorded twice
    written: set = field(default_factory=set)
    # admin requests: field values before and after a save, by (model label, object id)
    diffs: dict = field(default_factory=dict)


_context: ContextVar[AuditContext | None] = ContextVar("zhangzhi_audit_context", default=None)


def client_ip(request) -> str:
    try:  # the one client-IP rule (trusted proxies) once the platform has it
        from zhangzhi.lib.net import client_ip as trusted_client_ip
    except ImportError:
        return request.META.get("REMOTE_ADDR", "") or ""
    return trusted_client_ip(request) or ""


def channel_of(path: str) -> str:
    if path.startswith("/api/") or path.startswith("/open311/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "web"


class AuditContextMiddleware:
    """Keeps the request's client IP and channel for the audit records written while it runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _context.set(AuditContext(request=request, ip=client_ip(request), via=channel_of(request.path)))
        try:
            return self.get_response(request)
        finally:
            _context.reset(token)


@contextlib.contextmanager
def acting(*, via: str = "command", ip: str = ""):
    """The context of a management command or worker: records say where they came from."""
    token = _context.set(AuditContext(ip=ip, via=via))
    try:
        yield
    finally:
        _context.reset(token)


def current() -> AuditContext | None:
    return _context.get()


# -- values --------------------------------------------------------------------------------------


class _Encoder(DjangoJSONEncoder):
    def default(self, o):
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def jsonable(data) -> dict:
    """A JSON-safe copy (dates, decimals, lazy strings, model instances as text), with phone and ID
    numbers masked: the audit reader needs to see that a phone changed, not the number (PIPL)."""
    if not data:
        return {}
    out = json.loads(json.dumps(data, cls=_Encoder, ensure_ascii=False))
    for key, value in out.items():
        if isinstance(value, str) and "phone" in key:
            out[key] = mask_phone(value)
        elif isinstance(value, str) and "id_number" in key:
            out[key] = mask_id_number(value)
    return out


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields whose value differs, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)] + [k for k in before if k not in after]
    return {k: before.get(k) for k in keys if k in before}, {k: after.get(k) for k in keys if k in after}


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict:
    """The concrete field values of `obj` (secrets and large geometries summarised)."""
    out = {}
    for f in obj._meta.concrete_fields:
        if fields is not None and f.name not in fields:
            continue
        value = f.value_from_object(obj)
        if f.name in SECRET_FIELDS:
            value = "<hidden>" if value else ""
        elif isinstance(value, dict | list) and len(json.dumps(value, cls=_Encoder)) > 2000:
            value = "<large value>"
        out[f.name if not f.is_relation else f.attname] = value
    return jsonable(out)


SECRET_FIELDS = {"password", "digest", "secret", "totp_secret", "key"}


# -- the region an object belongs to --------------------------------------------------------------


def region_of(obj):
    """The region an object belongs to, from its model's jurisdiction declaration: the audit reader
    of that region (and of every region above it) sees the record."""
    from django.contrib.auth import get_user_model

    from .jurisdiction import Jurisdiction
    from .models import Person, Region

    if obj is None:
        return None
    if isinstance(obj, Region):
        return obj if obj.pk else None
    if isinstance(obj, get_user_model()):
        person = Person.objects.filter(user_id=obj.pk).first()
        return region_of(person)
    j = getattr(type(obj), "jurisdiction", None)
    lookups: tuple[str, ...] = ()
    if isinstance(j, Jurisdiction):
        if j.through:
            return region_of(getattr(obj, j.through, None))
        lookups = j.read
    lookups = (*lookups, "region__path")
    for lookup in lookups:
        target = obj
        for part in lookup.split("__")[:-1]:
            target = getattr(target, part, None)
            if isinstance(target, models.Manager):
                target = target.first()
            if target is None:
                break
        if isinstance(target, Region):
            return target
    return None


# -- writing ----------------------------------------------------------------------------------------


def record(kind: str, action: str, *, actor=None, obj=None, model: str = "", object_id: str = "",
           region=None, before: dict | None = None, after: dict | None = None, summary: dict | None = None,
           username: str = "", request=None):
    """Append one audit record. The actor defaults to the request's user; IP and channel come from
    the request (or the context set by the middleware / a command)."""
    from .models import ChangeLog

    ctx = current()
    if request is None and ctx is not None:
        request = ctx.request
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if getattr(user, "is_authenticated", False):
            actor = user
    if not getattr(actor, "is_authenticated", False):
        actor = None
    if obj is not None:
        model = model or obj._meta.label
        object_id = object_id or ("" if obj.pk is None else str(obj.pk))
        if region is None:
            region = region_of(obj)
    if region is None and actor is not None and kind != ChangeLog.Kind.WRITE:
        region = region_of(actor)  # logins, permissions, exports: the region the account works in
    if request is not None and ctx is not None and ctx.request is request:
        ip, via = ctx.ip, ctx.via
    elif request is not None:
        ip, via = client_ip(request), channel_of(getattr(request, "path", ""))
    else:  # no request: a management command, the worker or a listener (all run as commands)
        ip, via = (ctx.ip, ctx.via) if ctx is not None else ("", "command")
    row = ChangeLog.objects.create(
        kind=kind, action=action[:40], actor=actor,
        username=(username or (actor.get_username() if actor is not None else ""))[:150],
        ip=(ip or "")[:45], via=via, model=model[:100], object_id=object_id[:64],
        region=region, region_path=region.path if region is not None else "",
        before=jsonable(before), after=jsonable(after), summary=jsonable(summary),
    )
    if ctx is not None and kind == ChangeLog.Kind.WRITE and model:
        ctx.written.add((model, object_id))
    return row


def log_login(user, request=None, *, action: str = "login") -> None:
    from .models import ChangeLog

    record(ChangeLog.Kind.LOGIN, action, actor=user, request=request)


def log_export(user, what: str, *, fmt: str = "", rows: int | None = None, params: dict | None = None,
               personal: bool = True, region=None, request=None) -> None:
    """An export left the platform: what, in which format, with which filters, and whether it held
    personal data (names, phones, reporters)."""
    from .models import ChangeLog

    summary = {"format": fmt, "personal_data": personal}
    if rows is not None:
        summary["rows"] = rows
    if params:
        summary["filters"] = {k: v for k, v in params.items() if v not in (None, "")}
    record(ChangeLog.Kind.EXPORT, "export", actor=user, model=what, region=region, summary=summary,
           request=request)


# -- signals ------------------------------------------------------------------------------------------

USER_FLAGS = ("is_active", "is_staff", "is_superuser")


def _on_login(sender, request, user, **kwargs):
    log_login(user, request)


def _on_logout(sender, request, user, **kwargs):
    from .models import ChangeLog

    if user is not None:
        record(ChangeLog.Kind.LOGOUT, "logout", actor=user, request=request)


def _on_login_failed(sender, credentials, request=None, **kwargs):
    from django.contrib.auth import get_user_model

    from .models import ChangeLog

    User = get_user_model()
    username = str(credentials.get(User.USERNAME_FIELD, credentials.get("username", "")) or "")[:150]
    known = User.objects.filter(**{User.USERNAME_FIELD: username}).first() if username else None
    # the attempt counts against the account's region, so its audit reader sees the attack
    record(ChangeLog.Kind.LOGIN_FAILED, "login_failed", username=username, request=request,
           region=region_of(known) if known is not None else None,
           summary={"account_exists": known is not None})


def _user_pre_save(sender, instance, update_fields=None, **kwargs):
    if instance.pk is None:
        return
    tracked = {*USER_FLAGS, "password"}
    if update_fields is not None and not tracked & set(update_fields):
        return
    instance._audit_old = sender._base_manager.filter(pk=instance.pk).values(*tracked).first()


def _user_post_save(sender, instance, created, raw=False, **kwargs):
    from .models import ChangeLog

    if raw:
        return
    flags = {f: getattr(instance, f) for f in USER_FLAGS}
    if created:
        record(ChangeLog.Kind.PERMISSION, "create_user", obj=instance, after=flags)
        return
    old = getattr(instance, "_audit_old", None)
    instance._audit_old = None
    if not old:
        return
    before, after = changed({f: old[f] for f in USER_FLAGS}, flags)
    if before or after:
        record(ChangeLog.Kind.PERMISSION, "change_user_flags", obj=instance, before=before, after=after)
    if old["password"] != instance.password:
        record(ChangeLog.Kind.PERMISSION, "set_password", obj=instance)


def _m2m_names(model, pks) -> list[str]:
    if not pks:
        return []
    qs = model._default_manager.filter(pk__in=pks)
    if model._meta.label == "auth.Permission":
        return sorted(f"{a}.{c}" for a, c in qs.values_list("content_type__app_label", "codename"))
    return sorted(str(o) for o in qs)


def _membership_changed(relation: str):
    """A receiver for m2m_changed on User.groups, User.user_permissions or Group.permissions."""

    def receiver(sender, instance, action, reverse, model, pk_set, **kwargs):
        from .models import ChangeLog

        if action == "pre_clear":  # remember what a clear removes
            cleared = (getattr(instance, relation).all() if not reverse
                       else model._default_manager.filter(**{relation: instance}))
            instance._audit_cleared = list(cleared.values_list("pk", flat=True))
            return
        if action not in ("post_add", "post_remove", "post_clear"):
            return
        if action == "post_clear":
            pks, verb = getattr(instance, "_audit_cleared", []), "removed"
        else:
            pks, verb = sorted(pk_set or ()), "added" if action == "post_add" else "removed"
        if not pks:
            return
        if not reverse:
            owners = [instance]
            names = _m2m_names(model, pks)
        else:  # group.user_set.add(user): the other side changed
            owners = list(model._default_manager.filter(pk__in=pks))
            names = [str(instance) if instance._meta.label != "auth.Permission"
                     else f"{instance.content_type.app_label}.{instance.codename}"]
        for owner in owners:
            record(ChangeLog.Kind.PERMISSION, f"{relation}_{verb}", obj=owner,
                   after={f"{relation}_{verb}": names})

    return receiver


def _admin_pre_save(sender, instance, raw=False, **kwargs):
    """In an admin request, remember what a save changes, for the admin's own log entry."""
    ctx = current()
    if raw or ctx is None or ctx.via != "admin" or sender._meta.label == "org.ChangeLog":
        return
    if sender._meta.app_label in ("admin", "sessions", "contenttypes"):
        return
    old = None
    if instance.pk is not None:
        stored = sender._base_manager.filter(pk=instance.pk).first()
        old = snapshot(stored) if stored is not None else None
    instance._audit_before = old


def _admin_post_save(sender, instance, created, raw=False, **kwargs):
    ctx = current()
    if raw or ctx is None or ctx.via != "admin" or not hasattr(instance, "_audit_before"):
        return
    before = instance._audit_before or {}
    del instance._audit_before
    b, a = changed(before, snapshot(instance))
    ctx.diffs[(sender._meta.label, str(instance.pk))] = (b, a)


def _admin_logentry(sender, instance, created, raw=False, **kwargs):
    """An admin save or deletion that no action recorded: record it here, with its before/after."""
    from django.contrib.admin.models import ADDITION, DELETION

    from .models import ChangeLog

    if raw or not created:
        return
    ctx = current()
    ct = instance.content_type
    label = f"{ct.app_label}.{ct.model_class().__name__}" if ct and ct.model_class() else ""
    key = (label, str(instance.object_id))
    if ctx is not None and key in ctx.written:
        return  # the admin called an action, which recorded the change
    before, after = ctx.diffs.pop(key, ({}, {})) if ctx is not None else ({}, {})
    obj = None
    with contextlib.suppress(Exception):
        obj = instance.get_edited_object()
    verb = {ADDITION: "admin_add", DELETION: "admin_delete"}.get(instance.action_flag, "admin_change")
    record(ChangeLog.Kind.WRITE, verb, actor=instance.user, model=label, object_id=str(instance.object_id),
           region=region_of(obj), before=before, after=after,
           summary={"object": instance.object_repr, "message": instance.get_change_message()})


def _admin_post_delete(sender, instance, **kwargs):
    """Deletions in the admin: a bulk "delete selected" writes its LogEntries with bulk_create (no
    signal), so each deleted row is recorded here unless its LogEntry already was."""
    from .models import ChangeLog

    ctx = current()
    if ctx is None or ctx.via != "admin" or sender._meta.app_label in ("admin", "sessions", "contenttypes"):
        return
    key = (sender._meta.label, str(instance.pk))
    if key in ctx.written or sender._meta.label == "org.ChangeLog":
        return
    record(ChangeLog.Kind.WRITE, "admin_delete", obj=instance, before=snapshot(instance))


def connect() -> None:
    """Called once from OrgConfig.ready()."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth import get_user_model, user_logged_in, user_logged_out, user_login_failed
    from django.contrib.auth.models import Group
    from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

    User = get_user_model()
    user_logged_in.connect(_on_login, dispatch_uid="zz_audit_login")
    user_logged_out.connect(_on_logout, dispatch_uid="zz_audit_logout")
    user_login_failed.connect(_on_login_failed, dispatch_uid="zz_audit_login_failed")
    pre_save.connect(_user_pre_save, sender=User, dispatch_uid="zz_audit_user_pre")
    post_save.connect(_user_post_save, sender=User, dispatch_uid="zz_audit_user_post")
    m2m_changed.connect(_membership_changed("groups"), sender=User.groups.through, weak=False,
                        dispatch_uid="zz_audit_groups")
    m2m_changed.connect(_membership_changed("user_permissions"), sender=User.user_permissions.through,
                        weak=False, dispatch_uid="zz_audit_user_perms")
    m2m_changed.connect(_membership_changed("permissions"), sender=Group.permissions.through, weak=False,
                        dispatch_uid="zz_audit_group_perms")
    pre_save.connect(_admin_pre_save, dispatch_uid="zz_audit_admin_pre")
    post_save.connect(_admin_post_save, dispatch_uid="zz_audit_admin_post")
    post_save.connect(_admin_logentry, sender=LogEntry, dispatch_uid="zz_audit_admin_logentry")
    post_delete.connect(_admin_post_delete, dispatch_uid="zz_audit_admin_delete")


# -- reading -------------------------------------------------------------------------------------------

READ_PERMISSION = "org.view_changelog"


def can_read(user) -> bool:
    """The audit administrator (审计管理员) and the superuser read the log, within their jurisdiction."""
    return bool(user is not None and user.is_authenticated and user.has_perm(READ_PERMISSION))


def readable(user, *, who: str = "", kind: str = "", model: str = "", since: dt.date | None = None,
             until: dt.date | None = None):
    """The records `user` may read, filtered; none for a user without the permission."""
    from .models import ChangeLog

    if not can_read(user):
        return ChangeLog.objects.none()
    qs = ChangeLog.objects.visible_to(user)
    if who:
        qs = qs.filter(username__icontains=who)
    if kind:
        qs = qs.filter(kind=kind)
    if model:
        qs = qs.filter(model__icontains=model)
    if since:
        qs = qs.filter(at__gte=_day_start(since))
    if until:
        qs = qs.filter(at__lt=_day_start(until + dt.timedelta(days=1)))
    return qs


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()), timezone.get_default_timezone())


EXPORT_COLUMNS = ("time", "kind", "user", "ip", "channel", "action", "object type", "object id", "region",
                  "before", "after", "details")


def export_rows(qs):
    regions = {}
    for c in qs.iterator(chunk_size=2000):
        if c.region_id and c.region_id not in regions:
            regions[c.region_id] = c.region.name if c.region else ""
        yield (timezone.localtime(c.at).strftime("%Y-%m-%d %H:%M:%S"), c.get_kind_display(), c.username, c.ip,
               c.via, c.action, c.model, c.object_id, regions.get(c.region_id, ""),
               json.dumps(c.before, ensure_ascii=False) if c.before else "",
               json.dumps(c.after, ensure_ascii=False) if c.after else "",
               json.dumps(c.summary, ensure_ascii=False) if c.summary else "")


# -- the guard in the database ----------------------------------------------------------------------------

TABLE = "org_changelog"
# the floor is written into the triggers: the database itself refuses to lose younger rows
SQLITE_GUARD = [
    f"""CREATE TRIGGER IF NOT EXISTS org_changelog_no_update BEFORE UPDATE ON {TABLE}
BEGIN SELECT RAISE(ABORT, 'org_changelog is append-only: rows cannot be changed'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS org_changelog_no_delete BEFORE DELETE ON {TABLE}
WHEN OLD.at >= datetime('now', '-180 days')
BEGIN SELECT RAISE(ABORT, 'org_changelog is append-only: rows younger than 180 days cannot be deleted'); END""",
]
SQLITE_UNGUARD = ["DROP TRIGGER IF EXISTS org_changelog_no_update", "DROP TRIGGER IF EXISTS org_changelog_no_delete"]
POSTGRES_GUARD = [
    """CREATE OR REPLACE FUNCTION org_changelog_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.at < now() - interval '180 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'org_changelog is append-only: % refused', TG_OP;
END
$$""",
    f"DROP TRIGGER IF EXISTS org_changelog_guard ON {TABLE}",
    f"""CREATE TRIGGER org_changelog_guard BEFORE UPDATE OR DELETE ON {TABLE}
FOR EACH ROW EXECUTE FUNCTION org_changelog_guard()""",
    f"DROP TRIGGER IF EXISTS org_changelog_no_truncate ON {TABLE}",
    f"""CREATE TRIGGER org_changelog_no_truncate BEFORE TRUNCATE ON {TABLE}
FOR EACH STATEMENT EXECUTE FUNCTION org_changelog_guard()""",
]
POSTGRES_UNGUARD = [f"DROP TRIGGER IF EXISTS org_changelog_guard ON {TABLE}",
                    f"DROP TRIGGER IF EXISTS org_changelog_no_truncate ON {TABLE}"]
GUARD_TRIGGERS = {"sqlite": {"org_changelog_no_update", "org_changelog_no_delete"},
                  "postgresql": {"org_changelog_guard", "org_changelog_no_truncate"}}


def install_guard(connection) -> None:
    statements = {"sqlite": SQLITE_GUARD, "postgresql": POSTGRES_GUARD}.get(connection.vendor)
    if statements is None:
        raise NotImplementedError(f"no audit-log guard for {connection.vendor}")
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def remove_guard(connection) -> None:
    with connection.cursor() as cursor:
        for sql in {"sqlite": SQLITE_UNGUARD, "postgresql": POSTGRES_UNGUARD}.get(connection.vendor, []):
            cursor.execute(sql)


def installed_guard(connection) -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE])
        elif connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
                           [TABLE])
        else:
            return set()
        return {r[0] for r in cursor.fetchall()}


@contextlib.contextmanager
def guard_lifted(using: str = "default"):
    """Only for `flush` in development and tests (which empties every table): drop the triggers,
    put them back afterwards whatever happens."""
    connection = connections[using]
    remove_guard(connection)
    try:
        yield
    finally:
        install_guard(connection)


def prune(now: dt.datetime | None = None, *, days: int | None = None, batch: int = 5000) -> int:
    """Delete records older than the retention (ZHANGZHI_AUDIT_RETENTION_DAYS, at least 180 days).
    The database triggers let exactly these rows go; the prune itself is recorded."""
    from .models import ChangeLog

    days = settings.AUDIT_RETENTION_DAYS if days is None else days
    if days < settings.AUDIT_MIN_RETENTION_DAYS:
        raise ValueError(f"audit records are kept at least {settings.AUDIT_MIN_RETENTION_DAYS} days, not {days}")
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    connection = connections[ChangeLog.objects.db]
    deleted = 0
    while True:
        ids = list(ChangeLog.objects.filter(at__lt=cutoff).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            break
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE id IN ({', '.join(['%s'] * len(ids))}) AND at < %s",
                           [*ids, connection.ops.adapt_datetimefield_value(cutoff)])
            deleted += cursor.rowcount
    record(ChangeLog.Kind.WRITE, "prune", model="org.ChangeLog",
           summary={"deleted": deleted, "before": cutoff.isoformat(), "retention_days": days})
    return deleted
