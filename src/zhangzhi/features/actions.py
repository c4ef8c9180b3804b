"""Writes for managed objects: create, update, import a GeoJSON FeatureCollection, export it back.

Import is all-or-nothing: every feature is checked first and each bad one gets its own error
keyed by its position ("features[3].properties.kind"); only when all are valid is anything saved,
in one transaction.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from zhangzhi.lib.errors import Forbidden, InvalidInput
from zhangzhi.org import audit, levels, scope
from zhangzhi.org.actions import log_change
from zhangzhi.org.models import Region

from . import geo
from .models import Feature, FeatureKind

MAX_IMPORT = 20_000


def _apply_geometry(feature: Feature, geom) -> None:
    feature.geometry = geo.to_geojson(geom)
    feature.min_lon, feature.min_lat, feature.max_lon, feature.max_lat = (round(v, 7) for v in geom.bounds)
    feature.length_m, feature.area_m2 = geo.measures(geom)


def _region_touches(region: Region, geom) -> bool:
    """Whether a geometry lies (at least partly) in a region with a known border.

    Borders are simplified and demo data is illustrative, so a 1 km tolerance is allowed.
    """
    if not region.boundary:
        return True
    from shapely.geometry import shape

    border = shape(region.boundary)
    return border.buffer(0.01).intersects(geom)


def _check_one(actor, props: dict[str, Any], geometry: Any, *, kinds: dict[str, FeatureKind],
               regions: dict[str, Region], parents: dict[str, Feature | dict], where: str):
    """Validate one feature; return (errors, cleaned values)."""
    errors: dict[str, str] = {}
    p = f"{where}.properties"
    name = (props.get("name") or "").strip() if isinstance(props.get("name"), str) else ""
    if not name:
        errors[f"{p}.name"] = "required"
    kind = kinds.get(props.get("kind")) if isinstance(props.get("kind"), str) else None
    if kind is None:
        errors[f"{p}.kind"] = f"unknown kind {props.get('kind')!r}; one of {', '.join(sorted(kinds))}"
    level = props.get("level")
    if level not in levels.CHIEF_LEVELS:
        errors[f"{p}.level"] = f"unknown level {level!r}; one of {', '.join(levels.CHIEF_LEVELS)}"
    code = props.get("code") or None
    if code is not None and not isinstance(code, str):
        errors[f"{p}.code"] = "must be a string"
        code = None
    parent = None
    parent_code = props.get("parent") or props.get("parent_code") or None
    if parent_code:
        parent = parents.get(parent_code) if isinstance(parent_code, str) else None
        if parent is None:
            errors[f"{p}.parent"] = f"no feature with code {parent_code!r} (in the database or earlier in the file)"
    region = None
    region_code = props.get("region") or None
    if region_code:
        region = regions.get(str(region_code))
        if region is None:
            errors[f"{p}.region"] = f"unknown region code {region_code!r}"
    elif isinstance(parent, Feature):
        region = parent.region
    elif isinstance(parent, dict):
        region = parent["region"]
    else:
        errors[f"{p}.region"] = "required for a feature without a parent"
    geom = None
    try:
        geom = geo.parse(geometry, kind.geometry if kind else None)
    except geo.GeometryError as exc:
        errors[f"{where}.geometry"] = str(exc)
    if region is not None and parent is not None:
        parent_region = parent.region if isinstance(parent, Feature) else parent["region"]
        if parent_region is not None and not parent_region.contains(region):
            errors[f"{p}.region"] = (
                f"{region.name} is outside the parent's region {parent_region.name}: "
                "a reach must lie within its river's region"
            )
    if region is not None and geom is not None and not _region_touches(region, geom):
        errors[f"{where}.geometry"] = f"lies outside the border of {region.name}"
    if region is not None and actor is not None and not scope.can_write(actor, region):
        errors[f"{p}.region"] = f"{region.name} is outside your jurisdiction"
    if kind is not None and kind.is_part and parent is None and f"{p}.parent" not in errors:
        errors[f"{p}.parent"] = f"a {kind.name} needs a parent feature"
    cleaned = {"name": name, "kind": kind, "level": level, "code": code, "parent": parent, "region": region,
               "parent_code": parent_code,
               "geom": geom, "start_name": str(props.get("start") or ""), "end_name": str(props.get("end") or ""),
               "description": str(props.get("description") or ""), "illustrative": bool(props.get("illustrative"))}
    return errors, cleaned


def import_features(actor, collection: Any) -> list[Feature]:
    """Import a GeoJSON FeatureCollection; properties: name, kind, level, code, parent, region.

    Parents may be features already stored or features earlier in the same file (by code).
    Raises InvalidInput with one entry per bad feature; nothing is saved unless all are valid.
    """
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise InvalidInput("expected a GeoJSON FeatureCollection", {"type": "must be FeatureCollection"})
    items = collection.get("features")
    if not isinstance(items, list) or not items:
        raise InvalidInput("the FeatureCollection has no features", {"features": "empty"})
    if len(items) > MAX_IMPORT:
        raise InvalidInput(f"at most {MAX_IMPORT} features per import", {"features": "too many"})
    kinds = {k.code: k for k in FeatureKind.objects.all()}
    regions = {r.code: r for r in Region.objects.filter(code__isnull=False)}
    props_all = [f.get("properties") for f in items if isinstance(f, dict)]
    props_all = [p for p in props_all if isinstance(p, dict)]
    codes_wanted = {p.get("code") for p in props_all if isinstance(p.get("code"), str)}
    parent_codes = {p.get(k) for p in props_all for k in ("parent", "parent_code") if isinstance(p.get(k), str)}
    parents: dict[str, Feature | dict] = {
        f.code: f for f in Feature.objects.select_related("region").filter(code__in=parent_codes)
    }
    taken = set(Feature.objects.filter(code__in=codes_wanted).values_list("code", flat=True))
    errors: dict[str, str] = {}
    cleaned_all = []
    seen_codes: set[str] = set()
    for i, item in enumerate(items):
        where = f"features[{i}]"
        if not isinstance(item, dict) or item.get("type") != "Feature":
            errors[where] = "not a GeoJSON Feature"
            continue
        props = item.get("properties") or {}
        if not isinstance(props, dict):
            errors[f"{where}.properties"] = "must be an object"
            continue
        errs, cleaned = _check_one(actor, props, item.get("geometry"), kinds=kinds, regions=regions,
                                   parents=parents, where=where)
        code = cleaned["code"]
        if code and (code in taken or code in seen_codes):
            errs[f"{where}.properties.code"] = f"code {code!r} already exists"
        if code:
            seen_codes.add(code)
            parents.setdefault(code, {"region": cleaned["region"]})
        errors.update(errs)
        cleaned_all.append(cleaned)
    if errors:
        first = next(iter(errors))
        raise InvalidInput(f"{len(errors)} problem(s) in the import, the first at {first}: {errors[first]}; "
                           "nothing was imported", errors)
    return _save_all(actor, cleaned_all)


@transaction.atomic
def _save_all(actor, cleaned_all: list[dict]) -> list[Feature]:
    out: list[Feature] = []
    by_code: dict[str, Feature] = {}
    for c in cleaned_all:
        stored_parent = c["parent"] if isinstance(c["parent"], Feature) else None
        f = Feature(kind=c["kind"], name=c["name"], code=c["code"], level=c["level"], region=c["region"],
                    parent=stored_parent, start_name=c["start_name"], end_name=c["end_name"],
                    description=c["description"], illustrative=c["illustrative"])
        _apply_geometry(f, c["geom"])
        out.append(f)
        if c["code"]:
            by_code[c["code"]] = f
    Feature.objects.bulk_create(out, batch_size=500)
    # parents defined earlier in the same file are linked once their rows have ids
    relink = []
    for f, c in zip(out, cleaned_all, strict=True):
        if isinstance(c["parent"], dict):
            f.parent = by_code[c["parent_code"]]
            relink.append(f)
    if relink:
        Feature.objects.bulk_update(relink, ["parent"], batch_size=500)
    for f in out:
        log_change(actor, "import", f, {"name": f.name, "code": f.code})
    return out


@transaction.atomic
def create_feature(actor, *, name: str, kind: str, level: str, geometry: dict, region: Region | None = None,
                   parent: Feature | None = None, code: str | None = None, start_name: str = "",
                   end_name: str = "", description: str = "", illustrative: bool = False) -> Feature:
    props = {"name": name, "kind": kind, "level": level, "code": code, "parent": parent.code if parent else None,
             "region": region.code if region else None, "start": start_name, "end": end_name,
             "description": description, "illustrative": illustrative}
    kinds = {k.code: k for k in FeatureKind.objects.all()}
    regions = {region.code: region} if region and region.code else {}
    parents = {parent.code: parent} if parent and parent.code else {}
    if region is not None and not region.code:  # functional zones have no code
        props["region"] = f"#{region.pk}"
        regions[props["region"]] = region
    if parent is not None and not parent.code:
        props["parent"] = f"#{parent.pk}"
        parents[props["parent"]] = parent
    errors, c = _check_one(actor, props, geometry, kinds=kinds, regions=regions, parents=parents, where="feature")
    if code and Feature.objects.filter(code=code).exists():
        errors["feature.properties.code"] = f"code {code!r} already exists"
    if errors:
        first = next(iter(errors))
        if len(errors) == 1 and "jurisdiction" in errors[first]:
            raise Forbidden(errors[first], errors)
        raise InvalidInput(f"{first}: {errors[first]}", errors)
    f = Feature(kind=c["kind"], name=c["name"], code=c["code"], level=c["level"], region=c["region"],
                parent=parent, start_name=start_name, end_name=end_name, description=description,
                illustrative=illustrative)
    _apply_geometry(f, c["geom"])
    f.save()
    log_change(actor, "create", f, {"name": name, "kind": kind, "code": code})
    return f


@transaction.atomic
def update_feature(actor, feature: Feature, **changes) -> Feature:
    scope_ok = scope.can_write(actor, feature.region)
    if not scope_ok:
        raise Forbidden(f"{feature.name} is outside your jurisdiction")
    allowed = {"name", "start_name", "end_name", "description"}
    for key, value in changes.items():
        if key == "geometry":
            try:
                geom = geo.parse(value, feature.kind.geometry)
            except geo.GeometryError as exc:
                raise InvalidInput(f"geometry: {exc}", {"geometry": str(exc)}) from None
            if not _region_touches(feature.region, geom):
                raise InvalidInput(f"geometry: lies outside the border of {feature.region.name}",
                                   {"geometry": f"lies outside the border of {feature.region.name}"})
            _apply_geometry(feature, geom)
        elif key in allowed:
            setattr(feature, key, value)
        else:
            raise InvalidInput(f"{key} cannot be changed here", {key: "not editable"})
    before = audit.snapshot(feature, FEATURE_AUDIT_FIELDS)
    feature.save()
    b, a = audit.changed(before, audit.snapshot(feature, FEATURE_AUDIT_FIELDS))
    log_change(actor, "update", feature, {"fields": sorted(changes)}, before=b, after=a)
    return feature


# what the audit log keeps of a feature's change (the geometry is summarised when large)
FEATURE_AUDIT_FIELDS = ["name", "start_name", "end_name", "description", "geometry", "length_m", "area_m2"]


def export_features(queryset, *, actor=None, region=None) -> dict:
    """The same FeatureCollection format the import takes, with ids. Recorded in the audit log."""
    audit.log_export(actor, "features.Feature", fmt="geojson", personal=False, region=region,
                     params={"region": region.code if region is not None else None})
    out = []
    for f in queryset.select_related("kind", "region", "parent"):
        out.append({
            "type": "Feature",
            "id": f.pk,
            "geometry": f.geometry,
            "properties": {
                "name": f.name, "kind": f.kind.code, "level": f.level, "code": f.code,
                "parent": f.parent.code if f.parent else None, "region": f.region.code,
                "start": f.start_name, "end": f.end_name, "length_m": f.length_m, "area_m2": f.area_m2,
                "illustrative": f.illustrative,
            },
        })
    return {"type": "FeatureCollection", "features": out}
