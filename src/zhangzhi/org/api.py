"""API for authentication, regions, units, people, posts and the roster."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from pydantic import Field

from zhangzhi.lib.errors import Forbidden, InvalidInput
from zhangzhi.lib.params import Id
from zhangzhi.org.models import paths_q

from . import actions, roster, scope
from .models import Person, Post, Region, Role, Unit

router = Router(tags=["org"])


class Credentials(Schema):
    username: str
    password: str


@router.post("/auth/token", auth=None, summary="Exchange a username and password for a bearer token")
def token(request, body: Credentials):
    user = authenticate(request, username=body.username, password=body.password)
    if user is None:
        raise InvalidInput("wrong username or password", {"password": "wrong username or password"},
                           code="bad_credentials")
    return {"token": actions.issue_token(user)}


def region_row(r: Region) -> dict:
    return {"id": r.pk, "code": r.code, "name": r.name, "level": r.level, "parent": r.parent_id,
            "illustrative": r.illustrative}


def person_row(p: Person) -> dict:
    return {"id": p.pk, "name": p.name, "phone": p.phone, "title": p.title}


def unit_row(u: Unit) -> dict:
    return {"id": u.pk, "name": u.name, "kind": u.kind, "region": u.region.code, "region_id": u.region_id,
            "phone": u.phone}


@router.get("/auth/me", summary="The caller: person, units, current posts with their features")
def me(request):
    user = request.auth
    person = getattr(user, "person", None)
    out = {"username": user.get_username(), "is_superuser": user.is_superuser, "person": None, "units": [],
           "posts": [], "can_edit_regions": []}
    if person is not None:
        out["person"] = person_row(person)
        out["units"] = [unit_row(u) for u in person.units.select_related("region")]
        posts = person.posts.current().select_related("role", "feature", "feature__kind", "region", "person")
        out["posts"] = [
            {**roster.post_row(p), "feature": (
                {"id": p.feature.pk, "name": p.feature.name, "kind": p.feature.kind.code,
                 "length_m": p.feature.length_m} if p.feature_id else None)}
            for p in posts
        ]
    paths = scope.write_paths(user)
    out["can_edit_regions"] = (["*"] if paths is None else
                               list(Region.objects.filter(path__in=paths).values_list("code", flat=True)))
    return out


# -- regions --------------------------------------------------------------------------------

@router.get("/regions", auth=None, summary="Regions; ?format=tree for a nested tree, ?format=geojson for borders")
def regions(request, parent: str | None = None, level: str | None = None, under: str | None = None,
            format: str = "list", mine: bool = False):
    qs = Region.objects.all()
    if mine and request.user.is_authenticated:
        paths = scope.read_paths(request.user)
        if paths is not None:
            qs = qs.filter(paths_q(paths, "path"))
    if under:
        root = get_object_or_404(Region, code=under)
        qs = qs.filter(path__startswith=root.path)
    if parent:
        qs = qs.filter(parent__code=parent)
    if level:
        qs = qs.filter(level__in=level.split(","))
    if format == "geojson":
        qs = qs.filter(boundary__isnull=False)
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": r.pk, "geometry": r.boundary, "properties": region_row(r)} for r in qs]}
    if format == "tree":
        rows = list(qs.defer("boundary"))
        nodes = {r.pk: {**region_row(r), "children": []} for r in rows}
        roots = []
        for r in rows:
            (nodes[r.parent_id]["children"] if r.parent_id in nodes else roots).append(nodes[r.pk])
        return {"regions": roots}
    return {"regions": [region_row(r) for r in qs.defer("boundary")[:5000]]}


class RegionIn(Schema):
    name: str
    level: str
    parent: str
    code: str | None = None


@router.post("/regions", response={201: dict}, summary="Create a region (e.g. a village or functional zone)")
def create_region(request, body: RegionIn):
    parent = get_object_or_404(Region, code=body.parent)
    r = actions.create_region(request.auth, name=body.name, level=body.level, parent=parent, code=body.code)
    return Status(201, region_row(r))


# -- units and people -----------------------------------------------------------------------

@router.get("/units", summary="Units (offices, member units, police …) in the caller's jurisdiction")
def units(request, region: str | None = None, kind: str | None = None):
    qs = Unit.objects.select_related("region")
    paths = scope.read_paths(request.auth)
    if paths is not None:
        # a unit sees the offices above it too: it must be able to name the office it answers to
        qs = qs.filter(paths_q(paths, "region__path") | _ancestors_q(paths))
    if region:
        root = get_object_or_404(Region, code=region)
        qs = qs.filter(region__path__startswith=root.path)
    if kind:
        qs = qs.filter(kind=kind)
    return {"units": [unit_row(u) for u in qs[:2000]]}


def _ancestors_q(paths: list[str]):
    from django.db.models import Q

    ids = {int(x) for p in paths for x in p.strip("/").split("/") if x}
    return Q(region_id__in=ids)


class UnitIn(Schema):
    name: str
    kind: str
    region: str
    phone: str = ""


@router.post("/units", response={201: dict})
def create_unit(request, body: UnitIn):
    region = get_object_or_404(Region, code=body.region)
    u = actions.create_unit(request.auth, name=body.name, kind=body.kind, region=region, phone=body.phone)
    return Status(201, unit_row(u))


@router.get("/people", summary="People working in or holding posts within the caller's jurisdiction")
def people(request, q: str | None = None, limit: Annotated[int, Field(ge=1, le=2000)] = 200):
    paths = scope.read_paths(request.auth)
    qs = Person.objects.all()
    if paths is not None:
        qs = qs.filter(paths_q(paths, "units__region__path") | paths_q(paths, "posts__region__path")).distinct()
    if q:
        qs = qs.filter(name__contains=q)
    return {"people": [person_row(p) for p in qs[: min(limit, 2000)]]}


class PersonIn(Schema):
    name: str
    phone: str = ""
    title: str = ""
    units: list[int] = []


@router.post("/people", response={201: dict})
def create_person(request, body: PersonIn):
    units = list(Unit.objects.filter(pk__in=body.units).select_related("region"))
    if len(units) != len(set(body.units)):
        raise InvalidInput("unknown unit id", {"units": "unknown unit id"})
    if not units and not request.auth.is_superuser:
        raise InvalidInput("a person must belong to a unit in your jurisdiction", {"units": "required"})
    p = actions.create_person(request.auth, name=body.name, phone=body.phone, title=body.title, units=units)
    return Status(201, person_row(p))


# -- posts ------------------------------------------------------------------------------------

@router.get("/posts", summary="Posts; current by default, or on ?date=YYYY-MM-DD, or all with ?all=true")
def posts(request, person: Id | None = None, feature: Id | None = None, region: str | None = None,
          role: str | None = None, level: str | None = None, date: dt.date | None = None, all: bool = False,
          limit: Annotated[int, Field(ge=1, le=5000)] = 1000):
    qs = Post.objects.select_related("person", "role", "feature", "region")
    if not all:
        qs = qs.on(date)
    paths = scope.read_paths(request.auth)
    if paths is not None:
        qs = qs.filter(paths_q(paths, "region__path"))
    if person:
        qs = qs.filter(person_id=person)
    if feature:
        qs = qs.filter(feature_id=feature)
    if region:
        root = get_object_or_404(Region, code=region)
        qs = qs.filter(region__path__startswith=root.path)
    if role:
        qs = qs.filter(role__code=role)
    if level:
        qs = qs.filter(level=level)
    return {"posts": [roster.post_row(p) for p in qs[: min(limit, 5000)]]}


class PostIn(Schema):
    person: int
    role: str
    level: str
    feature: int | None = None
    region: str | None = None
    valid_from: dt.date | None = None
    duties: str = ""


@router.post("/posts", response={201: dict}, summary="Appoint a person to a post (任命)")
def create_post(request, body: PostIn):
    from zhangzhi.features.models import Feature

    person = get_object_or_404(Person, pk=body.person)
    feature = region = None
    if body.feature is not None:
        feature = Feature.objects.select_related("region").filter(pk=body.feature).first()
        if feature is None:
            raise InvalidInput(f"no feature {body.feature}", {"feature": "unknown"})
    if body.region:
        region = Region.objects.filter(code=body.region).first()
        if region is None:
            raise InvalidInput(f"no region {body.region}", {"region": "unknown"})
    post = actions.appoint(request.auth, person=person, role=body.role, level=body.level, feature=feature,
                           region=region, valid_from=body.valid_from, duties=body.duties)
    post = Post.objects.select_related("person", "role", "feature", "region").get(pk=post.pk)
    return Status(201, roster.post_row(post))


class PostEnd(Schema):
    valid_to: dt.date | None = None


@router.post("/posts/{post_id}/end", summary="End a post (免职); the post is kept with its end date")
def end_post(request, post_id: int, body: PostEnd):
    paths = scope.read_paths(request.auth)
    qs = Post.objects.select_related("person", "role", "feature", "region")
    if paths is not None:
        qs = qs.filter(paths_q(paths, "region__path"))
    post = get_object_or_404(qs, pk=post_id)
    if not scope.can_write(request.auth, post.region):
        raise Forbidden(f"{post.region.name} is outside your jurisdiction")
    actions.end_post(request.auth, post, valid_to=body.valid_to)
    return roster.post_row(post)


@router.get("/roles", auth=None)
def roles(request):
    return {"roles": [{"code": r.code, "name": r.name, "kind": r.kind, "system": r.system.code,
                       "on_region": r.on_region} for r in Role.objects.select_related("system")]}


# -- roster (public) ------------------------------------------------------------------------------

@router.get("/roster", auth=None, summary="The public roster (河长名录) as a tree, or matches for ?q=")
def roster_view(request, region: str | None = None, date: dt.date | None = None, q: str | None = None,
                depth: int | None = None):
    root = (get_object_or_404(Region, code=region) if region
            else Region.objects.filter(parent__isnull=True).order_by("pk").first())
    if root is None:
        return {"region": None, "matches": []}
    public = not request.user.is_authenticated
    if q:
        return {"region": region_row(root), "matches": roster.search(q, date, root, public=public)}
    return {"region": region_row(root), "tree": roster.tree(root, date, max_depth=depth, public=public)}
