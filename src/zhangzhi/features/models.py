"""管护对象 Feature: rivers, reaches, lakes, reservoirs, forest parcels, roads … with geometry.

Kinds are data (FeatureKind), so 林长制 and 路长制 reuse this model. Geometry is GeoJSON in
WGS84 longitude/latitude; the bounding box is stored in indexed columns so map and bbox queries
need no spatial extension. Length and area are computed in a metric projection on save (geo.py).
A river (河流) is the root; reaches (河段) are cut from it at county and township borders, and
township reaches into village reaches, each with its own chiefs.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from zhangzhi.org.jurisdiction import Jurisdiction, RestrictedQuerySet
from zhangzhi.org.models import ChiefLevel, Region, System


class FeatureKind(models.Model):
    """A kind of managed object: river, reach, lake, reservoir, spring, canal, forest parcel …"""

    class Geometry(models.TextChoices):
        LINE = "line", _("Line")
        POLYGON = "polygon", _("Polygon")
        POINT = "point", _("Point")

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=32)
    system = models.ForeignKey(System, models.PROTECT, related_name="feature_kinds")
    geometry = models.CharField(max_length=8, choices=Geometry.choices)
    is_part = models.BooleanField(default=False, help_text=_("a part of a parent feature, e.g. a reach"))
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("feature kind")
        verbose_name_plural = _("feature kinds")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name


class FeatureQuerySet(RestrictedQuerySet):
    def public(self) -> FeatureQuerySet:
        """What the public sees: every managed object has a signboard (公示牌) and is in the roster."""
        return self.all()

    def in_bbox(self, min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> FeatureQuerySet:
        return self.filter(min_lon__lte=max_lon, max_lon__gte=min_lon, min_lat__lte=max_lat, max_lat__gte=min_lat)


class Feature(models.Model):
    """管护对象: one managed object with its geometry, place in the tree and region."""

    kind = models.ForeignKey(FeatureKind, models.PROTECT, related_name="features", verbose_name=_("kind"))
    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=40, unique=True, null=True, blank=True)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children",
                               verbose_name=_("parent"))
    level = models.CharField(_("level"), max_length=10, choices=ChiefLevel.choices)
    region = models.ForeignKey(Region, models.PROTECT, related_name="features", verbose_name=_("region"))
    geometry = models.JSONField(_("geometry"), help_text=_("GeoJSON geometry, WGS84 lon/lat"))
    min_lon = models.FloatField()
    min_lat = models.FloatField()
    max_lon = models.FloatField()
    max_lat = models.FloatField()
    length_m = models.FloatField(_("length (m)"), null=True, blank=True)
    area_m2 = models.FloatField(_("area (m²)"), null=True, blank=True)
    start_name = models.CharField(_("start point"), max_length=100, blank=True)
    end_name = models.CharField(_("end point"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    illustrative = models.BooleanField(_("illustrative"), default=False,
                                       help_text=_("plausible demo geometry, not surveyed"))

    objects = FeatureQuerySet.as_manager()
    jurisdiction = Jurisdiction()

    class Meta:
        verbose_name = _("feature")
        verbose_name_plural = _("features")
        ordering = ["kind__order", "code", "pk"]
        indexes = [
            # map panning: features whose box overlaps the view
            models.Index(fields=["min_lon", "max_lon", "min_lat", "max_lat"], name="feature_bbox_idx"),
            # lists filtered by kind within a jurisdiction
            models.Index(fields=["kind", "level"], name="feature_kind_level_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def ancestors(self) -> list[Feature]:
        """Parents up to the root, nearest first (a reach tree is at most four deep)."""
        out, node = [], self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out
