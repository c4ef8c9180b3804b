"""Patrols (巡河): a person's trip along a reach, its judged verdict, its findings; and the rules.

The track is stored as one compact blob (tracks.encode_track: ~2.2 bytes per point), never as a
row per point: a province keeps over a hundred million points a year. Validity rules (有效巡河
标准) and frequency duties (巡查频次) are data per system, chief level and region, inherited down
the region tree: a county's row overrides the city's, field by field.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from zhangzhi.org.jurisdiction import Jurisdiction, RestrictedQuerySet
from zhangzhi.org.models import ChiefLevel, Person, Region, System

from . import periods, tracks

# RuleSet fields and the tracks.Rules attribute each one sets.
RULE_FIELDS = ("min_duration_s", "min_length_m", "buffer_m", "min_coverage", "min_within_share",
               "min_interval_s", "max_speed_kmh", "short_long_max_duration_s", "short_long_min_length_m",
               "duplicate_max_mean_m")


class RuleSet(models.Model):
    """有效巡河标准: validity rules for a system, optionally only for one region's subtree and/or one
    chief level. Empty fields inherit from the rule set above (region ancestors, then system-wide,
    then the built-in defaults of tracks.Rules)."""

    system = models.ForeignKey(System, models.CASCADE, related_name="patrol_rules")
    region = models.ForeignKey(Region, models.CASCADE, null=True, blank=True, related_name="patrol_rules",
                               help_text=_("empty: the whole system"))
    level = models.CharField(_("chief level"), max_length=10, choices=ChiefLevel.choices, blank=True,
                             help_text=_("empty: every level"))
    min_duration_s = models.FloatField(_("minimum duration (s)"), null=True, blank=True)
    min_length_m = models.FloatField(_("minimum length (m)"), null=True, blank=True)
    buffer_m = models.FloatField(_("buffer (m)"), null=True, blank=True)
    min_coverage = models.FloatField(_("minimum coverage (0–1)"), null=True, blank=True)
    min_within_share = models.FloatField(_("minimum share of points in the buffer"), null=True, blank=True)
    min_interval_s = models.FloatField(_("minimum interval (s)"), null=True, blank=True)
    max_speed_kmh = models.FloatField(_("speed limit (km/h)"), null=True, blank=True)
    short_long_max_duration_s = models.FloatField(null=True, blank=True)
    short_long_min_length_m = models.FloatField(null=True, blank=True)
    duplicate_max_mean_m = models.FloatField(null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    objects = RestrictedQuerySet.as_manager()
    # rows without a region are the system-wide defaults: read by all, changed by the system administrator
    jurisdiction = Jurisdiction(global_when_null="region")

    class Meta:
        verbose_name = _("patrol rule set")
        verbose_name_plural = _("patrol rule sets")
        constraints = [
            models.UniqueConstraint(fields=["system", "region", "level"], name="ruleset_unique_scope"),
            models.UniqueConstraint(fields=["system", "level"], condition=models.Q(region__isnull=True),
                                    name="ruleset_unique_system_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.system} · {self.region or '*'} · {self.level or '*'}"


def _specificity(region: Region | None, level: str) -> tuple[int, int]:
    return (region.depth if region is not None else 0, 1 if level else 0)


def rules_for(system: System | int, region: Region, level: str) -> tuple[tracks.Rules, dict]:
    """The rules that apply to a patrol on a feature of ``region`` by a chief of ``level``.

    Returns the tracks.Rules and the overrides as a plain dict (stored with the patrol, so a
    verdict can always be explained by the rules of its day). One query.
    """
    ancestors = [region.path[: i + 1] for i, ch in enumerate(region.path) if ch == "/" and i]
    rows = list(
        RuleSet.objects.filter(system=system)
        .filter(models.Q(region__isnull=True) | models.Q(region__path__in=ancestors))
        .filter(level__in=("", level))
        .select_related("region")
    )
    rows.sort(key=lambda r: _specificity(r.region, r.level))
    values: dict = {}
    for r in rows:
        for f in RULE_FIELDS:
            v = getattr(r, f)
            if v is not None:
                values[f] = v
    return tracks.Rules(**values), values


class FrequencyRule(models.Model):
    """巡查频次: how many effective patrols a chief of one level owes each period, per system and
    (optionally) region subtree; the most specific row wins."""

    class PeriodKind(models.TextChoices):
        WEEK = "week", _("week (周)")
        DEKAD = "dekad", _("dekad (旬)")
        MONTH = "month", _("month (月)")
        QUARTER = "quarter", _("quarter (季)")
        HALF = "half", _("half year (半年)")
        YEAR = "year", _("year (年)")

    system = models.ForeignKey(System, models.CASCADE, related_name="patrol_frequencies")
    region = models.ForeignKey(Region, models.CASCADE, null=True, blank=True, related_name="patrol_frequencies")
    level = models.CharField(_("chief level"), max_length=10, choices=ChiefLevel.choices)
    period = models.CharField(_("period"), max_length=8, choices=PeriodKind.choices)
    required = models.PositiveSmallIntegerField(_("required effective patrols"), default=1)
    role_kinds = models.CharField(max_length=100, default="chief,deputy",
                                  help_text=_("comma-separated Role.kind values that owe patrols"))

    objects = RestrictedQuerySet.as_manager()
    # rows without a region are the system-wide defaults: read by all, changed by the system administrator
    jurisdiction = Jurisdiction(global_when_null="region")

    class Meta:
        verbose_name = _("patrol frequency rule")
        verbose_name_plural = _("patrol frequency rules")
        constraints = [
            models.UniqueConstraint(fields=["system", "region", "level"], name="frequency_unique_scope"),
            models.UniqueConstraint(fields=["system", "level"], condition=models.Q(region__isnull=True),
                                    name="frequency_unique_system_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {self.required}/{periods.LABELS[self.period]}"


class PatrolQuerySet(RestrictedQuerySet):
    pass


class Patrol(models.Model):
    """巡河: one trip along one reach by one person, with its compact track and its verdict."""

    class Source(models.TextChoices):
        APP = "app", _("mobile page")
        API = "api", _("API (GeoJSON)")
        GPX = "gpx", _("GPX file")
        DEMO = "demo", _("demo")

    person = models.ForeignKey(Person, models.PROTECT, related_name="patrols", verbose_name=_("person"))
    feature = models.ForeignKey("features.Feature", models.PROTECT, related_name="patrols",
                                verbose_name=_("reach"))
    region = models.ForeignKey(Region, models.PROTECT, related_name="patrols", verbose_name=_("region"),
                               help_text=_("the reach's region, for jurisdiction filters"))
    level = models.CharField(_("chief level"), max_length=10, choices=ChiefLevel.choices)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    client_id = models.UUIDField(help_text=_("chosen by the phone; the same id twice is one patrol"))
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API)
    crs = models.CharField(max_length=8, default="wgs84", help_text=_("coordinates as received"))
    raw_path = models.CharField(max_length=200, blank=True, help_text=_("archived upload under MEDIA_ROOT"))
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"))
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    n_points = models.PositiveIntegerField(_("points"))
    track = models.BinaryField(help_text=_("tracks.encode_track: WGS84 micro-degrees + seconds, compressed"))
    signature = models.BinaryField(help_text=_("tracks.track_signature, for duplicate detection"))
    duration_s = models.FloatField(_("duration (s)"))
    length_m = models.FloatField(_("length (m)"))
    within_buffer_share = models.FloatField(_("share within buffer"))
    coverage = models.FloatField(_("coverage"))
    max_speed_kmh = models.FloatField(_("max speed (km/h)"))
    effective = models.BooleanField(_("effective"))
    reasons = models.JSONField(_("reasons"), default=list)
    flags = models.JSONField(_("fraud signs"), default=list)
    rules = models.JSONField(_("rules applied"), default=dict)
    min_lon = models.FloatField()
    min_lat = models.FloatField()
    max_lon = models.FloatField()
    max_lat = models.FloatField()

    objects = PatrolQuerySet.as_manager()
    jurisdiction = Jurisdiction()

    class Meta:
        verbose_name = _("patrol")
        verbose_name_plural = _("patrols")
        ordering = ["-started_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["person", "client_id"], name="patrol_unique_client_id")]
        indexes = [
            # upload: earlier patrols of the reach (interval, duplicates); reach pages
            models.Index(fields=["feature", "started_at"], name="patrol_feature_time_idx"),
            # compliance: a person's patrols in a period; "my patrols"
            models.Index(fields=["person", "started_at"], name="patrol_person_time_idx"),
            # lists: newest first within a jurisdiction, filtered by verdict
            models.Index(fields=["started_at", "effective"], name="patrol_time_effective_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.person} · {self.feature} · {self.started_at:%Y-%m-%d}"

    @classmethod
    def visible_extra(cls, user) -> models.Q:
        """Also the user's own patrols (a chief's reach may lie in a region their posts cover only
        through the feature)."""
        return models.Q(person__user=user)

    def decoded(self) -> tracks.Track:
        return tracks.decode_track(bytes(self.track))


class Finding(models.Model):
    """巡河发现: a problem seen on a patrol (photo, category, note, place); becomes a case."""

    patrol = models.ForeignKey(Patrol, models.CASCADE, related_name="findings")
    category = models.CharField(_("category"), max_length=40, help_text=_("a case category code"))
    note = models.TextField(_("note"), blank=True)
    lon = models.FloatField()
    lat = models.FloatField()
    at = models.DateTimeField(_("seen at"))
    photo = models.FileField(_("photo"), upload_to="patrols/photos/%Y/%m", blank=True)
    case = models.ForeignKey("cases.Case", models.SET_NULL, null=True, blank=True, related_name="patrol_findings")
    file_error = models.CharField(max_length=200, blank=True, help_text=_("why it could not be filed yet"))

    objects = RestrictedQuerySet.as_manager()
    jurisdiction = Jurisdiction(through="patrol")

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.category} @ {self.patrol_id}"
