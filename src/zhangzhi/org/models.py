"""Regions, units, people, posts: who answers for what, where.

行政区划 Region is a tree (province → city → county/zone → township → village) kept with a
materialised path of primary keys, so "this region and everything below it" is one indexed
prefix match on any database. 职务 Post ties a person to a role on a feature (河段) or a region
(总河长) for a period; a post that ends keeps its end date, so the roster of any past day can be
shown.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import levels


class Level(models.TextChoices):
    PROVINCE = levels.PROVINCE, _("Province")
    CITY = levels.CITY, _("City")
    COUNTY = levels.COUNTY, _("County")
    ZONE = levels.ZONE, _("Functional zone")
    TOWNSHIP = levels.TOWNSHIP, _("Township")
    VILLAGE = levels.VILLAGE, _("Village")


class ChiefLevel(models.TextChoices):
    PROVINCE = levels.PROVINCE, _("Province")
    CITY = levels.CITY, _("City")
    COUNTY = levels.COUNTY, _("County")
    TOWNSHIP = levels.TOWNSHIP, _("Township")
    VILLAGE = levels.VILLAGE, _("Village")


class RegionQuerySet(models.QuerySet):
    def subtree(self, region: Region) -> RegionQuerySet:
        return self.filter(path__startswith=region.path)

    def within_paths(self, paths: list[str], field: str = "path") -> RegionQuerySet:
        return self.filter(paths_q(paths, field))


def paths_q(paths, field: str) -> Q:
    """Q matching rows whose region path lies under any of `paths` (empty list matches nothing)."""
    q = Q(pk__in=[])
    for p in paths:
        q |= Q(**{f"{field}__startswith": p})
    return q


class Region(models.Model):
    """行政区划: a node of the administrative tree, with its border when known."""

    code = models.CharField(_("code"), max_length=12, unique=True, null=True, blank=True,
                            help_text=_("GB/T 2260 or statistical code; empty for a functional zone"))
    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children",
                               verbose_name=_("parent"))
    # "/1/45/301/": ancestors' ids, self last. Subtree queries are prefix matches on it.
    path = models.CharField(max_length=255, editable=False, db_index=True)
    illustrative = models.BooleanField(_("illustrative"), default=False,
                                       help_text=_("synthesised for the demo, not official"))
    boundary = models.JSONField(_("boundary"), null=True, blank=True,
                                help_text=_("GeoJSON (Multi)Polygon in WGS84"))
    center_lon = models.FloatField(null=True, blank=True)
    center_lat = models.FloatField(null=True, blank=True)

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.strip("/").split("/") if p]

    def ancestors(self) -> RegionQuerySet:
        """This region and those above it, top first."""
        return Region.objects.filter(pk__in=self.ancestor_ids).order_by("path")

    def contains(self, other: Region) -> bool:
        return other.path.startswith(self.path)

    @property
    def chief_level(self) -> str:
        return levels.chief_level(self.level)


class Unit(models.Model):
    """单位: an office (河长办), a member unit (成员单位), police, procuratorate, company or committee."""

    class Kind(models.TextChoices):
        OFFICE = "office", _("Chief office (河长办)")
        DEPARTMENT = "department", _("Member unit (成员单位)")
        POLICE = "police", _("Police")
        PROCURATORATE = "procuratorate", _("Procuratorate")
        COMPANY = "company", _("Company")
        COMMITTEE = "committee", _("Committee")
        OTHER = "other", _("Other")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    region = models.ForeignKey(Region, models.PROTECT, related_name="units", verbose_name=_("region"))
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["region__path", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="unit_unique_name_in_region")]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    """人员: a person who holds posts or works in units; linked to a login when they have one."""

    name = models.CharField(_("name"), max_length=64)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    title = models.CharField(_("title"), max_length=100, blank=True, help_text=_("e.g. 县委书记, 镇长"))
    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                related_name="person")
    units = models.ManyToManyField(Unit, blank=True, related_name="people", verbose_name=_("units"))
    illustrative = models.BooleanField(_("illustrative"), default=False)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class System(models.Model):
    """长制 system: 河湖长制, 林长制, 田长制, 路长制 … (data, so new systems need no code)."""

    code = models.SlugField(max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=32)

    class Meta:
        verbose_name = _("system")
        verbose_name_plural = _("systems")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """A role a post can have: 总河长, 河长, 河警长, 民间河长 …"""

    class Kind(models.TextChoices):
        GENERAL = "general", _("General chief (总河长)")
        DEPUTY_GENERAL = "deputy_general", _("Deputy general chief (副总河长)")
        CHIEF = "chief", _("Chief (河长)")
        DEPUTY = "deputy", _("Deputy chief (副河长)")
        POLICE = "police", _("Police chief (河警长)")
        PROCURATOR = "procurator", _("Procuratorate liaison (检察长)")
        CIVIC = "civic", _("Civic chief (民间河长)")
        PATROLLER = "patroller", _("Patroller (巡河员)")

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=32)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    system = models.ForeignKey(System, models.PROTECT, related_name="roles")
    on_region = models.BooleanField(default=False, help_text=_("held over a region rather than a feature"))
    order = models.PositiveSmallIntegerField(default=0)
    duties = models.TextField(_("duties"), blank=True)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name


class PostQuerySet(models.QuerySet):
    def on(self, day: dt.date | None = None) -> PostQuerySet:
        """Posts held on `day` (today in Asia/Shanghai when omitted)."""
        day = day or timezone.localdate()
        return self.filter(valid_from__lte=day).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))

    def current(self) -> PostQuerySet:
        return self.on(None)


class Post(models.Model):
    """职务: person × role × level × (feature or region), valid from/to. Ended posts are kept."""

    person = models.ForeignKey(Person, models.PROTECT, related_name="posts", verbose_name=_("person"))
    role = models.ForeignKey(Role, models.PROTECT, related_name="posts", verbose_name=_("role"))
    level = models.CharField(_("level"), max_length=10, choices=ChiefLevel.choices)
    feature = models.ForeignKey("features.Feature", models.PROTECT, null=True, blank=True,
                                related_name="posts", verbose_name=_("feature"))
    region = models.ForeignKey(Region, models.PROTECT, related_name="posts", verbose_name=_("region"),
                               help_text=_("the region the post answers for (the feature's region for a reach)"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    duties = models.TextField(_("duties"), blank=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["region__path", "role__order", "pk"]
        indexes = [
            # the roster and a feature's chiefs: current posts of a feature / region
            models.Index(fields=["feature", "valid_to"], name="post_feature_idx"),
            models.Index(fields=["region", "valid_to"], name="post_region_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.role}"

    @property
    def system(self) -> System:
        return self.role.system

    def is_current(self, day: dt.date | None = None) -> bool:
        day = day or timezone.localdate()
        return self.valid_from <= day and (self.valid_to is None or self.valid_to >= day)


class ApiToken(models.Model):
    """A bearer token for the API (phones, scripts). Only its SHA-256 is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()

    class Meta:
        verbose_name = _("API token")

    def __str__(self) -> str:
        return f"token of {self.user_id}"


class ChangeLog(models.Model):
    """Every change made through an action: who, when, what. Append-only."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True)
    action = models.CharField(max_length=40)
    model = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    summary = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("change")
        verbose_name_plural = _("change log")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.model} {self.object_id}"
