"""The personas matrix: every URL pattern and every OpenAPI operation, walked by each demo persona
and anonymously, with ids from inside and outside the persona's jurisdiction.

The walk is generated from the URL conf and the OpenAPI document, so a new endpoint is covered
without anyone adding it here. A path parameter the matrix does not know fails the test, naming it:
map it to its model in PARAMS and it is covered too.

What must hold:
- nothing outside the persona's jurisdiction answers 2xx (reads or writes);
- nothing answers 5xx, whatever the persona;
- an object inside is not refused (404) to a persona who sees it in its list;
- anonymous requests answer 2xx only on the documented public pages (PUBLIC);
- no answer to a persona carries a marker of an object outside their jurisdiction.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid

import numpy as np
import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from zhangzhi.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PERSONAS = ["city-office", "county-office", "township-chief", "village-chief", "other-county-chief", "member-unit",
            "volunteer"]

# Public without a login (the README's list): roster, signboards, public report and tracking,
# Open311, login, language switch, the API's own documents and the public registries behind the
# roster and signboards. A pattern is public when its route starts with one of these.
PUBLIC = ("", "roster/", "s/", "report/", "r/", "open311/", "accounts/login/", "accounts/logout/", "i18n/",
          "manifest.webmanifest", "sw.js", "api/v1/openapi.json", "api/v1/docs", "api/v1/auth/token",
          "api/v1/regions", "api/v1/roster", "api/v1/signboards/", "api/v1/roles", "api/v1/feature-kinds",
          "api/v1/case-categories", "api/v1/open311", "api/v1/water-quality/classify", "api/v1/monitoring/frames",
          "accounts/2fa/", "static/")

# Markers of the 平定县 objects: none may appear in an answer to a persona of 盂县 or a member unit's
# handler (whose cases are those assigned to them).
OUTSIDE_MARKERS = ("平定县秘密问题", "测试河平定断面", "平定人甲", "13999990000")


@pytest.fixture
def matrix(world, settings, tmp_path):
    """The world with one object of every kind in 盂县 (inside) and in 平定县 (outside)."""
    from zhangzhi.cases import actions as ca
    from zhangzhi.cases import reference as case_reference
    from zhangzhi.cases.tests.images import png
    from zhangzhi.demo import track_simulator as simulate
    from zhangzhi.monitoring import actions as ma
    from zhangzhi.monitoring.models import Quarantine
    from zhangzhi.org import actions as oa
    from zhangzhi.patrols import actions as pa
    from zhangzhi.patrols import reference as patrol_reference

    settings.MEDIA_ROOT = tmp_path
    case_reference.ensure()
    patrol_reference.ensure()
    pd_person = oa.create_person(None, name="平定人甲", phone="13999990000", units=[world.units["pd_office"]])
    oa.appoint(None, person=world.people["other-county-chief"], role="river-chief", level="county",
               feature=world.pd_reach, valid_from=dt.date(2024, 1, 1))
    at = dt.datetime(2026, 5, 12, 1, 0, tzinfo=dt.UTC)
    yu_case = ca.report(world.users["township-chief"], category="garbage", description="盂县垃圾问题",
                        lat=38.058, lon=113.325, at=at, source="public")
    pd_case = ca.report(world.users["other-county-chief"], category="garbage", description="平定县秘密问题",
                        lat=37.825, lon=113.575, at=at, source="public")
    for case in (yu_case, pd_case):
        ca.add_attachment(None, case, png())

    def patrol(feature, user, seed):
        coords = np.asarray(feature.geometry["coordinates"], np.float64)
        track = simulate.walk_along(coords, at.timestamp(), np.random.default_rng(seed), portion=(0.05, 0.7))
        body = {"client_id": str(uuid.uuid4()), "feature": feature.pk, "crs": "wgs84",
                "track": {"type": "LineString", "coordinates": [[x, y] for x, y in zip(track.lon, track.lat,
                                                                                       strict=True)],
                          "times": [dt.datetime.fromtimestamp(t, dt.UTC).isoformat() for t in track.t]},
                "findings": [{"category": "garbage", "note": "垃圾", "lon": track.lon[3], "lat": track.lat[3],
                              "photo": base64.b64encode(png()).decode()}]}
        return pa.do_upload_patrol(user, body)[0]

    yu_patrol = patrol(world.town_reach, world.users["township-chief"], 1)
    pd_patrol = patrol(world.pd_reach, world.users["other-county-chief"], 2)
    yu_station = ma.create_station(None, name="测试河秀水断面", kind="auto", mn="YU0000000000001",
                                   feature=world.town_reach, target_class="III", level="city")
    pd_station = ma.create_station(None, name="测试河平定断面", kind="auto", mn="PD0000000000001",
                                   feature=world.pd_reach, target_class="II", level="city")
    for s in (yu_station, pd_station):
        ma.import_readings(None, s, [{"parameter": "w01009", "time": "2026-05-12T08:00:00+08:00", "value": 7.5}])
    q_yu = Quarantine.objects.create(received_at=at, reason="crc", raw=b"x", mn=yu_station.mn, peer="10.0.0.1")
    q_pd = Quarantine.objects.create(received_at=at, reason="crc", raw=b"y", mn=pd_station.mn, peer="10.0.0.2")

    from zhangzhi.org.models import ApiToken

    oa.issue_token(world.users["township-chief"])
    oa.issue_token(world.users["other-county-chief"])
    tokens = {t.user_id: t for t in ApiToken.objects.all()}
    world.inside = {"token": tokens[world.users["township-chief"].pk], "case": yu_case, "patrol": yu_patrol,
                    "station": yu_station, "feature": world.town_reach,
                    "region": world.yu_town, "unit": world.units["yu_office"], "quarantine": q_yu,
                    "person": world.people["township-chief"]}
    world.outside = {"token": tokens[world.users["other-county-chief"].pk], "case": pd_case, "patrol": pd_patrol,
                     "station": pd_station, "feature": world.pd_reach,
                     "region": world.pd_town, "unit": world.units["pd_office"], "quarantine": q_pd,
                     "person": pd_person}
    return world


# path parameter → how to get its value from an object of the matrix
PARAMS = {
    "case_id": ("case", lambda o: o.pk),
    "patrol_id": ("patrol", lambda o: o.pk),
    "station_id": ("station", lambda o: o.pk),
    "feature_id": ("feature", lambda o: o.pk),
    "post_id": ("person", lambda o: o.posts.first().pk if o.posts.exists() else 10**9),
    "unit_id": ("unit", lambda o: o.pk),
    "person_id": ("person", lambda o: o.pk),
    "quarantine_id": ("quarantine", lambda o: o.pk),
    "attachment_id": ("case", lambda o: o.attachments.first().pk),
    "token_id": ("token", lambda o: o.pk),
    "finding_id": ("patrol", lambda o: o.findings.first().pk if o.findings.exists() else 10**9),
    "code": ("case", lambda o: o.code),
    "token": ("case", lambda o: o.code),
}
FIXED = {"action": "accept", "fmt": "json", "format": "json", "lang": "en", "path": "x", "document_root": "x",
         "url": "x"}


def url_patterns() -> list[str]:
    """Every route of the URL conf, with converters kept (`cases/<int:case_id>/`), admin left out
    (it has its own tests, written against the same mechanism)."""
    out: list[str] = []

    def walk(patterns, prefix):
        for p in patterns:
            route = str(p.pattern)
            if isinstance(p, URLResolver):
                if route.startswith(("admin/", "api/v1/")):
                    continue  # admin: test_admin/test_takeover; API: from the OpenAPI document
                walk(p.url_patterns, prefix + route)
            elif isinstance(p, URLPattern):
                out.append(prefix + route)

    walk(get_resolver().url_patterns, "")
    return sorted(set(out))


def api_operations() -> list[tuple[str, str]]:
    from zhangzhi.api.api import api

    schema = api.get_openapi_schema()
    return sorted((m.upper(), "api/v1" + path.removeprefix("/api/v1")) for path, ops in schema["paths"].items()
                  for m in ops)


PARAM_RE = re.compile(r"<(?:(\w+):)?(\w+)>|\{(\w+)\}")


def fill(route: str, objects: dict) -> str | None:
    """The route with its parameters filled from `objects`; None when it takes a regex route."""
    if route.startswith("^") or "(?P" in route:
        return None

    def value(m):
        name = m.group(2) or m.group(3)
        if name in FIXED:
            return str(FIXED[name])
        if name not in PARAMS:
            raise AssertionError(f"the persona matrix does not know the path parameter {name!r} of {route!r}: "
                                 f"map it to its model in PARAMS")
        kind, get = PARAMS[name]
        return str(get(objects[kind]))

    return "/" + PARAM_RE.sub(value, route)


def has_params(route: str) -> bool:
    return bool(PARAM_RE.search(route))


def is_public(route: str) -> bool:
    if route == "":
        return True
    return any(p and route.startswith(p) for p in PUBLIC)


def login(client, username):
    client.logout()
    assert client.login(username=username, password=PASSWORD)


def visible(kind, user, obj) -> bool:
    manager = type(obj).objects
    if kind == "token":  # not region-owned: its owner and the offices over the owner manage it
        return manager.managed_by(user).filter(pk=obj.pk).exists()
    return manager.visible_to(user).filter(pk=obj.pk).exists()


def test_the_matrix_covers_the_whole_url_conf_and_api(matrix):
    routes = url_patterns()
    ops = api_operations()
    assert len(routes) > 25 and len(ops) > 40
    for route in routes:
        fill(route, matrix.inside)  # fails on a parameter nobody mapped
    for _method, path in ops:
        fill(path, matrix.inside)


def test_anonymous_requests_reach_only_the_public_pages(matrix, client):
    problems = []
    for route in url_patterns():
        url = fill(route, matrix.inside)
        if url is None:
            continue
        r = client.get(url)
        if r.status_code >= 500:
            problems.append(f"GET {url}: {r.status_code}")
        elif r.status_code == 200 and not is_public(route):
            problems.append(f"GET {url}: 200 without a login")
    for method, path in api_operations():
        url = fill(path, matrix.inside)
        r = client.generic(method, url, "{}", content_type="application/json")
        if r.status_code >= 500:
            problems.append(f"{method} {url}: {r.status_code}")
        elif 200 <= r.status_code < 300 and not is_public(path.lstrip("/")):
            problems.append(f"{method} {url}: {r.status_code} without a login")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_persona_reaches_nothing_outside(matrix, client, persona):
    user = matrix.users[persona]
    login(client, persona)
    problems = []
    outside, inside = matrix.outside, matrix.inside
    sees_outside = {k for k, o in outside.items() if visible(k, user, o)}
    # the personas of 盂县 (and the member unit, which has no 平定县 case assigned) see nothing of 平定县
    reads_the_city = persona in ("city-office", "member-unit", "other-county-chief")  # 阳泉市 units, or 平定县
    if not reads_the_city:
        assert sees_outside == set(), f"{persona} sees {sees_outside} of 平定县"
    pages = [("GET", r) for r in url_patterns()] + api_operations()
    for method, route in pages:
        if not has_params(route):
            if method != "GET":
                continue  # writes without an id are covered by each app's own persona tests
            url = fill(route, inside)
            r = client.get(url)
            if r.status_code >= 500:
                problems.append(f"GET {url}: {r.status_code}")
            elif r.status_code == 200 and not reads_the_city \
                    and "csv" not in r.get("Content-Type", "") and "sheet" not in r.get("Content-Type", ""):
                body = r.content.decode("utf-8", "replace")
                leaked = [m for m in OUTSIDE_MARKERS if m in body]
                if leaked:
                    problems.append(f"GET {url}: shows {leaked} of 平定县")
            continue
        kinds = {PARAMS[m.group(2) or m.group(3)][0] for m in PARAM_RE.finditer(route)
                 if (m.group(2) or m.group(3)) in PARAMS}
        if is_public(route):
            continue  # public by tracking code or signboard: covered by the anonymous walk
        for side, objects in (("outside", outside), ("inside", inside)):
            url = fill(route, objects)
            if url is None:
                continue
            r = client.generic(method, url, "{}", content_type="application/json") if method != "GET" \
                else client.get(url)
            code = r.status_code
            if code >= 500:
                problems.append(f"{method} {url} ({side}): {code}")
                continue
            seen = all(visible(k, user, objects[k]) for k in kinds)
            if side == "outside" and not seen and 200 <= code < 300:
                problems.append(f"{method} {url}: {code} for an object outside the jurisdiction")
            if side == "outside" and not seen and code == 403 and method == "GET":
                problems.append(f"{method} {url}: 403 tells that an outside id exists (want 404)")
            if side == "inside" and seen and method == "GET" and code == 404:
                problems.append(f"{method} {url}: 404 for an object the persona sees in its lists")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_admin_opens_nothing_outside(matrix, client, persona):
    """Every admin of a region-owned model: an outside row's page is never shown, a row the persona
    may edit is; chiefs and handlers are not staff at all."""
    from django.contrib import admin

    from zhangzhi.org.jurisdiction import region_owned_models

    user = matrix.users[persona]
    login(client, persona)
    problems = []
    restricted = set(region_owned_models())
    for model, model_admin in admin.site._registry.items():
        if model not in restricted:
            continue
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        r = client.get(base)
        if not user.is_staff:
            if r.status_code != 302:
                problems.append(f"GET {base}: {r.status_code} for a user who is not staff")
            continue
        if r.status_code >= 500:
            problems.append(f"GET {base}: {r.status_code}")
        hidden = model.objects.exclude(pk__in=model.objects.visible_to(user).values("pk")).first()
        if hidden is not None:
            r = client.get(f"{base}{hidden.pk}/change/")
            if r.status_code == 200:
                problems.append(f"GET {base}{hidden.pk}/change/: 200 for a row outside the jurisdiction")
        mine = model.objects.editable_by(user).first()
        if mine is not None and model_admin.has_change_permission(_request(user), mine):
            r = client.get(f"{base}{mine.pk}/change/")
            if r.status_code != 200:
                problems.append(f"GET {base}{mine.pk}/change/: {r.status_code} for a row the persona edits")
    assert problems == [], "\n".join(problems)


def _request(user):
    from django.test import RequestFactory

    r = RequestFactory().get("/admin/")
    r.user = user
    return r
