"""Error pages (issue 9): 403, 404 and 500 in the user's language, inside the site's frame, with a way back.

DEBUG is False in tests, so the test client gets the same pages a user does. The API keeps its JSON error
shape even for a URL no route matches.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import get_resolver

from zhangzhi.conftest import PASSWORD


def _en(client):
    client.cookies["django_language"] = "en"
    return client


# /r/<code>/ answers a mistyped tracking code with its own form (the public's part); every other missing
# page, a missing signboard or a mistyped address, gets this one
@pytest.mark.parametrize("path", ["/no-such-page/", "/s/999999/"])
def test_it_answers_a_missing_page_with_a_chinese_page_and_the_menu(client, world, compiled_messages, path):
    r = client.get(path)
    assert r.status_code == 404
    html = r.content.decode()
    assert '<header class="topbar">' in html and "河长名录" in html and "我要举报" in html  # the menu
    assert "页面不存在" in html and "跟踪码" in html and "404" in html
    assert "返回首页" in html and "返回上一页" in html
    assert "Not Found" not in html and 'lang="zh-hans"' in html


def test_it_answers_in_english_with_the_language_cookie(client, world, compiled_messages):
    r = _en(client).get("/no-such-page/")
    assert r.status_code == 404
    html = r.content.decode()
    assert 'lang="en"' in html and "Page not found" in html and "Back to the home page" in html
    assert "页面不存在" not in html and "Roster of river chiefs" in html


def test_it_hides_a_case_outside_the_jurisdiction_behind_the_same_page(client, world, compiled_messages):
    client.login(username="other-county-chief", password=PASSWORD)
    r = client.get("/cases/999999/")
    assert r.status_code == 404
    html = r.content.decode()
    assert "页面不存在" in html and "孙镇长" in html  # the menu knows who is logged in
    assert "我的待办" in html  # a way back to work
    assert "no such case" not in html  # the exception's text is for logs


def test_it_refuses_with_a_styled_403(client, world, compiled_messages):
    client.login(username="township-chief", password=PASSWORD)
    r = client.get("/cases/moderation/")
    assert r.status_code == 403
    html = r.content.decode()
    assert "没有权限" in html and '<header class="topbar">' in html and "本级河长办" in html
    assert "only river chief office" not in html


def test_it_offers_the_previous_page_only_within_the_site(client, world):
    r = client.get("/no-such-page/", HTTP_REFERER="http://testserver/roster/")
    assert 'href="http://testserver/roster/"' in r.content.decode()
    r = client.get("/no-such-page/", HTTP_REFERER="https://evil.example/")
    assert "evil.example" not in r.content.decode()


def test_it_renders_the_500_page_without_a_request_context(rf, world, compiled_messages):
    handler = get_resolver().resolve_error_handler(500)
    r = handler(rf.get("/cases/"))
    assert r.status_code == 500
    html = r.content.decode()
    assert "服务器出错" in html and '<header class="topbar">' in html and "返回首页" in html


def test_it_answers_500_through_the_middleware_with_the_page(world, settings, compiled_messages):
    settings.ROOT_URLCONF = "zhangzhi.web.tests.urls_boom"
    client = Client(raise_request_exception=False)
    r = client.get("/boom/")
    assert r.status_code == 500 and "服务器出错" in r.content.decode()
    r = _en(client).get("/boom/")
    assert "Server error" in r.content.decode()


def test_it_falls_back_to_plain_html_when_the_500_page_itself_fails(rf, monkeypatch):
    from zhangzhi.web import errors

    def broken(name):
        raise RuntimeError("template engine down")

    monkeypatch.setattr(errors.loader, "get_template", broken)
    r = errors.server_error(rf.get("/"))
    assert r.status_code == 500 and "500" in r.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/nope"])
def test_it_keeps_the_api_error_shape_for_unknown_api_urls(client, db, path):
    r = client.get(path)
    assert r.status_code == 404 and r["Content-Type"].startswith("application/json")
    assert r.json()["error"]["code"] == "not_found"

