"""Export managed objects as the GeoJSON FeatureCollection that import_features takes."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from zhangzhi.features import actions
from zhangzhi.features.models import Feature
from zhangzhi.org import audit
from zhangzhi.org.models import Region


class Command(BaseCommand):
    help = "Write features of a region (and everything below it) as a GeoJSON FeatureCollection to stdout."

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help="region code, e.g. 140322; includes everything below")
        parser.add_argument("--kind", default="", help="comma-separated kinds, e.g. river,reach")
        parser.add_argument("--as", dest="username", default="",
                            help="export only what this user may see (default: everything)")

    def handle(self, *args, region: str, kind: str, username: str, **options):
        root = Region.objects.filter(code=region).first()
        if root is None:
            raise CommandError(f"unknown region code {region!r}")
        qs = Feature.objects.unrestricted("an operator's export of everything (no --as)")
        if username:
            user = get_user_model().objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"no user {username!r}")
            qs = Feature.objects.visible_to(user)
        qs = qs.filter(region__path__startswith=root.path)
        if kind:
            qs = qs.filter(kind__code__in=[k.strip() for k in kind.split(",") if k.strip()])
        with audit.acting(via="command"):
            data = actions.export_features(qs.order_by("pk"), actor=user if username else None, region=root)
        self.stdout.write(json.dumps(data, ensure_ascii=False))
