"""Writes for regions, units, people and posts. One transaction each; every change is logged."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from shapely.geometry import mapping, shape

from zhangzhi.lib import chinacoords
from zhangzhi.lib.errors import Forbidden, InvalidInput, NotFound

from . import levels, scope
from .models import UNSAVED_PATH, ApiToken, Person, Post, Region, Role, Unit


def log_change(actor, action: str, obj, summary: dict | None = None, *, before: dict | None = None,
               after: dict | None = None, diff: dict | None = None, kind: str = "write", region=None) -> None:
    """The one entry point of the audit log for actions: who (the actor, else the request's user),
    what (model, id, action), before and after (changed fields; or `diff` as {field: [before,
    after]}), the object's region; the client IP and channel come from the request context
    (`org.audit`)."""
    from . import audit

    if diff:
        before = {**(before or {}), **{k: v[0] for k, v in diff.items()}}
        after = {**(after or {}), **{k: v[1] for k, v in diff.items()}}
    audit.record(kind, action, actor=actor, obj=obj, region=region, before=before, after=after, summary=summary)


def _check_write(actor, region: Region, what: str) -> None:
    if actor is not None and not scope.can_write(actor, region):
        raise Forbidden(f"{what}: {region.name} is outside your jurisdiction")


def _check_not_self(actor, person: Person, what: str) -> None:
    """Nobody widens their own scope: an office cannot give itself units or posts; the office above
    (or the security administrator) does."""
    if actor is not None and not getattr(actor, "is_superuser", False) and person.user_id is not None \
            and person.user_id == getattr(actor, "pk", None):
        raise Forbidden(f"{what}: you cannot change your own units or posts")


def _apply(obj, changes: dict, allowed: tuple[str, ...]) -> dict:
    """Set `changes` on `obj`; returns {field: [before, after]} of what really changed."""
    diff = {}
    for k, v in changes.items():
        if k not in allowed:
            raise InvalidInput(f"{k} cannot be changed here", {k: "not changeable"})
        old = getattr(obj, k)
        if old != v:
            diff[k] = [getattr(old, "pk", old), getattr(v, "pk", v)]
            setattr(obj, k, v)
    return diff


# -- regions -------------------------------------------------------------------------------

@transaction.atomic
def create_region(actor, *, name: str, level: str, parent: Region | None, code: str | None = None,
                  illustrative: bool = False, center: tuple[float, float] | None = None) -> Region:
    if parent is not None:
        _check_write(actor, parent, "create region")
        if levels.rank(level) <= levels.rank(parent.level):
            raise InvalidInput(
                f"a {level} cannot sit under a {parent.level}", {"level": "must be below the parent's level"}
            )
    elif actor is not None and not getattr(actor, "is_superuser", False):
        raise Forbidden("only an administrator can create a top-level region")
    region = Region(name=name, level=level, parent=parent, code=code or None, illustrative=illustrative)
    if center:
        region.center_lon, region.center_lat = center
    region.save()  # derives the path
    log_change(actor, "create", region, {"name": name, "level": level, "code": code})
    return region


@transaction.atomic
def update_region(actor, region: Region, **changes) -> Region:
    """Rename or recode a region (its place in the tree is fixed: a new region is created instead)."""
    region = Region.objects.select_for_update().get(pk=region.pk)
    _check_write(actor, region, "change region")
    diff = _apply(region, changes, ("name", "code", "illustrative"))
    if diff:
        region.save()
        log_change(actor, "change", region, diff=diff)
    return region


@transaction.atomic
def load_regions_csv(path: Path, *, under: str | None = None) -> int:
    """Load regions from a CSV of code,name,level,parent_code (the shared Shanxi file).

    `under` limits the load to one code's subtree plus its ancestors. Existing codes are left
    alone, so the load can be repeated. Returns the number of regions created.
    """
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    missing = {"code", "name", "level", "parent_code"} - set(rows[0] if rows else {})
    if missing:
        raise InvalidInput(f"{path.name}: missing columns {', '.join(sorted(missing))}")
    if under:
        by_code = {r["code"]: r for r in rows}
        if under not in by_code:
            raise InvalidInput(f"{path.name}: no region with code {under}", {"under": "unknown code"})
        keep, node = set(), by_code[under]
        while node is not None:  # the region and its ancestors
            keep.add(node["code"])
            node = by_code.get(node["parent_code"])
        below = {under}
        for r in sorted(rows, key=lambda r: levels.rank(r["level"]) if r["level"] in levels.RANK else 99):
            if r["parent_code"] in below:
                below.add(r["code"])
        rows = [r for r in rows if r["code"] in keep | below]
    for i, r in enumerate(rows, start=2):
        if r["level"] not in levels.RANK:
            raise InvalidInput(f"{path.name} line {i}: unknown level {r['level']!r}", {f"line {i}": "level"})
    existing = dict(Region.objects.filter(code__isnull=False).values_list("code", "pk"))
    paths = dict(Region.objects.values_list("pk", "path"))
    created = 0
    for level in sorted({r["level"] for r in rows}, key=levels.rank):
        batch = [r for r in rows if r["level"] == level and r["code"] not in existing]
        objs = []
        for r in batch:
            parent_pk = existing.get(r["parent_code"]) if r["parent_code"] else None
            if r["parent_code"] and parent_pk is None:
                raise InvalidInput(f"{path.name}: {r['code']} has unknown parent {r['parent_code']}")
            objs.append(Region(code=r["code"], name=r["name"], level=level, parent_id=parent_pk, path=UNSAVED_PATH))
        Region.objects.bulk_create(objs, batch_size=500)
        if objs and objs[0].pk is None:  # backends that do not return ids
            objs = list(Region.objects.filter(code__in=[o.code for o in objs]))
        for o in objs:
            o.path = f"{paths[o.parent_id] if o.parent_id else '/'}{o.pk}/"
            paths[o.pk] = o.path
            existing[o.code] = o.pk
        Region.objects.bulk_update(objs, ["path"], batch_size=500)
        created += len(objs)
    return created


@transaction.atomic
def load_boundaries(path: Path, *, crs: str = "gcj02") -> int:
    """Attach borders from a DataV GeoJSON file (properties adcode, name, center) to regions.

    The shared boundaries come from AMap data and so are in GCJ-02: they are converted to WGS84
    here, once, on import.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    by_code = {r.code: r for r in Region.objects.filter(code__isnull=False)}
    updated = []
    for f in data.get("features", []):
        code = str(f.get("properties", {}).get("adcode", ""))
        region = by_code.get(code)
        if region is None or not f.get("geometry"):
            continue
        geom = shape(f["geometry"])
        geom = _transform(geom, crs)
        region.boundary = json.loads(json.dumps(mapping(geom)))
        c = geom.representative_point()
        center = f["properties"].get("center")
        if center:
            lon, lat = chinacoords.to_wgs84(np.array([center[0]]), np.array([center[1]]), crs)
            region.center_lon, region.center_lat = round(float(lon[0]), 6), round(float(lat[0]), 6)
        else:
            region.center_lon, region.center_lat = round(c.x, 6), round(c.y, 6)
        updated.append(region)
    Region.objects.bulk_update(updated, ["boundary", "center_lon", "center_lat"])
    return len(updated)


def _transform(geom, crs: str):
    import shapely

    def fn(coords):
        lon, lat = chinacoords.to_wgs84(coords[:, 0], coords[:, 1], crs)
        return np.round(np.column_stack([lon, lat]), 6)

    return shapely.transform(geom, fn)


# -- units and people ----------------------------------------------------------------------

@transaction.atomic
def create_unit(actor, *, name: str, kind: str, region: Region, phone: str = "") -> Unit:
    _check_write(actor, region, "create unit")
    if kind not in Unit.Kind.values:
        raise InvalidInput(f"unknown unit kind {kind!r}", {"kind": f"one of {', '.join(Unit.Kind.values)}"})
    unit = Unit.objects.create(name=name, kind=kind, region=region, phone=phone)
    log_change(actor, "create", unit, {"name": name, "kind": kind, "region": region.code})
    return unit


@transaction.atomic
def update_unit(actor, unit: Unit, **changes) -> Unit:
    """Change a unit; moving it needs write access to the old region and the new one."""
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    _check_write(actor, unit.region, "change unit")
    if "region" in changes:
        _check_write(actor, changes["region"], "move unit")
    if "kind" in changes and changes["kind"] not in Unit.Kind.values:
        raise InvalidInput(f"unknown unit kind {changes['kind']!r}", {"kind": "unknown"})
    if actor is not None and not getattr(actor, "is_superuser", False) and \
            unit.people.filter(user=actor).exists():
        raise Forbidden("change unit: you cannot change a unit you work in")
    diff = _apply(unit, changes, ("name", "kind", "region", "phone"))
    if diff:
        unit.save()
        log_change(actor, "change", unit, diff=diff)
    return unit


@transaction.atomic
def update_person(actor, person: Person, *, units: Iterable[Unit] | None = None, **changes) -> Person:
    """Change a person's name, title, phone or units. Units given must all be editable by the actor,
    and units the actor cannot edit stay as they are (another office's assignment is not theirs)."""
    person = Person.objects.select_for_update().get(pk=person.pk)
    if actor is not None and not Person.objects.editable_by(actor).filter(pk=person.pk).exists():
        raise Forbidden("change person: outside your jurisdiction")
    diff = _apply(person, changes, ("name", "title", "phone", "published_phone", "illustrative"))
    if units is not None:
        _check_not_self(actor, person, "change units")
        units = list(units)
        for u in units:
            _check_write(actor, u.region, "add person to unit")
        current = list(person.units.select_related("region"))
        kept = [u for u in current if actor is not None and not scope.can_write(actor, u.region)]
        new = {u.pk for u in units} | {u.pk for u in kept}
        if new != {u.pk for u in current}:
            diff["units"] = [sorted(u.pk for u in current), sorted(new)]
            person.units.set(new)
            if person.user_id and Unit.objects.filter(pk__in=new, kind=Unit.Kind.OFFICE).exists():
                _grant_office_admin(person.user)
    if diff:
        person.save()
        log_change(actor, "change", person, diff=diff)
    return person


@transaction.atomic
def create_person(actor, *, name: str, phone: str = "", title: str = "", units: Iterable[Unit] = (),
                  username: str | None = None, password: str | None = None,
                  illustrative: bool = False, published_phone: str = "") -> Person:
    units = list(units)
    for u in units:
        _check_write(actor, u.region, "add person to unit")
    user = None
    if username:
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise InvalidInput(f"username {username!r} is taken", {"username": "taken"})
        if password and not illustrative:  # demo people (illustrative) keep the demo's password
            _validate_password(password, User(username=username))
        user = User.objects.create_user(username=username, password=password)
    person = Person.objects.create(name=name, phone=phone, title=title, user=user, illustrative=illustrative,
                                   published_phone=published_phone)
    if units:
        person.units.set(units)
        if user is not None and any(u.kind == Unit.Kind.OFFICE for u in units):
            _grant_office_admin(user)
    log_change(actor, "create", person, {"name": name, "username": username})
    return person


OFFICE_GROUP = "河长办工作人员"
OFFICE_MODELS = [("org", "region"), ("org", "unit"), ("org", "person"), ("org", "post"), ("features", "feature")]


def _grant_office_admin(user) -> None:
    """Office staff maintain the registry in the admin; the admin limits them to their jurisdiction."""
    from django.contrib.auth.models import Group, Permission

    group, created = Group.objects.get_or_create(name=OFFICE_GROUP)
    if created:
        perms = Permission.objects.filter(
            content_type__app_label__in={a for a, _ in OFFICE_MODELS},
            content_type__model__in={m for _, m in OFFICE_MODELS},
            codename__regex=r"^(add|change|view)_",
        )
        group.permissions.set(perms)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(group)


# -- posts ---------------------------------------------------------------------------------

@transaction.atomic
def appoint(actor, *, person: Person, role: Role | str, level: str, feature=None, region: Region | None = None,
            valid_from: dt.date | None = None, duties: str = "") -> Post:
    """Give a person a post (任命). The feature's region is the post's region."""
    if isinstance(role, str):
        try:
            role = Role.objects.get(code=role)
        except Role.DoesNotExist:
            raise InvalidInput(f"unknown role {role!r}", {"role": "unknown"}) from None
    if feature is None and region is None:
        raise InvalidInput("a post needs a feature or a region", {"feature": "required without region"})
    if feature is not None:
        region = feature.region
    if level not in levels.CHIEF_LEVELS:
        raise InvalidInput(f"unknown level {level!r}", {"level": f"one of {', '.join(levels.CHIEF_LEVELS)}"})
    if feature is not None and actor is not None and not scope.can_write(actor, region):
        message = f"appoint to {feature.name}: {region.name} is outside your jurisdiction"
        raise Forbidden(message, {"feature": message})
    _check_write(actor, region, "appoint")
    _check_not_self(actor, person, "appoint")
    if actor is not None and not Person.objects.visible_to(actor).filter(pk=person.pk).exists():
        raise Forbidden("appoint: the person is outside your jurisdiction", {"person": "unknown"})
    post = Post.objects.create(person=person, role=role, level=level, feature=feature, region=region,
                               valid_from=valid_from or timezone.localdate(), duties=duties or role.duties)
    log_change(actor, "appoint", post, {"person": person.pk, "role": role.code,
                                        "feature": getattr(feature, "pk", None), "region": region.pk})
    return post


@transaction.atomic
def end_post(actor, post: Post, *, valid_to: dt.date | None = None) -> Post:
    """End a post (免职). The row stays, so the roster of any past date can be shown."""
    _check_write(actor, post.region, "end post")
    valid_to = valid_to or timezone.localdate()
    if valid_to < post.valid_from:
        raise InvalidInput("a post cannot end before it starts", {"valid_to": "before valid_from"})
    before = {"valid_to": post.valid_to}
    post.valid_to = valid_to
    post.save(update_fields=["valid_to"])
    log_change(actor, "end", post, {"valid_to": valid_to.isoformat()}, before=before, after={"valid_to": valid_to})
    return post


# -- accounts ------------------------------------------------------------------------------

def _validate_password(password: str, user) -> None:
    """The password rules of settings.AUTH_PASSWORD_VALIDATORS (等保 口令复杂度), as one InvalidInput."""
    from django.contrib.auth import password_validation
    from django.core.exceptions import ValidationError

    try:
        password_validation.validate_password(password, user)
    except ValidationError as e:
        message = " ".join(e.messages)
        raise InvalidInput(message, {"password": message}, code="weak_password") from None


@transaction.atomic
def unlock_account(actor, username: str) -> int:
    """Lift a login lock-out (failed attempts) of an account: its office or the security administrator.
    Returns the number of attempt records removed."""
    from axes.models import AccessAttempt

    from .accounts import users_managed_by

    user = users_managed_by(actor, "axes.delete_accessattempt").filter(username=username).first()
    if actor is not None and user is None:
        raise NotFound(f"no account {username!r} you manage")
    removed, _ = AccessAttempt.objects.filter(username=username).delete()
    if user is not None:
        log_change(actor, "unlock", user, {"username": username, "attempts_removed": removed})
    return removed


@transaction.atomic
def assign_admin_role(actor, user, role: str) -> None:
    """Make `user` the system, security or audit administrator (三员分立): one of the three groups of
    reference.ADMIN_ROLES, and staff (the admin is where they work). Refused when the account already
    holds another of the three, unless it is a superuser. The superuser or the security administrator
    assigns; nobody assigns a role to themself."""
    from django.contrib.auth.models import Group

    from . import duties, reference

    names = reference.admin_role_names()
    if role not in names:
        raise InvalidInput(f"unknown administrator role {role!r}", {"role": f"one of {', '.join(names)}"})
    if actor is not None:
        if not (actor.is_superuser or actor.has_perm("auth.change_user")):
            raise Forbidden("only the security administrator assigns administrator roles")
        if actor.pk == user.pk and not actor.is_superuser:
            raise Forbidden("you cannot change your own administrator role")
    held = duties.admin_roles_of(user)
    duties.check(held | {role}, is_superuser=user.is_superuser, username=user.get_username())
    group = Group.objects.filter(name=names[role]).first()
    if group is None:  # a database flushed without its reference data
        reference.ensure_admin_roles()
        group = Group.objects.get(name=names[role])
    user.groups.add(group)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    log_change(actor, "assign_admin_role", user, {"username": user.get_username(), "role": role},
               kind="permission", before={"roles": sorted(held)}, after={"roles": sorted(held | {role})})


@transaction.atomic
def remove_admin_role(actor, user, role: str) -> None:
    """Take one of the three administrator roles away (the account stays, without that group)."""
    from django.contrib.auth.models import Group

    from . import duties, reference

    names = reference.admin_role_names()
    if role not in names:
        raise InvalidInput(f"unknown administrator role {role!r}", {"role": f"one of {', '.join(names)}"})
    if actor is not None and not (actor.is_superuser or actor.has_perm("auth.change_user")):
        raise Forbidden("only the security administrator removes administrator roles")
    held = duties.admin_roles_of(user)
    user.groups.remove(*Group.objects.filter(name=names[role]))
    log_change(actor, "remove_admin_role", user, {"username": user.get_username(), "role": role},
               kind="permission", before={"roles": sorted(held)}, after={"roles": sorted(held - {role})})


# -- tokens --------------------------------------------------------------------------------

# last_used is written at most this often per token, so a busy phone costs no write per request
TOKEN_LAST_USED_GRAIN = timedelta(minutes=5)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user, *, name: str = "") -> str:
    """A new bearer token for `user`, valid settings.API_TOKEN_DAYS. Only its digest is stored; the
    token itself is returned once. (The audit log has it as the login that asked for it.)"""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    # last_used starts at the issue: the phone that just logged in costs no write on its next requests
    ApiToken.objects.create(user=user, name=name[:100], digest=token_digest(token), last_used=now,
                            expires=now + timedelta(days=settings.API_TOKEN_DAYS))
    return token


