"""Builds the Yangquan demo through the same actions users take (no rows written behind their back).

Regions come from the shared regions file and borders; villages are synthesised (illustrative).
Rivers are drawn from the scenario's waypoints, meandered, and cut into county reaches at the
real county borders, then into township and village reaches by length (township borders are not
in the shared data, so that cut is illustrative).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from shapely import ops
from shapely.geometry import LineString, MultiLineString, Point, mapping, shape

from zhangzhi.features import actions as fa
from zhangzhi.features import geo
from zhangzhi.org import actions as oa
from zhangzhi.org.checks import DEMO_USERNAMES
from zhangzhi.org.models import Region, Unit

from . import scenario as sc

DEMO_PASSWORD = "zhangzhi-demo"
# in order: cases first, since patrol findings and monitoring alerts open cases
DEMO_STEPS = ("cases", "patrols", "monitoring")
SINCE = dt.date(2024, 1, 1)
M_PER_DEG_LAT = 111_320.0


@dataclass
class Demo:
    """What the build made, for later steps (patrols, cases, monitoring) and the summary."""

    city: Region | None = None
    counties: dict[str, Region] = field(default_factory=dict)
    offices: dict[str, Unit] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    features: list = field(default_factory=list)
    people: dict[str, object] = field(default_factory=dict)
    posts: int = 0
    log: list[str] = field(default_factory=list)

    def say(self, msg: str) -> None:
        self.log.append(msg)


class Names:
    """Deterministic, unique-enough Chinese names for illustrative people."""

    def __init__(self, rng: random.Random):
        self.rng, self.used = rng, set()

    def __call__(self) -> str:
        for _ in range(50):
            name = self.rng.choice(sc.SURNAMES) + "".join(self.rng.sample(sc.GIVEN, self.rng.choice((1, 2))))
            if name not in self.used:
                break
        self.used.add(name)
        return name

    def phone(self) -> str:
        return f"139{self.rng.randrange(10**7, 10**8)}"


def meander(points: list[tuple[float, float]], rng: random.Random, step_m: float = 120.0,
            amplitude_m: float = 250.0) -> LineString:
    """Densify a polyline and give it river-like bends (sum of two sines, random phases)."""
    lat0 = math.radians(sum(p[1] for p in points) / len(points))
    kx, ky = M_PER_DEG_LAT * math.cos(lat0), M_PER_DEG_LAT
    xy = np.array([(p[0] * kx, p[1] * ky) for p in points])
    seg = np.diff(xy, axis=0)
    seglen = np.hypot(seg[:, 0], seg[:, 1])
    chain = np.concatenate([[0], np.cumsum(seglen)])
    s = np.arange(0, chain[-1], step_m)
    s = np.append(s, chain[-1])
    x, y = np.interp(s, chain, xy[:, 0]), np.interp(s, chain, xy[:, 1])
    # smooth direction for the offsets
    dx, dy = np.gradient(x), np.gradient(y)
    norm = np.hypot(dx, dy) + 1e-9
    nx, ny = -dy / norm, dx / norm
    p1, p2 = rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)
    taper = np.minimum(1.0, np.minimum(s, chain[-1] - s) / 1500.0)  # keep the ends on the waypoints
    off = amplitude_m * taper * (np.sin(s / 1900.0 + p1) + 0.45 * np.sin(s / 610.0 + p2))
    lon, lat = (x + nx * off) / kx, (y + ny * off) / ky
    return LineString(np.round(np.column_stack([lon, lat]), 6))


def split_by_length(line: LineString, parts: int) -> list[LineString]:
    total = line.length
    cuts = [total * i / parts for i in range(parts + 1)]
    return [ops.substring(line, cuts[i], cuts[i + 1]) for i in range(parts)]


def pieces_in(line: LineString, border) -> list[LineString]:
    """The parts of a river inside a border, longest first, dropping slivers under 300 m."""
    inter = line.intersection(border)
    if inter.is_empty:
        return []
    if isinstance(inter, LineString):
        parts = [inter]
    else:
        merged = ops.linemerge([g for g in getattr(inter, "geoms", [inter]) if isinstance(g, LineString)])
        parts = list(merged.geoms) if isinstance(merged, MultiLineString) else [merged]
    parts = [p for p in parts if geo.length_m(p) >= 300]
    return sorted(parts, key=lambda p: -p.length)


def feature(name, kind, level, geom, region, *, code, parent=None, start="", end=""):
    return {"type": "Feature", "geometry": mapping(geom),
            "properties": {"name": name, "kind": kind, "level": level, "code": code, "parent": parent,
                           "region": region.code, "start": start, "end": end, "illustrative": True}}


def load_regions(demo: Demo, rng: random.Random, names: Names) -> None:
    data = Path(settings.DATA_DIR)
    n = oa.load_regions_csv(data / "regions" / "shanxi.csv")
    b = oa.load_boundaries(data / "regions" / "boundaries" / "140000-cities.geojson")
    for path in sorted((data / "regions" / "boundaries").glob("14??00-counties.geojson")):
        b += oa.load_boundaries(path)
    demo.say(f"regions: {n} from shanxi.csv, {b} borders (GCJ-02 → WGS84)")
    demo.city = Region.objects.get(code=sc.CITY_CODE)
    demo.counties = {r.code: r for r in Region.objects.filter(parent=demo.city)}
    zone = oa.create_region(None, name="阳泉高新区", level="zone", parent=demo.city, illustrative=True,
                            center=(113.62, 37.89))
    demo.counties["zone"] = zone
    villages = 0
    for town in Region.objects.filter(parent__in=[r for k, r in demo.counties.items() if k != "zone"]):
        count = rng.randint(3, 5)
        for i, prefix in enumerate(rng.sample(sc.VILLAGE_PREFIX, count)):
            oa.create_region(None, name=f"{prefix}村", level="village", parent=town,
                             code=f"{town.code}{201 + i:03d}", illustrative=True)
            villages += 1
    demo.say(f"villages: {villages} synthesised (illustrative)")


def create_units(demo: Demo, names: Names) -> None:
    city = demo.city
    demo.offices[city.code] = oa.create_unit(None, name="阳泉市河长办", kind="office", region=city,
                                             phone="0353-2025110")
    for code, county in demo.counties.items():
        demo.offices[county.code or code] = oa.create_unit(
            None, name=f"{county.name}河长办", kind="office", region=county,
            phone=f"0353-{7000000 + len(demo.offices)}")
        if code != "zone":
            demo.units[f"police:{code}"] = oa.create_unit(None, name=f"{county.name}公安局", kind="police",
                                                          region=county)
            demo.units[f"procuratorate:{code}"] = oa.create_unit(None, name=f"{county.name}人民检察院",
                                                                 kind="procuratorate", region=county)
    for name in sc.MEMBER_UNITS:
        demo.units[name] = oa.create_unit(None, name=name, kind="department", region=city)
    demo.units["police:city"] = oa.create_unit(None, name="阳泉市公安局", kind="police", region=city)
    for town in Region.objects.filter(parent__in=demo.counties.values(), level="township"):
        demo.offices[town.code] = oa.create_unit(None, name=f"{town.name}河长办", kind="office", region=town)


def draw_waters(demo: Demo, rng: random.Random) -> None:
    """Rivers → county reaches → township reaches → village reaches, all in one all-or-nothing import."""
    counties = {c: r for c, r in demo.counties.items() if c != "zone"}
    borders = {c: shape(r.boundary) for c, r in counties.items()}
    towns = {c: list(Region.objects.filter(parent=r).order_by("code")) for c, r in counties.items()}
    villages = {t.pk: list(Region.objects.filter(parent=t).order_by("code")) for ts in towns.values() for t in ts}
    items, lines = [], {}

    def chain(parts, start, end):
        """起点/终点 of consecutive reaches: the river's ends or the borders between neighbours."""
        names = [region.name for region, _geom in parts]
        out = []
        for i, name in enumerate(names):
            s = start if i == 0 else f"{names[i - 1]}与{name}交界"
            e = end if i == len(names) - 1 else f"{name}与{names[i + 1]}交界"
            out.append((s, e))
        return out

    for name, code, pts, start, end in sc.RIVERS:
        river = meander(pts, rng)
        lines[code] = river
        items.append(feature(name, "river", "city", river, demo.city, code=code, start=start, end=end))
        county_parts = []
        for ccode, border in borders.items():
            for k, piece in enumerate(pieces_in(river, border)):
                county_parts.append((river.project(Point(piece.coords[0])), ccode, k, piece))
        county_parts.sort()  # upstream first
        ends = chain([(counties[c], p) for _, c, _, p in county_parts], start, end)
        for (_, ccode, k, piece), (c_start, c_end) in zip(county_parts, ends, strict=True):
            county = counties[ccode]
            rcode = f"{code}-{ccode[-2:]}" + (f"-{k + 1}" if k else "")
            suffix = "段" if not k else f"段（{k + 1}）"
            items.append(feature(f"{name}{county.name}{suffix}", "reach", "county", piece, county, code=rcode,
                                 parent=code, start=c_start, end=c_end))
            n_towns = max(1, min(len(towns[ccode]), round(geo.length_m(piece) / 7000)))
            chosen = sorted(rng.sample(towns[ccode], n_towns), key=lambda t: t.code)
            t_parts = list(zip(chosen, split_by_length(piece, n_towns), strict=True))
            for t_i, ((town, tpiece), (t_start, t_end)) in enumerate(
                    zip(t_parts, chain(t_parts, c_start, c_end), strict=True)):
                tcode = f"{rcode}-{t_i + 1:02d}"
                items.append(feature(f"{name}{town.name}段", "reach", "township", tpiece, town, code=tcode,
                                     parent=rcode, start=t_start, end=t_end))
                vs = villages[town.pk]
                n_v = max(1, min(len(vs), round(geo.length_m(tpiece) / 2500)))
                v_parts = list(zip(vs[:n_v], split_by_length(tpiece, n_v), strict=True))
                for v_i, ((village, vpiece), (v_start, v_end)) in enumerate(
                        zip(v_parts, chain(v_parts, t_start, t_end), strict=True)):
                    items.append(feature(f"{name}{village.name}段", "reach", "village", vpiece, village,
                                         code=f"{tcode}-{v_i + 1:02d}", parent=tcode, start=v_start, end=v_end))
    for wname, kind, on, at, size, ccode in sc.WATERS:
        river = lines[on]
        c = river.interpolate(at, normalized=True)
        if size is None:
            geom = Point(c.x, c.y)
        else:
            a_km, b_km = size
            kx = M_PER_DEG_LAT * math.cos(math.radians(c.y))
            t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
            geom = shape({"type": "Polygon", "coordinates": [[
                (round(c.x + a_km * 500 * math.cos(v) / kx, 6),
                 round(c.y + b_km * 500 * math.sin(v) / M_PER_DEG_LAT, 6))
                for v in [*t, t[0]]]]})
        items.append(feature(wname, kind, "county", geom, counties[ccode], code=f"W-{wname}"))
    created = fa.import_features(None, {"type": "FeatureCollection", "features": items})
    demo.features = created
    by_level = {}
    for f in created:
        by_level[f.level, f.kind.code] = by_level.get((f.level, f.kind.code), 0) + 1
    demo.say("features: " + ", ".join(f"{n} {lvl} {k}" for (lvl, k), n in sorted(by_level.items())))


