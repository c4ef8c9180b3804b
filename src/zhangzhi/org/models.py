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
from .jurisdiction import Jurisdiction, RestrictedQuerySet, paths_q

__all__ = ["paths_q"]  # kept importable from here for the apps that used it before jurisdiction.py


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


class RegionQuerySet(RestrictedQuerySet):
    def subtree(self, region: Region) -> RegionQuerySet:
        return self.filter(path__startswith=region.path)

    def within_paths(self, paths: list[str], field: str = "path") -> RegionQuerySet:
        return self.filter(paths_q(paths, field))


# a new region's path before its id is known; never a prefix of a real path
UNSAVED_PATH = "/0/"


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
    jurisdiction = Jurisdiction(read=("path",), public=True)  # GB/T 2260 divisions are public

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["path"]
        constraints = [
            # an empty path would be a prefix of every path: a scope over the whole database
            models.CheckConstraint(condition=Q(path__startswith="/") & Q(path__endswith="/") & ~Q(path="/"),
                                   name="region_path_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        """The path is derived here and nowhere else: the parent's path (read from the database, not
        from a possibly stale instance) and the id. Moving a region moves its subtree with it."""
        from django.db import transaction

        with transaction.atomic():
            prefix = "/"
            if self.parent_id is not None:
                prefix = Region.objects.filter(pk=self.parent_id).values_list("path", flat=True).get()
                if self.pk is not None and f"/{self.pk}/" in prefix:
                    raise ValueError("a region cannot sit under itself")
            old = None if self.pk is None else Region.objects.filter(pk=self.pk).values_list("path", flat=True).first()
            if self.pk is None:
                self.path = UNSAVED_PATH
                super().save(*args, **kwargs)
                self.path = f"{prefix}{self.pk}/"
                Region.objects.filter(pk=self.pk).update(path=self.path)
                return
            self.path = f"{prefix}{self.pk}/"
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "path"}
            super().save(*args, **kwargs)
            if old and old != self.path:
                below = Region.objects.filter(path__startswith=old).exclude(pk=self.pk).values_list("pk", "path")
                for pk, path in below:
                    Region.objects.filter(pk=pk).update(path=self.path + path[len(old):])

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.parent_id is not None:
            if self.pk is not None and str(self.pk) in self.parent.ancestor_ids_str():
                raise ValidationError({"parent": _("a region cannot sit under itself")})
            if levels.rank(self.level) <= levels.rank(self.parent.level):
                raise ValidationError({"level": _("must be below the parent's level")})

    def ancestor_ids_str(self) -> list[str]:
        return [p for p in self.path.strip("/").split("/") if p]

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

    objects = RestrictedQuerySet.as_manager()
    jurisdiction = Jurisdiction()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["region__path", "kind", "name"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="unit_unique_name_in_region")]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def visible_extra(cls, user) -> Q:
        """Also the units of the regions above the user's: everyone must be able to name the office
        they answer to."""
        from .scope import read_paths

        ids = {int(x) for p in read_paths(user) or () for x in p.strip("/").split("/") if x}
        return Q(region_id__in=ids)


class Person(models.Model):
    """人员: a person who holds posts or works in units; linked to a login when they have one."""

    name = models.CharField(_("name"), max_length=64)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    # the number a chief agreed to print on signboards and the public roster (an office line, often);
    # `phone` itself is personal data and is shown whole only to the office that keeps the person
    published_phone = models.CharField(_("published phone"), max_length=32, blank=True,
                                       help_text=_("shown on signboards when ZHANGZHI_SIGNBOARD_PHONE=published"))
    title = models.CharField(_("title"), max_length=100, blank=True, help_text=_("e.g. 县委书记, 镇长"))
    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                related_name="person")
    units = models.ManyToManyField(Unit, blank=True, related_name="people", verbose_name=_("units"))
    illustrative = models.BooleanField(_("illustrative"), default=False)

    objects = RestrictedQuerySet.as_manager()
    # seen where they work or hold a post; changed by the office of a unit they work in
    jurisdiction = Jurisdiction(read=("units__region__path", "posts__region__path"), write=("units__region__path",),
                                distinct=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def visible_extra(cls, user) -> Q:
        return Q(user=user)


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


class PostQuerySet(RestrictedQuerySet):
    def public(self) -> PostQuerySet:
        """The roster is published (河长公示): who holds which post. Phones are masked where shown."""
        return self.all()

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
    jurisdiction = Jurisdiction()

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


class ApiTokenQuerySet(models.QuerySet):
    def live(self, now: dt.datetime | None = None) -> ApiTokenQuerySet:
        """Tokens that still authenticate: not revoked, not expired."""
        return self.filter(revoked__isnull=True, expires__gt=now or timezone.now())

    def managed_by(self, actor) -> ApiTokenQuerySet:
        """Tokens `actor` may list and revoke: their own, those of the accounts their chief office
        manages (people in its units or current posts), all of them for the security administrator."""
        from .accounts import users_managed_by

        return self.filter(user__in=users_managed_by(actor, "org.delete_apitoken").values("pk"))


class ApiToken(models.Model):
    """A bearer token for the API (phones, scripts). Only its SHA-256 is stored.

    A revoked token keeps its row (with the time and who revoked it) so that its owner and office see
    what was cut off; `zhangzhi prune_tokens` deletes revoked and expired rows after
    settings.API_TOKEN_KEEP_DAYS.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True, help_text=_("e.g. 巡河手机, 数据同步脚本"))
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    expires = models.DateTimeField(_("expires"))
    # the last request it authenticated (or its issue), to within actions.TOKEN_LAST_USED_GRAIN: written at
    # most once per grain, not on every request
    last_used = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("revoked by"))

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"{self.name or 'token'} of {self.user_id}"

    @property
    def is_live(self) -> bool:
        return self.revoked is None and self.expires > timezone.now()


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete a row of the audit log."""


class ChangeLogQuerySet(RestrictedQuerySet):
    """The audit log's queryset: reads scoped by region like every other model; no bulk change."""

    def update(self, **kwargs):
        raise AppendOnlyError("the audit log is append-only: rows cannot be changed")

    def delete(self):
        raise AppendOnlyError("the audit log is append-only: rows are removed only by `zhangzhi prune_audit`")

    def _update(self, values):  # Model.save() of a stored row ends here
        raise AppendOnlyError("the audit log is append-only: rows cannot be changed")


