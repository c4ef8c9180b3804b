"""监测 Monitoring: stations, readings, the raw archive of what stations sent, quarantine and alerts.

A Station (监测站点) is a water-quality section (断面; 国考/省考/市考, on a reach, with a target class), an
automatic station speaking HJ 212 (identified by its MN), or a water-intake meter. Readings (监测数据)
are idempotent on (station, parameter, kind, time): data sent twice is stored once. Every frame received
is archived raw (RawFrame) before it is parsed; frames that cannot be used go to Quarantine with their
reason and can be replayed once the registry is fixed. An Alert is one episode of a value beyond its
threshold (or a section missing its target class); it opens one case, however many readings it spans.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from zhangzhi.features.models import Feature
from zhangzhi.org.jurisdiction import Jurisdiction, RestrictedQuerySet
from zhangzhi.org.models import Region

CLASS_CHOICES = [("I", "I"), ("II", "II"), ("III", "III"), ("IV", "IV"), ("V", "V")]


class StationQuerySet(RestrictedQuerySet):
    pass


class Station(models.Model):
    """监测站点: a section, an automatic station (HJ 212 MN) or a water-intake meter, at a place."""

    class Kind(models.TextChoices):
        SECTION = "section", _("water-quality section")  # 断面 (manual samples, or with an auto station)
        AUTO = "auto", _("automatic station")  # 水质自动站
        INTAKE = "intake", _("water-intake meter")  # 取水计量

    class Level(models.TextChoices):
        NATIONAL = "national", _("national (国考)")
        PROVINCIAL = "provincial", _("provincial (省考)")
        CITY = "city", _("city (市考)")
        COUNTY = "county", _("county (县考)")
        NONE = "", _("not assessed")

    class WaterBody(models.TextChoices):
        RIVER = "river", _("river")
        LAKE = "lake", _("lake or reservoir")

    name = models.CharField(_("name"), max_length=100)
    code = models.CharField(_("code"), max_length=40, unique=True, null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    level = models.CharField(_("assessment level"), max_length=10, choices=Level.choices, blank=True)
    feature = models.ForeignKey(Feature, models.PROTECT, null=True, blank=True, related_name="stations",
                                verbose_name=_("reach or water"))
    region = models.ForeignKey(Region, models.PROTECT, related_name="stations", verbose_name=_("region"))
    water_body = models.CharField(_("water body"), max_length=8, choices=WaterBody.choices, default="river")
    target_class = models.CharField(_("target class"), max_length=3, choices=CLASS_CHOICES, blank=True)
    mn = models.CharField(_("HJ 212 MN"), max_length=32, unique=True, null=True, blank=True)
    password = models.CharField(_("HJ 212 password"), max_length=32, blank=True,
                                help_text=_("when set, packets must carry this PW"))
    allow_modbus_crc = models.BooleanField(default=False,
                                           help_text=_("accept the CRC-16/MODBUS variant some devices send"))
    parameters = models.JSONField(_("parameters"), default=dict, blank=True,
                                  help_text=_("HJ 212 code → the unit the station sends it in"))
    lon = models.FloatField(_("longitude"))
    lat = models.FloatField(_("latitude"))
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = StationQuerySet.as_manager()
    jurisdiction = Jurisdiction()

    class Meta:
        verbose_name = _("station")
        verbose_name_plural = _("stations")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class Threshold(models.Model):
    """An alert bound for one parameter of one station, overriding the target class's GB 3838 limit."""

    station = models.ForeignKey(Station, models.CASCADE, related_name="thresholds")
    parameter = models.CharField(max_length=24)
    low = models.FloatField(null=True, blank=True)
    high = models.FloatField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    jurisdiction = Jurisdiction(through="station")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["station", "parameter"], name="threshold_once")]

    def __str__(self) -> str:
        return f"{self.station} {self.parameter}"


class Reading(models.Model):
    """监测数据: one value of one parameter at a station, in mg/L where GB 3838 wants mg/L."""

    class Kind(models.TextChoices):
        REALTIME = "rt", _("real-time")  # CN 2011
        MINUTE = "min", _("minute")  # CN 2051
        HOUR = "hour", _("hourly")  # CN 2061
        DAY = "day", _("daily")  # CN 2031
        SAMPLE = "sample", _("laboratory sample")  # manual import

    # No index of its own: reading_once starts with station, so it serves every lookup by station, and each
    # index is paid for on every one of the millions of inserts (docs/BENCHMARKS.md, ingest).
    station = models.ForeignKey(Station, models.CASCADE, related_name="readings", db_index=False)
    parameter = models.CharField(max_length=24)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    time = models.DateTimeField()
    value = models.FloatField()
    unit = models.CharField(max_length=16, blank=True)
    flag = models.CharField(max_length=4, blank=True)

    objects = RestrictedQuerySet.as_manager()
    jurisdiction = Jurisdiction(through="station")

    class Meta:
        constraints = [
            # idempotent ingestion (INSERT … ON CONFLICT DO NOTHING); its index also serves the station page
            # and readings API (station, parameter, kind, time range) and the class computations.
            models.UniqueConstraint(fields=["station", "parameter", "kind", "time"], name="reading_once"),
        ]

    def __str__(self) -> str:
        return f"{self.station_id} {self.parameter} {self.time:%Y-%m-%d %H:%M} {self.value}"