def staff_people(demo: Demo, names: Names) -> None:
    def staff(username, name, unit, title):
        demo.people[username] = oa.create_person(None, name=name, phone=names.phone(), title=title, units=[unit],
                                                 username=username, password=DEMO_PASSWORD, illustrative=True)

    staff("city-office", names(), demo.offices[sc.CITY_CODE], "阳泉市河长办科员")
    staff("county-office", names(), demo.offices["140322"], "盂县河长办科员")
    staff("member-unit", names(), demo.units["阳泉市生态环境局"], "阳泉市生态环境局水生态环境科")
    for code, office in demo.offices.items():
        if code not in (sc.CITY_CODE, "140322") and office.region.level in ("county", "zone"):
            oa.create_person(None, name=names(), phone=names.phone(), title=f"{office.name}科员",
                             units=[office], illustrative=True)


def appoint_chiefs(demo: Demo, names: Names, rng: random.Random) -> None:
    """A chief at every level for every reach; 总河长 per region; 河警长 and 检察长 per county; civic chiefs."""
    leaders: dict[tuple[int, int], object] = {}

    def leader(region: Region, rank_i: int):
        """The same official (书记, 长, 副职 k) of a region chairs several rivers, as in reality."""
        key = (region.pk, rank_i)
        if key not in leaders:
            titles = sc.TITLES.get(region.chief_level, sc.TITLES["township"])
            title = titles[min(rank_i, 2)]
            if region.level == "township" and region.name.endswith(("乡", "街道")):
                title = title.replace("镇长", "乡长" if region.name.endswith("乡") else "街道办主任")
            leaders[key] = oa.create_person(None, name=names(), phone=names.phone(), title=f"{region.name}{title}",
                                            illustrative=True)
        return leaders[key]

    count = 0
    # 总河长 and 副总河长 of the city, counties and townships
    regions = [demo.city, *demo.counties.values()]
    regions += list(Region.objects.filter(parent__in=demo.counties.values(), level="township"))
    for region in regions:
        oa.appoint(None, person=leader(region, 0), role="general-river-chief", level=region.chief_level,
                   region=region, valid_from=SINCE)
        oa.appoint(None, person=leader(region, 1), role="deputy-general-river-chief", level=region.chief_level,
                   region=region, valid_from=SINCE)
        count += 2
    # 河警长 and 检察长 liaison per county
    for code, county in demo.counties.items():
        if code == "zone":
            continue
        police = oa.create_person(None, name=names(), phone=names.phone(), title=f"{county.name}公安局副局长",
                                  units=[demo.units[f"police:{code}"]], illustrative=True)
        oa.appoint(None, person=police, role="river-police-chief", level="county", region=county, valid_from=SINCE)
        proc = oa.create_person(None, name=names(), phone=names.phone(), title=f"{county.name}人民检察院副检察长",
                                units=[demo.units[f"procuratorate:{code}"]], illustrative=True)
        oa.appoint(None, person=proc, role="procurator-liaison", level="county", region=county, valid_from=SINCE)
        count += 2
    # chiefs of rivers and reaches: city rivers by the city's leaders, reaches by the region's
    city_rivers = [f for f in demo.features if f.kind.code == "river"]
    for i, river in enumerate(city_rivers):
        oa.appoint(None, person=leader(demo.city, 2 + i), role="river-chief", level="city", feature=river,
                   valid_from=SINCE)
        count += 1
    reaches = [f for f in demo.features if f.kind.code == "reach"]
    village_reach_i = 0
    for reach in reaches:
        region = reach.region
        if reach.level == "village":
            village_reach_i += 1
            chief = leader(region, 0)
            if village_reach_i % 23 == 0:
                # a chief replaced mid-2025: the ended post stays for the roster of past dates
                post = oa.appoint(None, person=leader(region, 1), role="river-chief", level="village",
                                  feature=reach, valid_from=SINCE)
                oa.end_post(None, post, valid_to=dt.date(2025, 6, 30))
                oa.appoint(None, person=chief, role="river-chief", level="village", feature=reach,
                           valid_from=dt.date(2025, 7, 1))
                count += 2
                continue
        else:
            chief = leader(region, rng.choice((0, 1, 2)))
        oa.appoint(None, person=chief, role="river-chief", level=reach.level, feature=reach, valid_from=SINCE)
        count += 1
        if reach.level in ("county", "township"):
            oa.appoint(None, person=leader(region, 2), role="deputy-river-chief", level=reach.level, feature=reach,
                       valid_from=SINCE)
            count += 1
    for water in (f for f in demo.features if f.kind.code in ("reservoir", "lake", "spring")):
        oa.appoint(None, person=leader(water.region, 1), role="river-chief", level="county", feature=water,
                   valid_from=SINCE)
        count += 1
    # about 300 民间河长 and 巡河员 on township and village reaches
    fine = [r for r in reaches if r.level in ("township", "village")]
    for i in range(300):
        reach = fine[i % len(fine)] if i < len(fine) else rng.choice(fine)
        role = "civic-river-chief" if i % 3 else "river-patroller"
        p = oa.create_person(None, name=names(), phone=names.phone(),
                             title="民间河长" if role == "civic-river-chief" else "巡河员", illustrative=True)
        oa.appoint(None, person=p, role=role, level=reach.level, feature=reach, valid_from=SINCE)
        count += 1
    demo.posts = count
    demo.say(f"posts: {count} ({len(leaders)} officials as chiefs, 300 civic chiefs and patrollers)")


