"""API for authentication, regions, units, people and posts (the public roster tree is in features.api)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from pydantic import Field

from zhangzhi.lib.errors import Forbidden, InvalidInput
from zhangzhi.lib.masking import phone_for
from zhangzhi.lib.params import Id

from . import accounts, actions, audit, roster, scope
from .models import ApiToken, Person, Post, Region, Role, Unit

router = Router(tags=["org"])


class Credentials(Schema):
    username: str
    password: str
    otp: str | None = Field(None, description="the 6-digit code of the account's authenticator app, if enrolled")
    name: str = Field("", max_length=100, description="what the token is for, e.g. 巡河手机")


@router.post("/auth/token", auth=None, summary="Exchange a username and password (and TOTP code) for a bearer token",
             description="Failed attempts count towards the lock-out per account and per address (429 locked_out).")
def token(request, body: Credentials):
    user = authenticate(request, username=body.username, password=body.password)
    if user is None:  # authenticate() has sent user_login_failed: the audit log has the attempt
        if getattr(request, "axes_locked_out", False):
            raise accounts.LockedOut(accounts.lockout_message(), {"username": accounts.lockout_message()})
        raise InvalidInput("wrong username or password", {"password": "wrong username or password"},
                           code="bad_credentials")
    device = accounts.totp_device(user)
    if device is not None:
        if not body.otp:
            raise InvalidInput("this account has two-step verification: send otp, the code of its authenticator app",
                               {"otp": "required"}, code="otp_required")
        if not accounts.verify_otp(user, device, body.otp):
            accounts.count_failure(request, user.get_username())
            if accounts.is_locked(request, user.get_username()):
                raise accounts.LockedOut(accounts.lockout_message(), {"username": accounts.lockout_message()})
            raise InvalidInput("wrong or used code", {"otp": "wrong or used code"}, code="bad_otp")
    elif accounts.must_enrol(user):
        raise Forbidden("administrators must enable two-step verification first: /accounts/2fa/",
                        code="second_factor_enrolment_required")
    accounts.reset_failures(user)
    audit.log_login(user, request, action="login_token")
    return {"token": actions.issue_token(user, name=body.name)}


def token_row(t: ApiToken, request) -> dict:
    return {"id": t.pk, "name": t.name, "username": t.user.get_username(), "created": t.created,
            "expires": t.expires, "last_used": t.last_used, "revoked": t.revoked, "live": t.is_live,
            "current": t.pk == getattr(request, "api_token_id", None)}


@router.get("/auth/tokens", summary="API tokens: your own, and those of the accounts your office manages",
            description="The token itself is never shown again; revoked and expired ones with ?all=true.")
def tokens(request, all: bool = False, username: str | None = None,
           limit: Annotated[int, Field(ge=1, le=1000)] = 200):
    qs = ApiToken.objects.managed_by(request.auth).select_related("user")
    if not all:
        qs = qs.live()
    if username:
        qs = qs.filter(user__username=username)
    return {"tokens": [token_row(t, request) for t in qs[:limit]]}


@router.delete("/auth/tokens/{token_id}", response={204: None},
               summary="Revoke an API token (yours, or of an account your office manages)")
def revoke_token(request, token_id: Id):
    row = get_object_or_404(ApiToken.objects.managed_by(request.auth), pk=token_id)
    actions.revoke_token(request.auth, row)
    return Status(204, None)


class Unlock(Schema):
    username: str = Field(max_length=150)


@router.post("/auth/unlock", summary="Lift the login lock-out of an account your office manages",
             description="The security administrator unlocks any account; others answer 404 outside their scope.")
def unlock(request, body: Unlock):
    removed = actions.unlock_account(request.auth, body.username)
    return {"username": body.username, "attempts_removed": removed}


def region_row(r: Region) -> dict:
    return {"id": r.pk, "code": r.code, "name": r.name, "level": r.level, "parent": r.parent_id,
            "illustrative": r.illustrative}


def person_row(p: Person, viewer=None) -> dict:
    """A person; the phone whole only for the offices that keep them (and themselves), else masked."""
    paths = [u.region.path for u in p.units.all()] + [post.region.path for post in p.posts.all()]
    return {"id": p.pk, "name": p.name, "phone": phone_for(p.phone, roster.sees_whole_phone(viewer, p, paths)),
            "title": p.title}


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
        out["person"] = person_row(person, user)
        out["units"] = [unit_row(u) for u in person.units.select_related("region")]
        posts = person.posts.current().select_related("role", "feature", "feature__kind", "region", "person")
        out["posts"] = [
            {**roster.post_row(p, viewer=user), "feature": (
                {"id": p.feature.pk, "name": p.feature.name, "kind": p.feature.kind.code,
                 "length_m": p.feature.length_m} if p.feature_id else None)}
            for p in posts
        ]
    paths = scope.write_paths(user)
    out["can_edit_regions"] = (["*"] if paths is None else
                               list(Region.objects.editable_by(user).filter(path__in=paths)
                                    .values_list("code", flat=True)))
    return out


# -- regions --------------------------------------------------------------------------------

@router.get("/regions", auth=None, summary="Regions; ?format=tree for a nested tree, ?format=geojson for borders")
def regions(request, parent: str | None = None, level: str | None = None, under: str | None = None,
            format: str = "list", mine: bool = False):
    qs = Region.objects.unrestricted("administrative divisions are public (GB/T 2260)")
    if mine and request.user.is_authenticated:
        qs = qs.visible_to(request.user)
    qs = scope.within_region(qs, under, path_field="path", field="under")
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
    parent = get_object_or_404(Region.objects.unrestricted("public: the action checks the write"), code=body.parent)
    r = actions.create_region(request.auth, name=body.name, level=body.level, parent=parent, code=body.code)
    return Status(201, region_row(r))


# -- units and people -----------------------------------------------------------------------

@router.get("/units", summary="Units (offices, member units, police …) in the caller's jurisdiction")
def units(request, region: str | None = None, kind: str | None = None):
    qs = Unit.objects.visible_to(request.auth).select_related("region")
    qs = scope.within_region(qs, region)
    if kind:
        qs = qs.filter(kind=kind)
    return {"units": [unit_row(u) for u in qs[:2000]]}


class UnitIn(Schema):
    name: str
    kind: str
    region: str
    phone: str = ""


@router.post("/units", response={201: dict})
def create_unit(request, body: UnitIn):
    region = get_object_or_404(Region.objects.unrestricted("public: the action checks the write"), code=body.region)
    u = actions.create_unit(request.auth, name=body.name, kind=body.kind, region=region, phone=body.phone)
    return Status(201, unit_row(u))


@router.get("/people", summary="People working in or holding posts within the caller's jurisdiction")
def people(request, q: str | None = None, limit: Annotated[int, Field(ge=1, le=2000)] = 200):
    qs = Person.objects.visible_to(request.auth)
    if q:
        qs = qs.filter(name__contains=q)
    qs = qs.prefetch_related("units__region", "posts__region")
    return {"people": [person_row(p, request.auth) for p in qs[: min(limit, 2000)]]}


class PersonIn(Schema):
    name: str
    phone: str = ""
    title: str = ""
    units: list[int] = []


@router.post("/people", response={201: dict})
def create_person(request, body: PersonIn):
    # a unit outside the caller's write scope is reported like one that does not exist
    units = list(Unit.objects.editable_by(request.auth).filter(pk__in=body.units).select_related("region"))
    if len(units) != len(set(body.units)):
        raise InvalidInput("unknown unit id", {"units": "unknown unit id"})
    if not units and not request.auth.is_superuser:
        raise InvalidInput("a person must belong to a unit in your jurisdiction", {"units": "required"})
    p = actions.create_person(request.auth, name=body.name, phone=body.phone, title=body.title, units=units)
    return Status(201, person_row(p, request.auth))


# -- posts ------------------------------------------------------------------------------------

@router.get("/posts", summary="Posts; current by default, or on ?date=YYYY-MM-DD, or all with ?all=true")
def posts(request, person: Id | None = None, feature: Id | None = None, region: str | None = None,
          role: str | None = None, level: str | None = None, date: dt.date | None = None, all: bool = False,
          limit: Annotated[int, Field(ge=1, le=5000)] = 1000):
    qs = Post.objects.visible_to(request.auth).select_related("person", "role", "feature", "region")
    if not all:
        qs = qs.on(date)
    if person:
        qs = qs.filter(person_id=person)
    if feature:
        qs = qs.filter(feature_id=feature)
    qs = scope.within_region(qs, region)
    if role:
        qs = qs.filter(role__code=role)
    if level:
        qs = qs.filter(level=level)
    return {"posts": [roster.post_row(p, viewer=request.auth) for p in qs[: min(limit, 5000)]]}


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
    # outside the caller's scope reads exactly like "does not exist": no probing of ids
    person = Person.objects.visible_to(request.auth).filter(pk=body.person).first()
    if person is None:
        raise InvalidInput(f"no person {body.person}", {"person": "unknown"})
    feature = region = None
    if body.feature is not None:
        # through the relation org declares (Post.feature): org never imports features, which build on it
        features = Post._meta.get_field("feature").related_model.objects
        feature = features.editable_by(request.auth).select_related("region").filter(pk=body.feature).first()
        if feature is None:
            raise InvalidInput(f"no feature {body.feature}", {"feature": "unknown"})
    if body.region:
        region = Region.objects.editable_by(request.auth).filter(code=body.region).first()
        if region is None:
            raise InvalidInput(f"no region {body.region}", {"region": "unknown"})
    post = actions.appoint(request.auth, person=person, role=body.role, level=body.level, feature=feature,
                           region=region, valid_from=body.valid_from, duties=body.duties)
    post = Post.objects.visible_to(request.auth).select_related("person", "role", "feature", "region").get(pk=post.pk)
    return Status(201, roster.post_row(post, viewer=request.auth))


class PostEnd(Schema):
    valid_to: dt.date | None = None


@router.post("/posts/{post_id}/end", summary="End a post (免职); the post is kept with its end date")
def end_post(request, post_id: int, body: PostEnd):
    post = get_object_or_404(Post.objects.visible_to(request.auth).select_related("person", "role", "feature",
                                                                                     "region"), pk=post_id)
    if not Post.objects.editable_by(request.auth).filter(pk=post.pk).exists():
        raise Forbidden(f"{post.region.name} is outside your jurisdiction")
    actions.end_post(request.auth, post, valid_to=body.valid_to)
    return roster.post_row(post, viewer=request.auth)


@router.get("/roles", auth=None)
def roles(request):
    return {"roles": [{"code": r.code, "name": r.name, "kind": r.kind, "system": r.system.code,
                       "on_region": r.on_region} for r in Role.objects.select_related("system")]}


# -- audit log (read-only) -------------------------------------------------------------------------


def audit_row(c) -> dict:
    return {"id": c.pk, "at": c.at, "kind": c.kind, "user": c.username, "ip": c.ip, "via": c.via,
            "action": c.action, "model": c.model, "object_id": c.object_id, "region": c.region_id,
            "before": c.before, "after": c.after, "details": c.summary}


@router.get("/audit", summary="The audit log (安全审计), newest first, for the audit administrator's jurisdiction; "
            "filters who, kind, model, since, until. Read-only: there is no way to change it.")
def audit_log(request, who: str = "", kind: str = "", model: str = "", since: dt.date | None = None,
              until: dt.date | None = None, limit: Annotated[int, Field(ge=1, le=1000)] = 100,
              offset: Annotated[int, Field(ge=0)] = 0):
    if not audit.can_read(request.auth):
        raise Forbidden("reading the audit log needs the audit administrator's permission (org.view_changelog)")
    qs = audit.readable(request.auth, who=who, kind=kind, model=model, since=since, until=until)
    return {"count": qs.count(), "records": [audit_row(c) for c in qs[offset:offset + limit]]}
