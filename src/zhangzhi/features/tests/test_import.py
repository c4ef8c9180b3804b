"""GeoJSON import and export of managed objects: all or nothing, one error per bad feature."""

import json

import pytest
from django.core.management import CommandError, call_command

from zhangzhi.features.models import Feature

pytestmark = pytest.mark.django_db

# inside 盂县 and inside 平定县 (WGS84, after the borders' GCJ-02 → WGS84 conversion)
YU_LINE = {"type": "LineString", "coordinates": [[113.32, 38.06], [113.38, 38.075], [113.45, 38.09]]}
PD_LINE = {"type": "LineString", "coordinates": [[113.55, 37.85], [113.60, 37.80]]}
YU_LAKE = {"type": "Polygon", "coordinates": [[[113.40, 38.00], [113.42, 38.00], [113.42, 38.02],
                                               [113.40, 38.02], [113.40, 38.00]]]}


def feature(geometry=YU_LINE, **props):
    return {"type": "Feature", "geometry": geometry, "properties": props}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def a_valid_file():
    """A county river cut into a township and a village reach, a reach of a stored river, a lake."""
    return collection(
        feature(name="新河", kind="river", level="county", code="N1", region="140322"),
        feature(name="新河秀水镇段", kind="reach", level="township", code="N1-1", parent="N1", region="140322100"),
        feature(name="新河示例村段", kind="reach", level="village", code="N1-1-1", parent="N1-1",
                region="140322100201", geometry={"type": "LineString",
                                                 "coordinates": [[113.32, 38.06], [113.38, 38.075]]}),
        feature(name="测试河秀水镇二段", kind="reach", level="township", code="R1-YU-2", parent="R1-YU",
                region="140322100"),
        feature(YU_LAKE, name="新湖", kind="lake", level="county", code="L1", region="140322"),
    )


def test_it_imports_a_river_with_reaches_whose_parents_are_in_the_file_or_stored(world, api):
    r = api("county-office").post("/features/import", a_valid_file())
    assert r.status_code == 201, r.content
    assert r.json()["imported"] == 5
    got = {f.code: f for f in Feature.objects.filter(code__in=["N1", "N1-1", "N1-1-1", "R1-YU-2", "L1"])
           .select_related("parent", "region")}
    assert got["N1"].parent is None
    assert got["N1-1"].parent == got["N1"]
    assert got["N1-1-1"].parent == got["N1-1"]
    assert got["R1-YU-2"].parent == world.county_reach
    assert got["N1-1-1"].region == world.village
    assert got["N1"].length_m > 10_000 and got["N1"].area_m2 is None
    assert got["L1"].area_m2 > 3_000_000 and got["L1"].length_m is None
    assert (got["N1"].min_lon, got["N1"].max_lat) == (113.32, 38.09)
    assert sorted(r.json()["ids"]) == sorted(f.pk for f in got.values())


def test_it_takes_the_region_of_the_parent_when_none_is_given(world, api):
    r = api("county-office").post("/features/import", collection(
        feature(name="无区段", kind="reach", level="county", code="R1-YU-X", parent="R1-YU")))
    assert r.status_code == 201, r.content
    assert Feature.objects.get(code="R1-YU-X").region == world.yu


def test_it_takes_parent_code_as_another_name_for_parent(world, api):
    r = api("county-office").post("/features/import", collection(
        feature(name="别名段", kind="reach", level="township", code="R1-YU-3", parent_code="R1-YU",
                region="140322100")))
    assert r.status_code == 201, r.content
    assert Feature.objects.get(code="R1-YU-3").parent == world.county_reach


