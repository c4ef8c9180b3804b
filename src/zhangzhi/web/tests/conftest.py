"""Fixtures for the page tests."""

from pathlib import Path

import pytest
from django.core.management import call_command

LOCALE = Path(__file__).resolve().parents[2] / "locale"


@pytest.fixture
def compiled_messages(settings):
    """./run setup compiles the catalogues; compile here too when a .po is newer than its .mo."""
    stale = [po for po in LOCALE.glob("*/LC_MESSAGES/django.po")
             if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime]
    if stale:
        call_command("compilemessages", locale=[p.parts[-3] for p in stale], verbosity=0)
        settings.LOCALE_PATHS = [*settings.LOCALE_PATHS]  # makes Django drop the catalogues it loaded
