"""The small shared helpers: the data directory, the local time zone, the browser fixture's guard."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from zhangzhi.conftest import allow_async_unsafe
from zhangzhi.lib.datadir import REPO_ROOT, data_dir
from zhangzhi.lib.timezone import LOCAL_TZ


def test_it_reads_the_data_dir_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ZHANGZHI_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path.resolve()


def test_it_defaults_to_the_shared_data_beside_the_repository(monkeypatch):
    monkeypatch.delenv("ZHANGZHI_DATA_DIR", raising=False)
    assert data_dir() == (REPO_ROOT.parent / "shared" / "data").resolve()
    assert (REPO_ROOT / "src" / "zhangzhi" / "settings.py").exists()


def test_settings_and_tests_share_one_data_dir(settings):
    assert Path(settings.DATA_DIR) == data_dir()
    assert (data_dir() / "regions" / "shanxi.csv").exists()


def test_local_time_is_beijing_time_and_the_settings_zone(settings):
    assert settings.TIME_ZONE == "Asia/Shanghai" == str(LOCAL_TZ)
    noon = dt.datetime(2026, 7, 1, 4, tzinfo=dt.UTC).astimezone(LOCAL_TZ)
    assert (noon.hour, noon.utcoffset()) == (12, dt.timedelta(hours=8))


@pytest.mark.parametrize("before", [None, "false"])
def test_it_restores_async_unsafe_after_the_browser(monkeypatch, before):
    if before is None:
        monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    else:
        monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", before)
    with allow_async_unsafe():
        assert os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] == "true"
    assert os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE") == before


def test_it_restores_async_unsafe_when_the_browser_fails(monkeypatch):
    monkeypatch.delenv("DJANGO_ALLOW_ASYNC_UNSAFE", raising=False)
    with pytest.raises(RuntimeError), allow_async_unsafe():
        raise RuntimeError("chromium did not start")
    assert "DJANGO_ALLOW_ASYNC_UNSAFE" not in os.environ
