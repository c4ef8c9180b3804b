"""举报审核: the office restores or confirms reports hidden by abuse flags, in its jurisdiction only."""

from __future__ import annotations

import pytest

from zhangzhi.cases import actions
from zhangzhi.cases.models import Case

from .conftest import ON_RIVER

PASSWORD = "test-pass-123"


@pytest.fixture
def flagged(loop, settings):
    """A public report in 盂县 hidden by two abuse flags."""
    settings.ZHANGZHI_CASES = {"ABUSE_FLAGS_TO_HIDE": 2}
    case = actions.public_report("1.2.3.4", category="garbage", description="辱骂内容", **ON_RIVER)
    actions.flag_abuse(case, "10.0.0.1")
    actions.flag_abuse(case, "10.0.0.2")
    case.refresh_from_db()
    assert case.hidden
    return case


def login(client, who):
    assert client.login(username=who, password=PASSWORD)
    return client


def test_the_county_office_sees_the_hidden_report_in_its_queue(flagged, client):
    page = login(client, "county-office").get("/cases/moderation/").content.decode()
    assert flagged.code in page and "辱骂内容" in page
    assert "1 件待审核" in client.get("/cases/").content.decode()


def test_it_hides_the_queue_of_other_counties(flagged, client):
    page = login(client, "other-county-chief").get("/cases/moderation/")
    assert page.status_code == 403  # a chief is not office staff
    from zhangzhi.org import actions as oa

    oa.create_person(None, name="平定办", units=[flagged.office.__class__.objects.get(name="平定县河长办")],
                     username="pd-office", password=PASSWORD)
    page = login(client, "pd-office").get("/cases/moderation/").content.decode()
    assert flagged.code not in page
    r = client.post(f"/cases/{flagged.pk}/moderate", {"decision": "restore"})
    assert r.status_code == 404
    flagged.refresh_from_db()
    assert flagged.hidden


def test_restore_shows_the_report_again_and_logs_it(flagged, client):
    login(client, "county-office")
    r = client.post(f"/cases/{flagged.pk}/moderate", {"decision": "restore", "note": "内容属实"})
    assert r.status_code == 302
    flagged.refresh_from_db()
    assert not flagged.hidden and flagged.moderated_at is not None
    entry = flagged.log.last()
    assert entry.action == "unhide" and entry.note == "内容属实" and entry.actor_name == "县办李"
    assert "辱骂内容" in client.get(f"/r/{flagged.code}/").content.decode()
    assert flagged.code not in client.get("/cases/moderation/").content.decode().split("近 30 天")[0]
    # the office's decision stands: more flags do not hide it again
    actions.flag_abuse(flagged, "10.0.0.3")
    flagged.refresh_from_db()
    assert not flagged.hidden


def test_confirm_hide_keeps_it_hidden_and_leaves_the_queue(flagged, client):
    login(client, "county-office")
    client.post(f"/cases/{flagged.pk}/moderate", {"decision": "hide"})
    flagged.refresh_from_db()
    assert flagged.hidden and flagged.moderated_at is not None
    assert flagged.log.last().action == "hide"
    assert not Case.objects.awaiting_moderation().exists()
    assert "等待审核" in client.get(f"/r/{flagged.code}/").content.decode()


def test_a_bad_decision_changes_nothing(flagged, client):
    login(client, "county-office")
    client.post(f"/cases/{flagged.pk}/moderate", {"decision": "delete"})
    flagged.refresh_from_db()
    assert flagged.hidden and flagged.moderated_at is None
