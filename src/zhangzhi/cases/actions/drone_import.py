"""无人机巡查 import: a GeoJSON (and photos) in, one case per point, all or nothing."""

from __future__ import annotations

import logging
import uuid

from django.db import transaction

from zhangzhi.lib import storage
from zhangzhi.lib.errors import Forbidden, InvalidInput
from zhangzhi.lib.images import sniff_image
from zhangzhi.org import scope

from .. import drone
from ..models import Case, Category
from .base import URGENCIES, _actor_name, _now
from .intake import locate, report

logger = logging.getLogger("zhangzhi.cases.actions")


def import_drone(actor, file: bytes, photos: bytes | None = None, *, at=None) -> list[Case]:
    """Import a drone survey: one case per point, all or nothing.

    `file` is a GeoJSON FeatureCollection of points (properties category, description, urgency,
    taken_at, photo) or a ZIP holding it and the photos; `photos` an optional ZIP of photos. The raw
    uploads are archived first; then every point is checked (category, place, jurisdiction, photo by
    content) and each bad one gets its own error "features[i].properties.x". Only when all are valid
    are the cases reported, in one transaction.
    """
    at = _now(at)
    wpaths = scope.write_paths(actor) if actor is not None else None
    if wpaths == []:
        raise Forbidden("only chief office (河长办) staff import drone surveys")
    raw = [storage.archive_raw(file, "cases")] + ([storage.archive_raw(photos, "cases")] if photos else [])
    collection, bundle = drone.read_upload(file, photos)

    def where_problem(lat, lon):
        try:
            region, _, _ = locate(lat, lon)
        except InvalidInput as exc:
            return exc.message
        if not scope.covers(wpaths, region):
            return f"({lat:.5f}, {lon:.5f}) lies in {region.name}, outside your jurisdiction"
        return None

    points, errors = drone.check_points(
        collection, bundle, categories=set(Category.objects.filter(active=True).values_list("code", flat=True)),
        urgencies=URGENCIES, sniff=sniff_image, locate=where_problem, now=at)
    if errors:
        first = next(iter(errors))
        raise InvalidInput(f"{len(errors)} problem(s) in the import, the first at {first}: {errors[first]}; "
                           "nothing was imported", errors)
    batch = uuid.uuid4().hex[:12]
    with transaction.atomic():
        cases = [report(actor, category=p.category, description=p.description, lat=p.lat, lon=p.lon,
                        urgency=p.urgency, source="drone", photos=[p.photo] if p.photo else [], at=at,
                        external_ref=f"drone:{batch}:{p.index}", log_data={**p.data, "batch": batch, "raw": raw})
                 for p in points]
    logger.info("drone import %s: %d cases by %s", batch, len(cases), _actor_name(actor) or "system")
    return cases
