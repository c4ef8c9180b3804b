"""Import a GeoJSON FeatureCollection of managed objects as a user, through the same action as the API."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from zhangzhi.features import actions
from zhangzhi.lib.errors import ZhangzhiError


class Command(BaseCommand):
    help = ("Import features from a GeoJSON FeatureCollection (properties name, kind, level, code, parent, "
            "region). All or nothing: each bad feature is reported on stderr and nothing is imported.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .geojson file, or - for standard input")
        parser.add_argument("--as", dest="username", required=True,
                            help="the user whose jurisdiction limits what may be imported")

    def handle(self, *args, file: str, username: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        collection = self._read(file)
        try:
            created = actions.import_features(user, collection)
        except ZhangzhiError as exc:
            for where, problem in exc.fields.items():
                self.stderr.write(f"{where}: {problem}")
            raise CommandError(exc.message) from None
        self.stdout.write(f"imported {len(created)} features")

    def _read(self, file: str):
        import sys

        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{file} is not JSON: {exc}") from None
