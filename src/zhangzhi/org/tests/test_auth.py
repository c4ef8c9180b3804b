"""身份鉴别: password rules, lock-out after failed logins (page, admin, API), unlocking, idle sessions,
and the TOTP second step, driven through the pages and the API as a person would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import struct
import time
import types
from urllib.parse import parse_qs, urlparse

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import translation

from zhangzhi.conftest import PASSWORD
from zhangzhi.lib.errors import InvalidInput
from zhangzhi.org import accounts
from zhangzhi.org import actions as oa

from .admins import admins  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def login_page(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def token_call(client, username, password, **body):
    return client.post("/api/v1/auth/token", {"username": username, "password": password, **body},
                       content_type="application/json")


# -- passwords ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("password", "ok"), [
    ("abcdefgh", False),  # one kind
    ("abcd1234", False),  # two kinds
    ("Ab1-", False),  # four kinds, too short
    ("Yangquan2026", True),  # upper, lower, digit
    ("hzz-river-7", True),  # lower, symbol, digit
    ("test-pass-123", True),  # the tests' password
    ("河长制-abc", False),  # Chinese counts as a symbol: symbol and lower only
    ("河长制-abc9", True),
])
def test_it_wants_eight_characters_of_three_kinds(password, ok):
    if ok:
        password_validation.validate_password(password)
    else:
        with pytest.raises(ValidationError):
            password_validation.validate_password(password)


def test_it_explains_the_password_rule_in_chinese_and_english():
    with translation.override("zh-hans"), pytest.raises(ValidationError) as e:
        password_validation.validate_password("abcdefghij")
    assert "密码须包含大写字母、小写字母、数字、符号中的至少 3 种。" in e.value.messages
    with translation.override("en"), pytest.raises(ValidationError) as e:
        password_validation.validate_password("abcdefghij")
    assert any("at least 3 of" in m for m in e.value.messages), e.value.messages


def test_the_demo_password_is_weak_so_demo_accounts_bypass_the_rule(world):
    # zhangzhi-demo (lower case and a hyphen) fails the rule: demo people are created as illustrative,
    # which skips it, and a production deployment refuses demo accounts altogether (checks.E001)
    with pytest.raises(ValidationError):
        password_validation.validate_password("zhangzhi-demo")
    person = oa.create_person(None, name="演示", username="demo-x", password="zhangzhi-demo", illustrative=True)
    assert person.user.check_password("zhangzhi-demo")
    with pytest.raises(InvalidInput) as e:
        oa.create_person(None, name="真人", username="real-x", password="zhangzhi-demo")
    assert e.value.code == "weak_password" and "password" in e.value.fields


def test_it_refuses_a_weak_new_password_on_the_password_page(world, client):
    assert client.login(username="county-office", password=PASSWORD)
    r = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "abcdefghijk",
                                            "new_password2": "abcdefghijk"})
    assert r.status_code == 200
    assert "至少 3 种" in r.content.decode()
    r = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "Yangquan-2026",
                                            "new_password2": "Yangquan-2026"})
    assert r.status_code == 302
    world.users["county-office"].refresh_from_db()
    assert world.users["county-office"].check_password("Yangquan-2026")


# -- lock-out -------------------------------------------------------------------------------------

def test_the_login_page_locks_an_account_after_five_failures(world, client, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        assert login_page(client, "county-office", "wrong").status_code == 200
    r = login_page(client, "county-office", "wrong")
    assert r.status_code == 429
    page = r.content.decode()
    assert "登录失败次数过多，已锁定 30 分钟" in page and "安全管理员解锁" in page
    assert r["Retry-After"] == str(30 * 60)
    # the right password does not open a locked account
    r = login_page(client, "county-office", PASSWORD)
    assert r.status_code == 429 and "_auth_user_id" not in client.session
    # another account from another address is not affected
    assert login_page(client, "township-chief", PASSWORD, REMOTE_ADDR="10.1.1.1").status_code == 302


def test_the_lock_out_speaks_english_with_the_language_cookie(world, client, settings):
    client.cookies["django_language"] = "en"
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        r = login_page(client, "county-office", "wrong")
    assert r.status_code == 429
    page = r.content.decode()
    assert "Too many failed logins" in page and "30 minutes" in page and "登录失败" not in page


def test_an_account_is_locked_whatever_address_the_attempts_come_from(world, client, settings):
    for i in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        login_page(client, "county-office", "wrong", REMOTE_ADDR=f"10.2.0.{i + 1}")
    assert login_page(client, "county-office", PASSWORD, REMOTE_ADDR="10.2.0.99").status_code == 429


def test_an_address_is_locked_after_failures_against_many_accounts(world, client, settings):
    settings.LOGIN_FAILURES_PER_IP = 6
    for i in range(6):  # one failure each: no account reaches its own limit
        login_page(client, f"guess-{i}", "wrong", REMOTE_ADDR="10.3.0.1")
    assert login_page(client, "county-office", PASSWORD, REMOTE_ADDR="10.3.0.1").status_code == 429
    # the account itself is fine from elsewhere: an office's shared address does not lock its people
    assert login_page(client, "county-office", PASSWORD, REMOTE_ADDR="10.3.0.2").status_code == 302


def test_a_success_clears_the_accounts_failures_but_not_the_addresss(world, client, settings):
    settings.LOGIN_FAILURES_PER_IP = 8
    for _ in range(4):
        login_page(client, "county-office", "wrong", REMOTE_ADDR="10.4.0.1")
    for i in range(3):
        login_page(client, f"victim-{i}", "wrong", REMOTE_ADDR="10.4.0.1")
    assert login_page(client, "county-office", PASSWORD, REMOTE_ADDR="10.4.0.1").status_code == 302
    assert not AccessAttempt.objects.filter(username="county-office").exists()
    assert AccessAttempt.objects.filter(ip_address="10.4.0.1").count() == 3  # the others' stay counted


def test_the_admin_login_is_the_same_login_with_the_same_lock_out(world, client, settings):
    r = client.get("/admin/login/?next=/admin/")
    assert r.status_code == 302 and r["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    r = client.post("/admin/login/", {"username": "county-office", "password": PASSWORD})
    assert r.status_code == 302 and r["Location"].startswith(LOGIN)  # the admin's own form takes nothing
    assert "_auth_user_id" not in client.session
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        login_page(client, "county-office", "wrong")
    r = client.post(LOGIN, {"username": "county-office", "password": PASSWORD, "next": "/admin/"})
    assert r.status_code == 429
    assert client.get("/admin/").status_code == 302


def test_the_api_token_endpoint_locks_out_with_the_error_shape(world, client, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        r = token_call(client, "township-chief", "wrong")
        assert r.status_code == 422 and r.json()["error"]["code"] == "bad_credentials"
    r = token_call(client, "township-chief", "wrong")
    assert r.status_code == 429
    body = r.json()
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == "locked_out" and "锁定 30 分钟" in body["error"]["message"]
    assert r["Retry-After"] == "1800"
    assert token_call(client, "township-chief", PASSWORD).status_code == 429
    # the same count as the login page: the page is locked too
    assert login_page(client, "township-chief", PASSWORD).status_code == 429


def test_failures_on_the_page_and_the_api_add_up(world, client, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        login_page(client, "township-chief", "wrong")
    assert token_call(client, "township-chief", "wrong").status_code == 429


def lock(client, username, settings):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        login_page(client, username, "wrong", REMOTE_ADDR="10.9.9.9")
    assert login_page(client, username, PASSWORD, REMOTE_ADDR="10.9.9.8").status_code == 429


def test_the_county_office_unlocks_a_chief_of_its_county_through_the_api(world, client, api, settings):
    lock(client, "township-chief", settings)
    r = api("county-office").post("/auth/unlock", {"username": "township-chief"})
    assert r.status_code == 200, r.content
    assert r.json()["attempts_removed"] >= 1
    assert login_page(client, "township-chief", PASSWORD, REMOTE_ADDR="10.9.9.8").status_code == 302


def test_another_countys_office_cannot_unlock_or_see_the_account(world, client, api, settings):
    from zhangzhi.org.models import Unit

    oa.create_person(None, name="平定办", units=[Unit.objects.get(name="平定县河长办")], username="pd-office",
                     password=PASSWORD)
    lock(client, "township-chief", settings)
    r = api("pd-office").post("/auth/unlock", {"username": "township-chief"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert api("village-chief").post("/auth/unlock", {"username": "township-chief"}).status_code == 404


def test_the_security_administrator_unlocks_in_the_admin(world, client, settings, admins):  # noqa: F811
    lock(client, "county-office", settings)
    staff = client.__class__()
    assert staff.login(username="sec-admin", password=PASSWORD)
    listed = staff.get("/admin/auth/user/", {"locked": "yes"}).content.decode()
    assert "county-office" in listed and "township-chief" not in listed
    r = staff.post("/admin/auth/user/", {"action": "unlock", "_selected_action": [world.users["county-office"].pk]})
    assert r.status_code == 302
    assert not AccessAttempt.objects.filter(username="county-office").exists()
    assert login_page(client, "county-office", PASSWORD, REMOTE_ADDR="10.9.9.8").status_code == 302


def test_axes_reset_username_unlocks_from_the_command_line(world, client, settings):
    lock(client, "county-office", settings)
    call_command("axes_reset_username", "county-office", stdout=io.StringIO())
    assert login_page(client, "county-office", PASSWORD, REMOTE_ADDR="10.9.9.8").status_code == 302


# -- idle sessions ------------------------------------------------------------------------------------

def test_a_session_ends_after_thirty_idle_minutes(world, client, settings):
    assert settings.SESSION_IDLE_MINUTES == 30 and settings.SESSION_COOKIE_AGE == 30 * 60
    assert login_page(client, "county-office", PASSWORD).status_code == 302
    assert client.get("/map/").status_code == 200
    session = client.session
    session[accounts.LAST_SEEN_KEY] = int(time.time()) - 29 * 60
    session.save()
    assert client.get("/map/").status_code == 200  # 29 minutes: still in, and the clock restarts
    assert client.session[accounts.LAST_SEEN_KEY] >= int(time.time()) - 5
    session = client.session
    session[accounts.LAST_SEEN_KEY] = int(time.time()) - 31 * 60
    session.save()
    r = client.get("/map/")
    assert r.status_code == 302 and r["Location"].startswith(LOGIN) and "idle=1" in r["Location"]
    assert "_auth_user_id" not in client.session
    assert "长时间未操作" in client.get(r["Location"]).content.decode()


def test_an_idle_session_gets_the_api_error_shape(world, client):
    assert client.login(username="county-office", password=PASSWORD)
    session = client.session
    session[accounts.LAST_SEEN_KEY] = int(time.time()) - 3600
    session.save()
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_expired"


# -- TOTP -----------------------------------------------------------------------------------------------

def rfc6238(key: bytes, at: float, step: int = 30, digits: int = 6) -> str:
    """TOTP written out from RFC 6238 / RFC 4226 (HMAC-SHA1), independent of django-otp."""
    mac = hmac.new(key, struct.pack(">Q", int(at // step)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return str((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10 ** digits).zfill(digits)


def test_the_totp_helper_matches_the_rfc_6238_vector():
    assert rfc6238(b"12345678901234567890", 59, digits=8) == "94287082"
    assert rfc6238(b"12345678901234567890", 1111111109, digits=8) == "07081804"


@pytest.fixture
def clock(monkeypatch, settings):
    """django-otp's clock, frozen and advanced by hand (a code is accepted once per 30-second step).
    Its back-off after a wrong code runs on the real clock: off here, tested on its own below."""
    from django_otp.plugins.otp_totp import models as totp_models

    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    now = [1_800_000_000.0]
    monkeypatch.setattr(totp_models, "time", types.SimpleNamespace(time=lambda: now[0]))
    return now


def enrol(client, clock) -> bytes:
    """Enrol through the page: read the otpauth URI it shows, compute the code, confirm."""
    page = client.get("/accounts/2fa/")
    assert page.status_code == 200
    html = page.content.decode()
    assert '<div class="qr" id="otp-qr"><svg' in html
    uri = page.context["uri"]
    assert uri.startswith("otpauth://totp/") and "issuer=" in uri
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    r = client.post("/accounts/2fa/", {"otp_token": rfc6238(key, clock[0])})
    assert r.status_code == 302
    return key


def test_an_office_enrols_and_then_logs_in_in_two_steps(world, client, clock):
    assert login_page(client, "county-office", PASSWORD).status_code == 302
    key = enrol(client, clock)
    assert "已启用" in client.get("/accounts/2fa/").content.decode()
    client.post("/accounts/logout/")

    r = login_page(client, "county-office", PASSWORD)
    assert r.status_code == 302 and r["Location"] == "/accounts/login/code/"
    assert "_auth_user_id" not in client.session  # the password alone opens nothing
    assert client.get("/map/").status_code == 302
    clock[0] += 30
    r = client.post("/accounts/login/code/", {"otp_token": "000000" if rfc6238(key, clock[0]) != "000000" else "1"})
    assert r.status_code == 200 and "验证码错误" in r.content.decode()
    code = rfc6238(key, clock[0])
    r = client.post("/accounts/login/code/", {"otp_token": code})
    assert r.status_code == 302 and r["Location"] == "/map/"
    assert client.get("/map/").status_code == 200
    # the same code once more (another session) is refused: codes are single-use
    other = client.__class__()
    login_page(other, "county-office", PASSWORD)
    assert "验证码错误" in other.post("/accounts/login/code/", {"otp_token": code}).content.decode()


def test_wrong_codes_count_towards_the_lock_out(world, client, clock, settings):
    assert client.login(username="county-office", password=PASSWORD)
    enrol(client, clock)
    client.post("/accounts/logout/")
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
        login_page(client, "county-office", PASSWORD)
        client.post("/accounts/login/code/", {"otp_token": "12345"})
    login_page(client, "county-office", PASSWORD)
    r = client.post("/accounts/login/code/", {"otp_token": "12345"})
    assert r.status_code == 429 and "登录失败次数过多" in r.content.decode()


def test_a_wrong_code_slows_down_the_next_try(world, client, clock, settings):
    assert client.login(username="county-office", password=PASSWORD)
    key = enrol(client, clock)
    client.post("/accounts/logout/")
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # django-otp: after n wrong codes, nothing is checked for 60·2^(n-1) s
    clock[0] += 30
    login_page(client, "county-office", PASSWORD)
    client.post("/accounts/login/code/", {"otp_token": "12345"})
    r = client.post("/accounts/login/code/", {"otp_token": rfc6238(key, clock[0])})
    assert r.status_code == 200 and "_auth_user_id" not in client.session  # even the right code, for now


def test_a_login_that_skips_the_second_step_is_refused(world, client, clock):
    assert client.login(username="county-office", password=PASSWORD)
    enrol(client, clock)
    other = client.__class__()
    assert other.login(username="county-office", password=PASSWORD)  # a path other than the login page
    r = other.get("/map/")
    assert r.status_code == 302 and r["Location"].startswith(LOGIN)
    assert other.get("/api/v1/auth/me").status_code == 401


def test_the_api_token_needs_the_code_of_an_enrolled_account(world, client, clock):
    assert client.login(username="county-office", password=PASSWORD)
    key = enrol(client, clock)
    api = client.__class__()
    r = token_call(api, "county-office", PASSWORD)
    assert r.status_code == 422 and r.json()["error"]["code"] == "otp_required"
    clock[0] += 30
    r = token_call(api, "county-office", PASSWORD, otp="000000" if rfc6238(key, clock[0]) != "000000" else "1")
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_otp"
    clock[0] += 30
    r = token_call(api, "county-office", PASSWORD, otp=rfc6238(key, clock[0]))
    assert r.status_code == 200 and r.json()["token"]


def test_an_enrolled_user_removes_the_second_factor_with_a_code(world, client, clock):
    assert client.login(username="county-office", password=PASSWORD)
    key = enrol(client, clock)
    clock[0] += 30
    r = client.post("/accounts/2fa/", {"action": "remove", "otp_token": rfc6238(key, clock[0])})
    assert r.status_code == 302
    assert accounts.totp_device(world.users["county-office"]) is None


def test_staff_must_enrol_when_the_deployment_requires_it(world, client, clock, settings):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    assert client.login(username="county-office", password=PASSWORD)  # office staff are staff
    r = client.get("/admin/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/2fa/")
    assert "管理员账号须先启用两步验证" in client.get(r["Location"]).content.decode()
    r = token_call(client.__class__(), "county-office", PASSWORD)
    assert r.status_code == 403 and r.json()["error"]["code"] == "second_factor_enrolment_required"
    enrol(client, clock)
    assert client.get("/admin/").status_code == 200
    # a chief (not staff) is not asked
    chief = client.__class__()
    assert chief.login(username="township-chief", password=PASSWORD)
    assert chief.get("/map/").status_code == 200
