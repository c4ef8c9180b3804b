"""Behind a reverse proxy: the one client-IP rule, its use by the lock-out and the public limits, the
proxy settings from the environment, and `check --deploy` clean with the production defaults."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.test import RequestFactory

from zhangzhi.cases.tests.conftest import loop  # noqa: F401  (fixture)
from zhangzhi.conftest import PASSWORD
from zhangzhi.lib.net import client_ip, parse_ip


def ip(remote, forwarded=None, trusted=(), settings=None):
    settings.TRUSTED_PROXIES = list(trusted)
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **meta))


@pytest.mark.parametrize(("remote", "forwarded", "trusted", "expected"), [
    ("203.0.113.9", None, (), "203.0.113.9"),
    ("203.0.113.9", "1.2.3.4", (), "203.0.113.9"),  # no trusted proxy: the header is anyone's to write
    ("10.0.0.2", "1.2.3.4", ("10.0.0.2",), "1.2.3.4"),
    ("10.0.0.2", "6.6.6.6, 1.2.3.4", ("10.0.0.0/8",), "1.2.3.4"),  # the client's own claim is left of it
    ("10.0.0.2", "1.2.3.4, 10.0.0.7", ("10.0.0.0/8",), "1.2.3.4"),  # two proxies of ours
    ("10.0.0.2", "10.0.0.8, 10.0.0.7", ("10.0.0.0/8",), "10.0.0.8"),  # all ours: the left-most
    ("10.0.0.2", "1.2.3.4, garbage", ("10.0.0.0/8",), "10.0.0.2"),  # a broken hop: believe nothing past it
    ("10.0.0.2", "1.2.3.4:5678", ("10.0.0.0/8",), "1.2.3.4"),
    ("10.0.0.2", "[2001:db8::1]:443", ("10.0.0.0/8",), "2001:db8::1"),
    ("::ffff:10.0.0.2", "2001:db8::2", ("10.0.0.0/8",), "2001:db8::2"),
    ("fd00::1", "198.51.100.7", ("fd00::/8",), "198.51.100.7"),
    ("10.0.0.2", "", ("10.0.0.0/8",), "10.0.0.2"),
])
def test_it_takes_the_right_most_untrusted_address(settings, remote, forwarded, trusted, expected):
    assert ip(remote, forwarded, trusted, settings) == expected


def test_it_parses_what_proxies_write():
    assert str(parse_ip(" 1.2.3.4 ")) == "1.2.3.4"
    assert str(parse_ip("::ffff:1.2.3.4")) == "1.2.3.4"
    assert parse_ip("unknown") is None and parse_ip("") is None


def test_the_lock_out_counts_the_forwarded_client_behind_a_trusted_proxy(world, client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.LOGIN_FAILURES_PER_IP = 3
    via_proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for i in range(3):
        client.post("/accounts/login/", {"username": f"guess-{i}", "password": "x"},
                    HTTP_X_FORWARDED_FOR="198.51.100.7", **via_proxy)
    r = client.post("/accounts/login/", {"username": "county-office", "password": PASSWORD},
                    HTTP_X_FORWARDED_FOR="198.51.100.7", **via_proxy)
    assert r.status_code == 429
    # another client behind the same proxy is not locked out with it
    r = client.post("/accounts/login/", {"username": "county-office", "password": PASSWORD},
                    HTTP_X_FORWARDED_FOR="198.51.100.8", **via_proxy)
    assert r.status_code == 302


def test_a_forged_header_does_not_dodge_the_lock_out(world, client, settings):
    settings.LOGIN_FAILURES_PER_IP = 3
    for i in range(3):  # the attacker writes a new X-Forwarded-For each time; there is no trusted proxy
        client.post("/accounts/login/", {"username": f"guess-{i}", "password": "x"},
                    HTTP_X_FORWARDED_FOR=f"192.0.2.{i}", REMOTE_ADDR="203.0.113.50")
    r = client.post("/accounts/login/", {"username": "county-office", "password": PASSWORD},
                    HTTP_X_FORWARDED_FOR="192.0.2.200", REMOTE_ADDR="203.0.113.50")
    assert r.status_code == 429


def report(client, **meta):
    from zhangzhi.cases.tests.conftest import ON_RIVER

    return client.post("/report/", {"category": "garbage", "description": "桥下有垃圾", "lat": ON_RIVER["lat"],
                                    "lon": ON_RIVER["lon"], "urgency": "normal"}, **meta)


def test_the_public_report_limit_uses_the_same_rule(loop, client, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path
    settings.ZHANGZHI_CASES = {"PUBLIC_REPORTS_PER_HOUR": 1}
    # forged headers from one address: one bucket
    assert report(client, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 302
    assert report(client, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="192.0.2.2").status_code == 429
    # behind our proxy: one bucket per real client
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    assert report(client, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 302
    assert report(client, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 302
    assert report(client, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429


# -- settings from the environment (each in a fresh interpreter: settings are read once) ---------------

def settings_in(env: dict, expr: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("ZHANGZHI_") or k in ("ZHANGZHI_DATA_DIR",)}
    full.update({"DJANGO_SETTINGS_MODULE": "zhangzhi.settings", **env})
    code = f"import django; django.setup(); from django.conf import settings as s; print(repr({expr}))"
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=120)


def test_proxy_settings_come_from_the_environment(tmp_path):
    r = settings_in({"ZHANGZHI_VAR_DIR": str(tmp_path), "ZHANGZHI_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.5",
                     "ZHANGZHI_CSRF_TRUSTED_ORIGINS": "https://hzz.example.gov.cn",
                     "ZHANGZHI_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
                     "ZHANGZHI_SESSION_IDLE_MINUTES": "15"},
                    "(s.TRUSTED_PROXIES, s.CSRF_TRUSTED_ORIGINS, s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_AGE)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ("(['10.0.0.0/8', '192.168.1.5'], ['https://hzz.example.gov.cn'], "
                                "('HTTP_X_FORWARDED_PROTO', 'https'), 900)")


@pytest.mark.parametrize("env", [{"ZHANGZHI_TRUSTED_PROXIES": "10.0.0.0/33"},
                                 {"ZHANGZHI_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"},
                                 {"ZHANGZHI_SESSION_IDLE_MINUTES": "0"}])
def test_a_bad_value_stops_the_start(tmp_path, env):
    r = settings_in({"ZHANGZHI_VAR_DIR": str(tmp_path), **env}, "1")
    assert r.returncode != 0 and "ImproperlyConfigured" in r.stderr


def test_check_deploy_is_clean_with_the_production_defaults(tmp_path):
    """ZHANGZHI_PRODUCTION=1 with a key and host names: HTTPS redirect, HSTS, secure cookies come by default.
    On an empty migrated database (the production check refuses demo accounts)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHANGZHI_") or k == "ZHANGZHI_DATA_DIR"}
    env.update({"DJANGO_SETTINGS_MODULE": "zhangzhi.settings", "ZHANGZHI_PRODUCTION": "1",
                "ZHANGZHI_SECRET_KEY": secrets.token_urlsafe(50), "ZHANGZHI_ALLOWED_HOSTS": "hzz.example.gov.cn",
                "ZHANGZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}"})
    manage = [sys.executable, "-m", "zhangzhi.manage"]
    r = subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*manage, "check", "--deploy", "--database", "default", "--fail-level", "WARNING"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "System check identified no issues" in r.stdout
    # and the same settings without their key refuse to start
    r = subprocess.run([*manage, "check"], env={**env, "ZHANGZHI_SECRET_KEY": ""}, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0 and "ZHANGZHI_SECRET_KEY" in r.stderr
