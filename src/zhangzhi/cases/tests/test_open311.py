"""Open311 GeoReport v2: the PyPI `georeport` client against a live server, XML, bad input."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from defusedxml import ElementTree
from django.core.files.uploadedfile import SimpleUploadedFile
from georeport import GeoReport

from zhangzhi.cases import actions
from zhangzhi.cases.models import Case

from .conftest import ON_RIVER
from .images import png

SINCE = "2000-01-01T00:00:00Z"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def post(client, fmt="json", **kw):
    data = {"service_code": "garbage", "lat": ON_RIVER["lat"], "long": ON_RIVER["lon"],
            "description": "河边垃圾成堆", "first_name": "三", "last_name": "张", "phone": "13700000000", **kw}
    return client.post(f"/open311/v2/requests.{fmt}", data)


def test_the_georeport_client_works_against_the_live_server(loop, live_server):
    base = f"{live_server.url}/open311/v2"
    r = requests.post(f"{base}/requests.json", data={"service_code": "dumping", "lat": ON_RIVER["lat"],
                                                     "long": ON_RIVER["lon"], "description": "河道堆放渣土"},
                      timeout=10)
    assert r.status_code == 201, r.text
    code = r.json()[0]["service_request_id"]
    for fmt in ("json", "xml"):
        client = GeoReport(base, output_format=fmt)
        services = client.get_service_list()
        assert "garbage" in {s["service_code"] for s in services}
        assert "attributes" in client.get_service_definition("garbage")
        found = client.get_service_requests(service_code="dumping", status="open", start_date=SINCE)
        found = found if isinstance(found, list) else [found]  # xmltodict: one element is not a list
        assert [x["service_request_id"] for x in found] == [code]
        one = client.get_service_request(code)
        assert one["status"] == "open" and one["service_code"] == "dumping"
    # an empty list is <service_requests/>, which the client's xmltodict cannot index: JSON only
    assert GeoReport(base).get_service_requests(status="closed", start_date=SINCE) == []


def test_discovery_lists_both_formats(loop, client):
    body = client.get("/open311/v2/discovery.json").json()
    assert body["endpoints"][0]["formats"] == ["application/json", "text/xml"]
    root = ElementTree.fromstring(client.get("/open311/v2/discovery.xml").content)
    assert root.tag == "discovery" and root.find("endpoints/endpoint/url").text.endswith("/open311/v2/")


def test_it_creates_a_request_with_a_photo_and_gives_a_token(loop, client):
    r = post(client, media=SimpleUploadedFile("p.png", png()))
    assert r.status_code == 201
    row = r.json()[0]
    case = Case.objects.get(code=row["service_request_id"])
    assert case.source == "open311" and case.attachments.count() == 1 and case.reporter_name == "张 三"
    assert client.get(f"/open311/v2/tokens/{row['token']}.json").json() == [
        {"service_request_id": case.code, "token": case.code}]
    detail = client.get(f"/open311/v2/requests/{case.code}.json").json()
    assert len(detail) == 1 and detail[0]["media_url"] == ""  # not before the office has looked at it
    actions.act(None, case, "accept")
    detail = client.get(f"/open311/v2/requests/{case.code}.json").json()
    assert detail[0]["media_url"].startswith("http")
    assert b"".join(client.get(detail[0]["media_url"]).streaming_content) == png()
    assert "13700000000" not in str(detail) and "张" not in str(detail)


def test_it_answers_in_xml(loop, client):
    r = post(client, fmt="xml")
    assert r.status_code == 201 and r["Content-Type"].startswith("text/xml")
    code = ElementTree.fromstring(r.content).find("request/service_request_id").text
    root = ElementTree.fromstring(client.get(f"/open311/v2/requests/{code}.xml").content)
    assert root.tag == "service_requests" and root.find("request/status").text == "open"
    assert root.find("request/agency_responsible").text == "盂县河长办"
    services = ElementTree.fromstring(client.get("/open311/v2/services.xml").content)
    assert services.find("service/metadata").text == "false"


def test_open_closed_follows_the_workflow(loop, client):
    case = actions.public_report("1.1.1.1", category="garbage", description="x", **ON_RIVER)
    for a in ("assign", "take", "reply", "verify"):
        actions.act(None, case, a, note="已清理", assignee=loop.units["eco"].pk)
    row = client.get(f"/open311/v2/requests/{case.code}.json").json()[0]
    assert row["status"] == "closed" and row["status_notes"] == "已清理"


def test_it_filters_by_place_time_code_and_page(loop, client):
    a = actions.public_report("1.1.1.1", category="garbage", description="a", **ON_RIVER)
    b = actions.public_report("1.1.1.2", category="dumping", description="b", lat=38.09, lon=113.45)
    actions.public_report("1.1.1.3", category="dumping", description="c", lat=38.09, lon=113.45,
                          at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))

    def codes(**params):
        return {r["service_request_id"] for r in client.get("/open311/v2/requests.json", params).json()}

    assert codes() == {a.code, b.code}  # the last 90 days by default
    assert codes(lat=ON_RIVER["lat"], long=ON_RIVER["lon"], radius=500) == {a.code}
    assert codes(bbox="113.4,38.0,113.5,38.2") == {b.code}
    assert len(codes(start_date=SINCE, service_code="dumping")) == 2
    assert codes(service_request_id=f"{a.code},{b.code}") == {a.code, b.code}
    assert len(codes(page_size=1)) == 1


def test_a_post_missing_required_fields_is_400_and_creates_nothing(loop, client):
    r = client.post("/open311/v2/requests.json", {"service_code": "garbage", "description": "x"})
    assert r.status_code == 400 and "lat" in r.json()[0]["description"]
    r = client.post("/open311/v2/requests.xml", {"lat": "38", "long": "113", "description": "x"})
    assert r.status_code == 400
    assert ElementTree.fromstring(r.content).find("error/code").text == "400"
    assert post(client, service_code="ufo").status_code == 400
    assert post(client, lat="31.2", long="121.5").status_code == 400
    assert post(client, media=SimpleUploadedFile("p.png", b"not an image")).status_code == 400
    assert post(client, lat="north").status_code == 400
    assert not Case.objects.exists()


def test_bad_queries_are_400(loop, client):
    assert client.get("/open311/v2/requests.json", {"status": "pending"}).status_code == 400
    assert client.get("/open311/v2/requests.json", {"start_date": "yesterday"}).status_code == 400
    assert client.get("/open311/v2/requests/NOPE.json").status_code == 404
    assert client.get("/open311/v2/services/ufo.xml").status_code == 404
