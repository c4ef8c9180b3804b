"""事件 Case: one thing to get done, owned by someone until it is fixed and checked.

A case is reported at a place; the place decides its region, its nearest reach and so the chief
office (河长办) that dispatches and verifies it. Every step is an append-only CaseLog row. The
`version` column is bumped by a conditional UPDATE on every action, so two people acting at the
same moment cannot both win (the loser hears 409 with the current state).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhangzhi.org.jurisdiction import Jurisdiction, RestrictedQuerySet
from zhangzhi.org.models import Region, Unit

from . import workflow


class Category(models.Model):
    """问题类别: a node of the configurable tree (四乱 → 乱占、乱采、乱堆、乱建; 排污口; 垃圾 …)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=40)
    name_en = models.CharField(_("English name"), max_length=60, blank=True)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children")
    description = models.CharField(_("description"), max_length=200, blank=True)
    days = models.PositiveSmallIntegerField(_("days to handle"), default=15,
                                            help_text=_("default deadline after assignment"))
    transfer_to = models.CharField(_("suggested transfer"), max_length=16, blank=True,
                                   help_text=_("police or procuratorate when the category usually needs them"))
    public = models.BooleanField(_("offered to the public"), default=True)
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("case category")
        verbose_name_plural = _("case categories")
        ordering = ["order", "pk"]

    def __str__(self) -> str:
        return self.name


class CaseQuerySet(RestrictedQuerySet):

    def public(self) -> CaseQuerySet:
        """What the public may see at all (Open311 lists, /r/<code>/)."""
        return self.filter(hidden=False).exclude(state=workflow.MERGED)

    def with_public_photos(self) -> CaseQuerySet:
        """Cases whose photos the public may see: public, and looked at by the office, that is
        accepted (any later state but declined) or restored by moderation. A fresh report's photo
        (a face, a plate number, abuse) waits for the office instead of going online on upload."""
        return (self.public().exclude(state=workflow.DECLINED)
                .filter(Q(moderated_at__isnull=False) | ~Q(state=workflow.NEW)))

    def awaiting_moderation(self) -> CaseQuerySet:
        """Hidden by abuse flags, no decision of the office yet."""
        return self.filter(hidden=True, moderated_at__isnull=True)

    def open(self) -> CaseQuerySet:
        return self.filter(state__in=workflow.OPEN_STATES)