def token_for(token: str) -> ApiToken | None:
    """The live token row (with its user) a bearer token stands for, or None; records its use."""
    now = timezone.now()
    row = ApiToken.objects.live(now).select_related("user").filter(digest=token_digest(token)).first()
    if row is None or not row.user.is_active:
        return None
    if row.last_used is None or row.last_used < now - TOKEN_LAST_USED_GRAIN:
        ApiToken.objects.filter(pk=row.pk).update(last_used=now)
        row.last_used = now
    return row


def user_for_token(token: str):
    row = token_for(token)
    return row.user if row is not None else None


@transaction.atomic
def revoke_token(actor, token: ApiToken) -> ApiToken:
    """Revoke a token at once (its owner, their office or the security administrator; the caller has
    fetched it through `ApiToken.objects.managed_by`). Revoking twice changes nothing."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked is None:
        token.revoked = timezone.now()
        token.revoked_by = actor if getattr(actor, "is_authenticated", False) else None
        token.save(update_fields=["revoked", "revoked_by"])
        log_change(actor, "revoke_token", token, {"owner": token.user.get_username(), "name": token.name})
    return token


def revoke_tokens_of(actor, user) -> int:
    """Revoke every live token of an account (a lost phone, a person leaving)."""
    n = 0
    for token in ApiToken.objects.live().filter(user=user):
        revoke_token(actor, token)
        n += 1
    return n


def prune_tokens(now: dt.datetime | None = None, *, keep_days: int | None = None) -> int:
    """Delete tokens revoked or expired more than `keep_days` (settings.API_TOKEN_KEEP_DAYS) ago."""
    from django.db.models import Q

    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.API_TOKEN_KEEP_DAYS if keep_days is None else keep_days)
    deleted, _ = ApiToken.objects.filter(Q(revoked__lt=cutoff) | Q(expires__lt=cutoff)).delete()
    return deleted