def test_it_exports_the_format_it_imports(world, api):
    office = api("county-office")
    assert office.post("/features/import", a_valid_file()).status_code == 201
    exported = office.get("/features/export", region="140322", kind="river,reach,lake")
    assert exported.status_code == 200
    body = exported.json()
    assert body["type"] == "FeatureCollection"
    by_code = {f["properties"]["code"]: f for f in body["features"]}
    assert {"N1", "N1-1", "N1-1-1", "R1-YU-2", "L1", "R1-YU", "R1-YU-1", "R1-YU-1-1"} <= set(by_code)
    assert "R1-PD" not in by_code  # 平定县 is neither asked for nor visible
    n11 = by_code["N1-1"]
    assert n11["properties"]["parent"] == "N1"
    assert n11["properties"]["region"] == "140322100"
    assert n11["properties"]["kind"] == "reach" and n11["properties"]["level"] == "township"
    assert n11["geometry"] == YU_LINE
    assert n11["id"] == Feature.objects.get(code="N1-1").pk

    # the export imports again once its codes (and the parents' codes with them) are made new
    mine = [f for f in body["features"] if f["properties"]["code"].startswith("N1")]
    for f in mine:
        p = f["properties"]
        p["code"] = "COPY-" + p["code"]
        if p["parent"]:
            p["parent"] = "COPY-" + p["parent"]
    again = office.post("/features/import", collection(*mine))
    assert again.status_code == 201, again.content
    copy = Feature.objects.select_related("parent").get(code="COPY-N1-1-1")
    assert copy.parent.code == "COPY-N1-1"
    assert copy.parent.parent.code == "COPY-N1"
    assert copy.length_m == pytest.approx(Feature.objects.get(code="N1-1-1").length_m)


def test_it_refuses_reimporting_an_export_unchanged(world, api):
    office = api("county-office")
    body = office.get("/features/export", region="140322100").json()
    before = Feature.objects.count()
    r = office.post("/features/import", body)
    assert r.status_code == 422
    fields = r.json()["error"]["fields"]
    assert len(fields) == len(body["features"])
    assert all(key.endswith(".properties.code") for key in fields)
    assert Feature.objects.count() == before


BROKEN = [
    # (feature, the field its error is keyed by, a word the message must contain)
    (feature({"type": "Polygon", "coordinates": [[[113.40, 38.00], [113.42, 38.02], [113.42, 38.00],
                                                  [113.40, 38.02], [113.40, 38.00]]]},
             name="蝴蝶湖", kind="lake", level="county", code="B0", region="140322"),
     "geometry", "Self-intersection"),
    (feature({"type": "LineString", "coordinates": [[113.32, 38.06]]},
             name="一点河", kind="river", level="county", code="B1", region="140322"),
     "geometry", "two points"),
    (feature({"type": "LineString", "coordinates": [["东", "北"], [113.38, 38.075]]},
             name="文字河", kind="river", level="county", code="B2", region="140322"),
     "geometry", "coordinates"),
    (feature({"type": "LineString", "coordinates": [["113.32", "38.06"], ["113.38", "38.075"]]},
             name="引号河", kind="river", level="county", code="B2b", region="140322"),
     "geometry", "number"),
    (feature({"type": "LineString", "coordinates": [[113.32, 38.06], [float("nan"), 38.075]]},
             name="空值河", kind="river", level="county", code="B2c", region="140322"),
     "geometry", "number"),
    (feature(name="怪河", kind="volcano", level="county", code="B3", region="140322"),
     "properties.kind", "volcano"),
    (feature(name="无级河", kind="river", level="galaxy", code="B4", region="140322"),
     "properties.level", "galaxy"),
    (feature(PD_LINE, name="越界段", kind="reach", level="county", code="B5", parent="R1-YU", region="140321"),
     "properties.region", "平定县"),
    (feature({"type": "LineString", "coordinates": [[38.06, 113.32], [38.075, 113.38]]},
             name="颠倒河", kind="river", level="county", code="B6", region="140322"),
     "geometry", "outside China"),
    (feature(name="重复河", kind="river", level="county", code="R1", region="140322"),
     "properties.code", "R1"),
    (feature(name="孤儿段", kind="reach", level="township", code="B8", parent="NOPE", region="140322100"),
     "properties.parent", "NOPE"),
    (feature(name="无父段", kind="reach", level="township", code="B9", region="140322100"),
     "properties.parent", "parent"),
]