class Case(models.Model):
    """事件/问题: reported, accepted, assigned, handled, verified, closed, rated, archived."""

    class Urgency(models.TextChoices):
        NORMAL = "normal", _("一般")
        URGENT = "urgent", _("加急")
        CRITICAL = "critical", _("紧急")

    class Source(models.TextChoices):
        PATROL = "patrol", _("巡河发现")
        OFFICE = "office", _("河长办检查")
        DRONE = "drone", _("无人机巡查")
        PUBLIC = "public", _("群众举报")
        OPEN311 = "open311", _("Open311")
        MONITORING = "monitoring", _("监测预警")
        HOTLINE = "hotline", _("热线")

    class State(models.TextChoices):
        NEW = workflow.NEW, _("待受理")
        ACCEPTED = workflow.ACCEPTED, _("已受理")
        ASSIGNED = workflow.ASSIGNED, _("已交办")
        IN_PROGRESS = workflow.IN_PROGRESS, _("办理中")
        REPLIED = workflow.REPLIED, _("待核查")
        CLOSED = workflow.CLOSED, _("已办结")
        ARCHIVED = workflow.ARCHIVED, _("已归档")
        DECLINED = workflow.DECLINED, _("不予受理")
        MERGED = workflow.MERGED, _("已合并")

    class Rating(models.TextChoices):
        SATISFIED = "satisfied", _("满意")
        FAIRLY = "fairly", _("基本满意")
        UNSATISFIED = "unsatisfied", _("不满意")

    kind = models.CharField(_("kind"), max_length=20, default="problem")
    code = models.CharField(_("tracking code"), max_length=12, unique=True)
    category = models.ForeignKey(Category, models.PROTECT, related_name="cases", verbose_name=_("category"))
    description = models.TextField(_("description"))
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    lat = models.FloatField(_("latitude"))
    lon = models.FloatField(_("longitude"))
    region = models.ForeignKey(Region, models.PROTECT, related_name="cases", verbose_name=_("region"))
    # the county-level ancestor, for statistics by county without walking the tree
    county = models.ForeignKey(Region, models.PROTECT, null=True, blank=True, related_name="+")
    feature = models.ForeignKey("features.Feature", models.SET_NULL, null=True, blank=True, related_name="cases",
                                verbose_name=_("reach"))
    # 巡河发现: the patrol the finding was reported from (source patrol); only its chief files it
    patrol = models.ForeignKey("patrols.Patrol", models.PROTECT, null=True, blank=True, related_name="cases",
                               verbose_name=_("patrol"))
    office = models.ForeignKey(Unit, models.PROTECT, related_name="cases", verbose_name=_("office"))
    assignee = models.ForeignKey(Unit, models.PROTECT, null=True, blank=True, related_name="assigned_cases",
                                 verbose_name=_("assignee"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.NEW)
    version = models.PositiveIntegerField(default=1)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    requirements = models.TextField(_("requirements"), blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                 related_name="reported_cases")
    reporter_name = models.CharField(_("reporter name"), max_length=64, blank=True)
    reporter_phone = models.CharField(_("reporter phone"), max_length=32, blank=True)
    external_ref = models.CharField(_("external reference"), max_length=64, blank=True)
    merged_into = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="merged")
    supervised = models.BooleanField(_("supervised (督办)"), default=False)
    urged = models.PositiveSmallIntegerField(_("times urged"), default=0)
    escalations = models.PositiveSmallIntegerField(_("escalations"), default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    rating = models.CharField(_("rating"), max_length=12, choices=Rating.choices, blank=True)
    public_note = models.TextField(_("answer to the reporter"), blank=True)
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    handling_seconds = models.PositiveIntegerField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    hidden = models.BooleanField(_("hidden pending moderation"), default=False)
    abuse_flags = models.PositiveSmallIntegerField(default=0)
    # set when the office decided (restore or confirm-hide); a decided report is not hidden again by flags
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)

    objects = CaseQuerySet.as_manager()
    # in the region or handled by an office of the jurisdiction; changed by the handling office
    jurisdiction = Jurisdiction(read=("region__path", "office__region__path"), write=("office__region__path",))

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-reported_at", "-pk"]
        indexes = [
            # inbox and lists: open cases of an office / assignee by state
            models.Index(fields=["office", "state"], name="case_office_state_idx"),
            models.Index(fields=["assignee", "state"], name="case_assignee_state_idx"),
            # `zhangzhi escalate`: overdue open cases
            models.Index(fields=["state", "deadline"], name="case_state_deadline_idx"),
            # duplicate suggestion and Open311 lat/long/radius: a box around a point
            models.Index(fields=["lat", "lon"], name="case_latlon_idx"),
            # statistics and lists by period
            models.Index(fields=["reported_at"], name="case_reported_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.category}"

    @classmethod
    def visible_extra(cls, user) -> Q:
        """Also the cases a user reported, and those assigned to a unit they work in."""
        # a subquery, not a list: one query for the whole read
        return Q(reporter=user) | Q(assignee_id__in=Unit.objects.filter(people__user=user).values("pk"))

    @property
    def is_open(self) -> bool:
        return self.state in workflow.OPEN_STATES

    def is_overdue(self, now=None) -> bool:
        return workflow.is_overdue(self.state, self.deadline, now or timezone.now())


class AppendOnlyQuerySet(RestrictedQuerySet):
    def update(self, **kwargs):
        raise TypeError("the case log is append-only")

    def delete(self):
        raise TypeError("the case log is append-only")


class CaseLog(models.Model):
    """One step of a case: who, when, which action, from which state to which, note. Append-only."""

    case = models.ForeignKey(Case, models.CASCADE, related_name="log")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    actor_name = models.CharField(max_length=100, blank=True, help_text=_("as shown at the time"))
    action = models.CharField(max_length=20)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    public = models.BooleanField(default=False, help_text=_("shown on the public page /r/<code>/"))

    objects = AppendOnlyQuerySet.as_manager()
    jurisdiction = Jurisdiction(through="case")

    class Meta:
        verbose_name = _("case log entry")
        verbose_name_plural = _("case log")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["case", "at"], name="caselog_case_at_idx")]  # the timeline

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("the case log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("the case log is append-only")


def photo_path(instance, filename: str) -> str:
    now = timezone.now()
    return f"cases/photos/{now:%Y/%m}/{filename}"


# photos the public may see (once the case has public photos): the reporter's own and the answer
PUBLIC_PHOTO_ACTIONS = ("report", "reply")


class AttachmentQuerySet(RestrictedQuerySet):

    def public(self) -> AttachmentQuerySet:
        """Photos for /r/<code>/ and Open311: taken with the report or the reply, of a case whose
        photos are public (`CaseQuerySet.with_public_photos`)."""
        return self.filter(log__action__in=PUBLIC_PHOTO_ACTIONS,
                           case__in=Case.objects.with_public_photos().values("pk"))


class Attachment(models.Model):
    """A photo of a case (report, reply, verification), checked to be a real image.

    Served only through views that check visibility: `get_absolute_url` (staff, the case's
    jurisdiction) and `public_url` (the tracking page, public photos only); never MEDIA_URL."""

    case = models.ForeignKey(Case, models.CASCADE, related_name="attachments")
    log = models.ForeignKey(CaseLog, models.SET_NULL, null=True, blank=True, related_name="attachments")
    file = models.FileField(upload_to=photo_path)
    raw_path = models.CharField(max_length=200, help_text=_("the upload as received, archived before checks"))
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    at = models.DateTimeField(default=timezone.now)

    objects = AttachmentQuerySet.as_manager()
    jurisdiction = Jurisdiction(through="case")

    class Meta:
        verbose_name = _("attachment")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return self.file.name

    def get_absolute_url(self) -> str:
        return reverse("cases:file", args=[self.pk])

    def public_url(self) -> str:
        return reverse("cases:public-photo", args=[self.case.code, self.pk])


class AbuseFlag(models.Model):
    """Someone flagged a public report as abuse; enough flags hide it pending moderation."""

    case = models.ForeignKey(Case, models.CASCADE, related_name="flags")
    client = models.CharField(max_length=64, help_text=_("hash of the IP address"))
    at = models.DateTimeField(default=timezone.now)

    objects = RestrictedQuerySet.as_manager()
    jurisdiction = Jurisdiction(through="case")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "client"], name="abuseflag_once_per_client")]

    def __str__(self) -> str:
        return f"flag on {self.case_id}"


class IntakeHit(models.Model):
    """One public report from a client, for the per-IP rate limit (DB rows: shared by all workers)."""

    client = models.CharField(max_length=64, help_text=_("hash of the IP address"))
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["client", "at"], name="intakehit_client_at_idx")]  # the rate check

    def __str__(self) -> str:
        return f"{self.client[:8]} {self.at}"
