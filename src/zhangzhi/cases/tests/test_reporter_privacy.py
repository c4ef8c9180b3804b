"""Reporters' contact data never leaves the office that handles the case: the case page, the API,
Open311 and the exports show it only to users with write scope over the case's office region."""

from __future__ import annotations

import pytest

from zhangzhi.cases import actions
from zhangzhi.conftest import PASSWORD

from .conftest import ON_RIVER

pytestmark = pytest.mark.django_db

NAME, PHONE = "欧阳举报", "13911112222"


@pytest.fixture
def reported(loop):
    """A public report with the reporter's name and phone, accepted and assigned to a member unit."""
    case = actions.public_report("1.2.3.4", category="garbage", description="河边垃圾", **ON_RIVER,
                                 reporter_name=NAME, reporter_phone=PHONE)
    office = loop.users["county-office"]
    actions.act(office, case, "accept")
    actions.act(office, case, "assign", assignee=loop.units["eco"].pk)
    return case


OFFICES = ["county-office", "city-office"]
OTHERS = ["township-chief", "village-chief", "member-unit", "volunteer", "other-county-chief", "police"]


@pytest.mark.parametrize("who", OFFICES + OTHERS)
def test_the_case_page_shows_the_reporter_only_to_the_office(loop, reported, client, who):
    assert client.login(username=who, password=PASSWORD)
    r = client.get(f"/cases/{reported.pk}/")
    text = r.content.decode()
    if who in OFFICES:
        assert r.status_code == 200 and PHONE in text and NAME in text
    else:
        assert PHONE not in text and NAME not in text


@pytest.mark.parametrize("who", OFFICES + OTHERS)
def test_the_api_shows_the_reporter_only_to_the_office(loop, reported, api, who):
    client = api(who)
    r = client.get(f"/cases/{reported.pk}")
    text = r.content.decode()
    if who in OFFICES:
        assert r.status_code == 200 and r.json()["reporter"]["phone"] == PHONE
    else:
        assert PHONE not in text and NAME not in text and "reporter" not in (r.json() if r.status_code == 200
                                                                             else {})
    listing = client.get("/cases").content.decode()
    assert PHONE not in listing and NAME not in listing  # never in lists, for anyone


def test_open311_never_shows_the_reporter(loop, reported, client):
    for path in ("/open311/v2/requests.json", "/open311/v2/requests.xml", f"/open311/v2/requests/{reported.code}.json",
                 f"/open311/v2/requests/{reported.code}.xml"):
        r = client.get(path)
        assert r.status_code == 200, path
        text = r.content.decode()
        assert reported.code in text, path
        assert PHONE not in text and NAME not in text, path


def test_the_public_tracking_page_never_shows_the_reporter(loop, reported, client):
    text = client.get(f"/r/{reported.code}/").content.decode()
    assert reported.code in text and PHONE not in text and NAME not in text


def test_the_case_export_leaves_the_reporter_out_and_is_recorded(loop, reported, client):
    from zhangzhi.org.models import ChangeLog

    assert client.login(username="county-office", password=PASSWORD)
    body = b"".join(client.get("/cases/export.csv").streaming_content).decode("utf-8-sig")
    assert reported.code in body and PHONE not in body and NAME not in body
    row = ChangeLog.objects.filter(kind="export", model="cases.Case").latest("pk")
    assert row.username == "county-office" and row.summary["personal_data"] is False