@pytest.mark.parametrize(("bad", "field", "word"), BROKEN, ids=[b[0]["properties"]["name"] for b in BROKEN])
def test_it_names_the_bad_feature_and_imports_nothing(world, api, bad, field, word):
    before = Feature.objects.count()
    good = a_valid_file()["features"]
    r = api("city-office").post("/features/import", collection(*good[:3], bad, *good[3:]))
    assert r.status_code == 422, r.content
    error = r.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {f"features[3].{field}"}
    assert word in error["fields"][f"features[3].{field}"]
    assert "features[3]" in error["message"] and "nothing was imported" in error["message"]
    assert Feature.objects.count() == before


def test_it_gives_each_bad_feature_its_own_error(world, api):
    before = Feature.objects.count()
    r = api("city-office").post("/features/import", collection(*(b[0] for b in BROKEN)))
    assert r.status_code == 422
    fields = r.json()["error"]["fields"]
    assert fields.keys() == {f"features[{i}].{b[1]}" for i, b in enumerate(BROKEN)}
    assert Feature.objects.count() == before


def test_it_refuses_duplicate_codes_within_the_file(world, api):
    before = Feature.objects.count()
    r = api("county-office").post("/features/import", collection(
        feature(name="甲河", kind="river", level="county", code="D1", region="140322"),
        feature(name="乙河", kind="river", level="county", code="D1", region="140322")))
    assert r.status_code == 422
    assert list(r.json()["error"]["fields"]) == ["features[1].properties.code"]
    assert Feature.objects.count() == before


def test_it_refuses_a_reach_whose_geometry_lies_in_another_county(world, api):
    # no region given: the reach takes 盂县 from its parent, but its line lies in 平定县
    r = api("city-office").post("/features/import", collection(
        feature(PD_LINE, name="错位段", kind="reach", level="county", code="X1", parent="R1-YU")))
    assert r.status_code == 422
    assert "盂县" in r.json()["error"]["fields"]["features[0].geometry"]


def test_it_refuses_a_parent_defined_later_in_the_file(world, api):
    r = api("county-office").post("/features/import", collection(
        feature(name="早段", kind="reach", level="township", code="E1-1", parent="E1", region="140322100"),
        feature(name="晚河", kind="river", level="county", code="E1", region="140322")))
    assert r.status_code == 422
    assert list(r.json()["error"]["fields"]) == ["features[0].properties.parent"]