class ChangeLog(models.Model):
    """安全审计: the append-only audit log. Every write (API, pages, admin, commands), login, failed
    login, logout, permission change and export of personal data: who, when, from which IP, what,
    before and after, and the region the object belongs to (the audit administrator reads their
    jurisdiction only).

    Append-only at three levels: `save()` refuses to change a stored row and `delete()` refuses;
    the queryset refuses `update()`/`delete()`; database triggers (migration 0004) refuse UPDATE and
    DELETE of rows younger than 180 days even from raw SQL. `zhangzhi prune_audit` removes rows older
    than ZHANGZHI_AUDIT_RETENTION_DAYS (never fewer than 180).
    """

    class Kind(models.TextChoices):
        WRITE = "write", _("写操作")
        LOGIN = "login", _("登录")
        LOGIN_FAILED = "login_failed", _("登录失败")
        LOGOUT = "logout", _("退出")
        PERMISSION = "permission", _("权限变更")
        EXPORT = "export", _("导出")

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)  # ordering, date filter, prune
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.WRITE)
    # no database constraint and DO_NOTHING: removing an account or a region must never rewrite the
    # log (the triggers would refuse it); `username` keeps the name the row was written under
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.DO_NOTHING, db_constraint=False, null=True,
                              blank=True, related_name="+", verbose_name=_("actor"))
    username = models.CharField(_("username"), max_length=150, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    via = models.CharField(_("channel"), max_length=16, blank=True, help_text=_("web, api, admin or command"))
    action = models.CharField(_("action"), max_length=40)
    model = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    region = models.ForeignKey(Region, models.DO_NOTHING, db_constraint=False, null=True, blank=True,
                               related_name="+", verbose_name=_("region"))
    # the region's path when written: the audit reader's scope is a prefix match on it (index below)
    region_path = models.CharField(max_length=255, blank=True)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    summary = models.JSONField(_("details"), default=dict, blank=True)

    objects = ChangeLogQuerySet.as_manager()
    jurisdiction = Jurisdiction(read=("region_path",))

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-pk"]
        indexes = [
            # the audit page and GET /api/v1/audit: one jurisdiction's rows, newest first
            models.Index(fields=["region_path", "at"], name="changelog_region_at_idx"),
            # the audit page's filter by kind (logins, exports)
            models.Index(fields=["kind", "at"], name="changelog_kind_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.model} {self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("the audit log is append-only: a stored row cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("the audit log is append-only: rows are removed only by `zhangzhi prune_audit`")