def demo_logins(demo: Demo) -> None:
    """Give the named demo personas a login, through the same action users get."""
    from django.contrib.auth import get_user_model

    from zhangzhi.org.models import Post

    def login_for(username: str, post_filter: dict) -> None:
        post = (Post.objects.current().filter(**post_filter).select_related("person")
                .order_by("feature__code", "pk").first())
        person = post.person
        user = get_user_model().objects.create_user(username=username, password=DEMO_PASSWORD)
        person.user = user
        person.save(update_fields=["user"])
        oa.log_change(None, "grant_login", person, {"username": username})
        demo.people[username] = person

    login_for("township-chief", {"role__code": "river-chief", "level": "township",
                                 "region__parent__code": "140322"})
    login_for("village-chief", {"role__code": "river-chief", "level": "village",
                                "region__parent__parent__code": "140322"})
    login_for("other-county-chief", {"role__code": "river-chief", "level": "township",
                                     "region__parent__code": "140321"})
    login_for("volunteer", {"role__code": "civic-river-chief", "region__path__startswith":
                            demo.counties["140322"].path})
    # 三员分立: the system, security and audit administrators, one account each
    for username, name, title, role in (
            ("sys-admin", "系统管理员（演示）", "维护参考数据：职务、对象类型、事件类别、巡河规则", "system"),
            ("sec-admin", "安全管理员（演示）", "管理账号、权限、登录锁定与 API 令牌", "security"),
            ("audit-admin", "审计管理员（演示）", "查阅与导出审计日志", "audit")):
        # the audit administrator reads the city's log: a unit that is no office gives reading, not writing
        units = [oa.create_unit(None, name="阳泉市委网信办", kind="other", region=demo.city)] if role == "audit" else []
        person = oa.create_person(None, name=name, title=title, units=units, username=username,
                                  password=DEMO_PASSWORD, illustrative=True)
        oa.assign_admin_role(None, person.user, role)
        demo.people[username] = person
    missing = set(DEMO_USERNAMES) - set(demo.people)
    assert not missing, f"demo personas not created: {missing}"


def build(seed: int = 20261122) -> Demo:
    """The foundation in one transaction, then each capability's step (each manages its own)."""
    rng = random.Random(seed)
    demo = Demo()
    build_foundation(demo, rng)
    # each capability adds its part of the scenario: zhangzhi.demo.<step>.build(demo, rng)
    import importlib

    for step in DEMO_STEPS:
        importlib.import_module(f"zhangzhi.demo.{step}").build(demo, rng)
    return demo


@transaction.atomic
def build_foundation(demo: Demo, rng: random.Random) -> None:
    """Regions, units, waters, people and posts: all or nothing."""
    names = Names(rng)
    load_regions(demo, rng, names)
    create_units(demo, names)
    draw_waters(demo, rng)
    staff_people(demo, names)
    appoint_chiefs(demo, names, rng)
    demo_logins(demo)