@pytest.mark.parametrize("body", [
    {"type": "Feature", "geometry": YU_LINE, "properties": {}},
    {"type": "FeatureCollection", "features": []},
    {"type": "FeatureCollection", "features": ["river"]},
    {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": YU_LINE, "properties": "新河"}]},
    {"type": "FeatureCollection", "features": [feature(name="列表河", kind=["river"], level="county",
                                                       parent=["R1"], region="140322")]},
])
def test_it_refuses_what_is_not_a_collection_of_features(world, api, body):
    before = Feature.objects.count()
    r = api("city-office").post("/features/import", body)
    assert r.status_code == 422, r.content
    assert r.json()["error"]["fields"]
    assert Feature.objects.count() == before


def test_it_lets_a_county_office_import_within_its_county_only(world, api):
    office = api("county-office")
    before = Feature.objects.count()
    r = office.post("/features/import", collection(
        feature(name="盂县河", kind="river", level="county", code="C1", region="140322"),
        feature(PD_LINE, name="平定河", kind="river", level="county", code="C2", region="140321"),
        feature(PD_LINE, name="测试河平定二段", kind="reach", level="county", code="C3", parent="R1-PD")))
    assert r.status_code == 422
    fields = r.json()["error"]["fields"]
    assert set(fields) == {"features[1].properties.region", "features[2].properties.region"}
    assert all("平定县" in v and "jurisdiction" in v for v in fields.values())
    assert Feature.objects.count() == before


@pytest.mark.parametrize("persona", ["township-chief", "village-chief", "member-unit", "volunteer"])
def test_it_refuses_imports_by_anyone_but_an_office(world, api, persona):
    before = Feature.objects.count()
    r = api(persona).post("/features/import", collection(
        feature(name="镇里河", kind="reach", level="township", code="T1", parent="R1-YU-1")))
    assert r.status_code in (403, 422)
    assert "jurisdiction" in json.dumps(r.json()["error"], ensure_ascii=False)
    assert Feature.objects.count() == before


def test_it_requires_login_to_import_or_export(world, api):
    assert api().post("/features/import", a_valid_file()).status_code == 401
    assert api().get("/features/export").status_code == 401


# -- the command line ----------------------------------------------------------------------------


def write(tmp_path, body, name="in.geojson"):
    path = tmp_path / name
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return path


def test_it_imports_from_the_command_line(world, tmp_path, capsys):
    call_command("import_features", str(write(tmp_path, a_valid_file())), "--as", "county-office")
    assert "5" in capsys.readouterr().out
    assert Feature.objects.get(code="N1-1-1").parent.code == "N1-1"


def test_it_prints_each_bad_feature_and_imports_nothing_from_the_command_line(world, tmp_path, capsys):
    before = Feature.objects.count()
    volcano = next(b[0] for b in BROKEN if b[1] == "properties.kind")
    body = collection(*a_valid_file()["features"], BROKEN[0][0], volcano)
    with pytest.raises(CommandError) as exc:
        call_command("import_features", str(write(tmp_path, body)), "--as", "city-office")
    err = capsys.readouterr().err
    assert "features[5].geometry" in err and "Self-intersection" in err
    assert "features[6].properties.kind" in err and "volcano" in err
    assert "nothing was imported" in str(exc.value)
    assert Feature.objects.count() == before


def test_it_keeps_the_jurisdiction_of_the_user_named_on_the_command_line(world, tmp_path, capsys):
    body = collection(feature(PD_LINE, name="平定河", kind="river", level="county", code="C2", region="140321"))
    with pytest.raises(CommandError):
        call_command("import_features", str(write(tmp_path, body)), "--as", "county-office")
    assert "jurisdiction" in capsys.readouterr().err
    assert not Feature.objects.filter(code="C2").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--as", "nobody"], "nobody"),
    (["missing.geojson", "--as", "county-office"], "missing.geojson"),
])
def test_it_explains_a_wrong_user_or_file(world, tmp_path, args, message):
    if args[0] == "--as":
        args = [str(write(tmp_path, a_valid_file())), *args]
    with pytest.raises(CommandError, match=message):
        call_command("import_features", *args)


def test_it_explains_a_file_that_is_not_json(world, tmp_path):
    path = tmp_path / "bad.geojson"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="JSON"):
        call_command("import_features", str(path), "--as", "county-office")


def test_it_exports_from_the_command_line(world, tmp_path, capsys):
    call_command("export_features", "--region", "140322", "--kind", "river,reach")
    body = json.loads(capsys.readouterr().out)
    codes = {f["properties"]["code"] for f in body["features"]}
    assert codes == {"R1-YU", "R1-YU-1", "R1-YU-1-1"}  # the city river lies in 阳泉市, above 盂县

    call_command("export_features", "--region", "140300", "--kind", "river")
    body = json.loads(capsys.readouterr().out)
    assert [f["properties"]["code"] for f in body["features"]] == ["R1"]

    with pytest.raises(CommandError, match="999999"):
        call_command("export_features", "--region", "999999")


def test_it_round_trips_through_the_command_line(world, tmp_path, capsys):
    call_command("export_features", "--region", "140322100")
    body = json.loads(capsys.readouterr().out)
    for f in body["features"]:
        f["properties"]["code"] += "-B"
        if f["properties"]["parent"] != "R1-YU":
            f["properties"]["parent"] += "-B"
    call_command("import_features", str(write(tmp_path, body)), "--as", "county-office")
    assert Feature.objects.get(code="R1-YU-1-1-B").parent.code == "R1-YU-1-B"
    assert Feature.objects.get(code="R1-YU-1-B").parent == world.county_reach
