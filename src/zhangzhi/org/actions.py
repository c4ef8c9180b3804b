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
from zhangzhi.lib.errors import Forbidden, InvalidInput

from . import levels, scope
from .models import ApiToken, ChangeLog, Person, Post, Region, Role, Unit


def log_change(actor, action: str, obj, summary: dict | None = None) -> None:
    ChangeLog.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        model=obj._meta.label,
        object_id=str(obj.pk),
        summary=summary or {},
    )


def _check_write(actor, region: Region, what: str) -> None:
    if actor is not None and not scope.can_write(actor, region):
        raise Forbidden(f"{what}: {region.name} is outside your jurisdiction")


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
    region.path = "/"
    region.save()
    region.path = f"{parent.path if parent else '/'}{region.pk}/"
    region.save(update_fields=["path"])
    log_change(actor, "create", region, {"name": name, "level": level, "code": code})
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
            objs.append(Region(code=r["code"], name=r["name"], level=level, parent_id=parent_pk, path="/"))
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
def create_person(actor, *, name: str, phone: str = "", title: str = "", units: Iterable[Unit] = (),
                  username: str | None = None, password: str | None = None,
                  illustrative: bool = False) -> Person:
    units = list(units)
    for u in units:
        _check_write(actor, u.region, "add person to unit")
    user = None
    if username:
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise InvalidInput(f"username {username!r} is taken", {"username": "taken"})
        user = User.objects.create_user(username=username, password=password)
    person = Person.objects.create(name=name, phone=phone, title=title, user=user, illustrative=illustrative)
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
    post.valid_to = valid_to
    post.save(update_fields=["valid_to"])
    log_change(actor, "end", post, {"valid_to": valid_to.isoformat()})
    return post


# -- tokens --------------------------------------------------------------------------------

def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user) -> str:
    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, digest=token_digest(token),
                            expires=timezone.now() + timedelta(days=settings.API_TOKEN_DAYS))
    return token


def user_for_token(token: str):
    row = (ApiToken.objects.select_related("user").filter(digest=token_digest(token), expires__gt=timezone.now())
           .first())
    if row is None or not row.user.is_active:
        return None
    return row.user