SEES_EVERY_FRAME = "monitoring.view_quarantinedframe"


def sees_every_frame(user) -> bool:
    """The superuser and holders of ``SEES_EVERY_FRAME``: every frame, whatever its MN, and peer addresses."""
    return user is not None and user.is_authenticated and (user.is_superuser or user.has_perm(SEES_EVERY_FRAME))


class RawFrame(models.Model):
    """What a station sent, byte for byte, archived before it was parsed (so a parse bug loses nothing)."""

    received_at = models.DateTimeField()
    source = models.CharField(max_length=8, default="tcp")  # tcp, http
    peer = models.CharField(max_length=64, blank=True)
    raw = models.BinaryField()

    objects = RestrictedQuerySet.as_manager()
    # no station link (a frame is archived before it is parsed): only the system administrator reads it
    jurisdiction = Jurisdiction(read=(), every_row_perm=SEES_EVERY_FRAME)

    class Meta:
        indexes = [
            # the archive browser and replays by time
            models.Index(fields=["received_at"], name="rawframe_received_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.peer} {self.received_at:%Y-%m-%d %H:%M:%S}"


class Quarantine(models.Model):
    """隔离: a frame that could not be stored as readings, with the reason; replayable."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        REPLAYED = "replayed", _("replayed")
        DISMISSED = "dismissed", _("dismissed")

    received_at = models.DateTimeField()
    reason = models.CharField(max_length=24)
    message = models.TextField(blank=True)
    raw = models.BinaryField()
    mn = models.CharField(max_length=32, blank=True)
    peer = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    replayed_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    # the offices of the station its MN names read (visible_extra) and replay (editable_extra) it; frames
    # of an MN no station has, only the system administrator
    jurisdiction = Jurisdiction(read=(), every_row_perm=SEES_EVERY_FRAME)

    class Meta:
        permissions = [
            # the system administrator (系统管理员): frames of unknown MNs, the raw archive, peer addresses
            (SEES_EVERY_FRAME.split(".")[1], "Can see every archived and quarantined frame and its peer"),
        ]
        indexes = [
            # the office's quarantine list (open first, newest first) and replay by MN
            models.Index(fields=["status", "received_at"], name="quarantine_status_idx"),
            models.Index(fields=["mn", "status"], name="quarantine_mn_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reason} {self.received_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def visible_extra(cls, user) -> Q:
        return Q(mn__in=Station.objects.visible_to(user).exclude(mn=None).exclude(mn="").values("mn"))

    @classmethod
    def editable_extra(cls, user) -> Q:
        return Q(mn__in=Station.objects.editable_by(user).exclude(mn=None).exclude(mn="").values("mn"))


class Alert(models.Model):
    """An episode: a parameter beyond its threshold (or the section's class below target) until it recovers.

    ``parameter`` is an HJ 212 code, or ``class`` for a section missing its target class. One episode
    opens one case (``case_id``); later readings of the same episode only update it.
    """

    station = models.ForeignKey(Station, models.CASCADE, related_name="alerts")
    parameter = models.CharField(max_length=24)
    opened_at = models.DateTimeField()  # time of the first reading beyond the limit
    last_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    value = models.FloatField(null=True, blank=True)  # the worst value seen
    limit = models.CharField(max_length=40, blank=True)
    count = models.PositiveIntegerField(default=1)
    ok_streak = models.PositiveIntegerField(default=0)
    # the case opened (cases.Case); a plain id so monitoring migrates without the cases app's tables
    case_id = models.BigIntegerField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()
    jurisdiction = Jurisdiction(through="station")

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["station", "parameter"], condition=Q(closed_at__isnull=True),
                                    name="alert_one_open_episode"),
        ]
        indexes = [
            # the station page and the alert list, newest first
            models.Index(fields=["station", "-opened_at"], name="alert_station_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.station} {self.parameter} {self.opened_at:%Y-%m-%d %H:%M}"


class DailyValue(models.Model):
    """日统计: count, sum, minimum and maximum of one parameter of one station over one local day.

    Kept by ingestion (``aggregates.record`` in the same transaction as the readings), so the station pages,
    the station list, the map's reach classes and the region shares read a year as 365 rows per parameter
    instead of 8760 readings. ``day`` is the date in Asia/Shanghai; a day's mean is ``total / count``, a
    month's is the sum of its days' totals over the sum of their counts (the same as the mean of the
    readings). ``zhangzhi aggregate_readings --rebuild`` recomputes the table from the readings.
    """

    station = models.ForeignKey(Station, models.CASCADE, related_name="daily_values", db_index=False)
    parameter = models.CharField(max_length=24)
    kind = models.CharField(max_length=8, choices=Reading.Kind.choices)
    day = models.DateField()
    count = models.PositiveIntegerField()
    total = models.FloatField()
    low = models.FloatField()
    high = models.FloatField()

    objects = RestrictedQuerySet.as_manager()
    jurisdiction = Jurisdiction(through="station")

    class Meta:
        constraints = [
            # the upsert key of ingestion; its index serves the station page (station, parameter, kind, day
            # range), the chart series and the latest day of each station
            models.UniqueConstraint(fields=["station", "parameter", "kind", "day"], name="daily_value_once"),
        ]

    def __str__(self) -> str:
        return f"{self.station_id} {self.parameter} {self.kind} {self.day}"

    @property
    def mean(self) -> float:
        return self.total / self.count
