"""API tokens: named, listed and revoked by their owner and their office, expiring, pruned."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from zhangzhi.conftest import PASSWORD
from zhangzhi.org import actions as oa
from zhangzhi.org.models import ApiToken

from .admins import admins  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def issue(client, username, name=""):
    r = client.post("/api/v1/auth/token", {"username": username, "password": PASSWORD, "name": name},
                    content_type="application/json")
    assert r.status_code == 200, r.content
    return r.json()["token"]


def call(client, token, method, path, body=None):
    kw = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if method == "get":
        return client.get(f"/api/v1{path}", body or {}, **kw)
    return getattr(client, method)(f"/api/v1{path}", body or {}, content_type="application/json", **kw)


def test_a_chief_lists_their_tokens_by_name_without_the_secret(world, client):
    phone = issue(client, "township-chief", "巡河手机")
    issue(client, "township-chief", "备用")
    r = call(client, phone, "get", "/auth/tokens")
    assert r.status_code == 200
    rows = r.json()["tokens"]
    assert [t["name"] for t in rows] == ["备用", "巡河手机"]  # newest first
    assert all(t["username"] == "township-chief" and t["live"] for t in rows)
    assert [t["current"] for t in rows] == [False, True]
    issued, seen = (dt.datetime.fromisoformat(rows[0][k].replace("Z", "+00:00")) for k in ("created", "last_used"))
    assert abs(seen - issued) < dt.timedelta(seconds=1)  # issued, not used since
    assert phone not in r.content.decode() and "digest" not in rows[0]


def test_last_used_is_written_at_most_every_five_minutes(world, client):
    token = issue(client, "township-chief")
    row = ApiToken.objects.get()
    first = row.last_used
    assert first is not None  # the issue
    call(client, token, "get", "/auth/me")
    assert ApiToken.objects.get().last_used == first  # within five minutes: no write
    ApiToken.objects.filter(pk=row.pk).update(last_used=timezone.now() - dt.timedelta(minutes=6))
    call(client, token, "get", "/auth/me")
    assert ApiToken.objects.get().last_used > first


def test_the_owner_revokes_a_token_and_it_stops_working_at_once(world, client):
    lost, kept = issue(client, "township-chief", "丢失的手机"), issue(client, "township-chief", "新手机")
    lost_id = ApiToken.objects.get(name="丢失的手机").pk
    r = call(client, kept, "delete", f"/auth/tokens/{lost_id}")
    assert r.status_code == 204
    r = call(client, lost, "get", "/auth/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    assert call(client, kept, "get", "/auth/me").status_code == 200
    live = call(client, kept, "get", "/auth/tokens").json()["tokens"]
    assert [t["name"] for t in live] == ["新手机"]
    every = call(client, kept, "get", "/auth/tokens", {"all": "true"}).json()["tokens"]
    revoked = next(t for t in every if t["name"] == "丢失的手机")
    assert revoked["revoked"] is not None and not revoked["live"]
    assert ApiToken.objects.get(pk=lost_id).revoked_by == world.users["township-chief"]


def test_the_county_office_revokes_a_chiefs_token_in_its_county(world, client):
    chief = issue(client, "township-chief", "巡河手机")
    office = issue(client, "county-office")
    listed = call(client, office, "get", "/auth/tokens", {"username": "township-chief"}).json()["tokens"]
    assert [t["name"] for t in listed] == ["巡河手机"]
    assert call(client, office, "delete", f"/auth/tokens/{listed[0]['id']}").status_code == 204
    assert call(client, chief, "get", "/auth/me").status_code == 401


def test_tokens_outside_the_scope_answer_404(world, client):
    from zhangzhi.org.models import Unit

    oa.create_person(None, name="平定办", units=[Unit.objects.get(name="平定县河长办")], username="pd-office",
                     password=PASSWORD)
    issue(client, "township-chief")
    office_token = issue(client, "county-office")
    chief_id = ApiToken.objects.get(user__username="township-chief").pk
    office_id = ApiToken.objects.get(user__username="county-office").pk
    other = issue(client, "pd-office")
    assert call(client, other, "delete", f"/auth/tokens/{chief_id}").status_code == 404
    assert call(client, other, "get", "/auth/tokens", {"username": "township-chief"}).json()["tokens"] == []
    village = issue(client, "village-chief")
    r = call(client, village, "delete", f"/auth/tokens/{office_id}")  # a chief cannot touch the office's
    assert r.status_code == 404 and set(r.json()["error"]) == {"code", "message", "fields"}
    assert call(client, village, "delete", "/auth/tokens/99999999").status_code == 404
    assert call(client, office_token, "get", "/auth/me").status_code == 200


def test_the_security_administrator_sees_and_revokes_every_token(world, client, admins):  # noqa: F811
    issue(client, "township-chief")
    issue(client, "other-county-chief")
    sec = issue(client, "sec-admin")
    names = {t["username"] for t in call(client, sec, "get", "/auth/tokens").json()["tokens"]}
    assert {"township-chief", "other-county-chief", "sec-admin"} <= names
    target = ApiToken.objects.get(user__username="other-county-chief").pk
    assert call(client, sec, "delete", f"/auth/tokens/{target}").status_code == 204
    # the audit administrator is no account manager
    audit = issue(client, "audit-admin")
    assert call(client, audit, "delete", f"/auth/tokens/{ApiToken.objects.get(user__username='sec-admin').pk}") \
        .status_code == 404


def test_the_admin_revokes_all_tokens_of_an_account(world, client, admins):  # noqa: F811
    token = issue(client, "township-chief")
    staff = client.__class__()
    assert staff.login(username="sec-admin", password=PASSWORD)
    r = staff.post("/admin/auth/user/", {"action": "revoke_tokens",
                                         "_selected_action": [world.users["township-chief"].pk]})
    assert r.status_code == 302
    assert call(client, token, "get", "/auth/me").status_code == 401
    assert staff.get("/admin/org/apitoken/").status_code == 200


def test_an_expired_token_is_refused(world, client):
    token = issue(client, "township-chief")
    ApiToken.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    assert call(client, token, "get", "/auth/me").status_code == 401


def test_a_token_of_a_deactivated_account_is_refused(world, client):
    token = issue(client, "township-chief")
    user = world.users["township-chief"]
    user.is_active = False
    user.save()
    assert call(client, token, "get", "/auth/me").status_code == 401


def test_prune_tokens_deletes_old_revoked_and_expired_tokens_only(world, client, settings):
    now = timezone.now()
    user = world.users["township-chief"]
    for name, revoked, expires in [("old-revoked", now - dt.timedelta(days=40), now + dt.timedelta(days=1)),
                                   ("new-revoked", now - dt.timedelta(days=2), now + dt.timedelta(days=1)),
                                   ("old-expired", None, now - dt.timedelta(days=31)),
                                   ("new-expired", None, now - dt.timedelta(days=1)),
                                   ("live", None, now + dt.timedelta(days=30))]:
        ApiToken.objects.create(user=user, name=name, digest=name.ljust(64, "0"), revoked=revoked, expires=expires)
    out = io.StringIO()
    call_command("prune_tokens", stdout=out)
    assert "deleted 2 " in out.getvalue()
    assert set(ApiToken.objects.values_list("name", flat=True)) == {"new-revoked", "new-expired", "live"}
    call_command("prune_tokens", "--days", "0", stdout=out)
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["live"]
