"""The case pages in English: Chinese msgids, English translations."""

from __future__ import annotations

from .test_pages import cases  # noqa: F401  (fixture)

PASSWORD = "test-pass-123"


def test_the_inbox_renders_in_english_with_the_language_cookie(cases, client):  # noqa: F811
    assert client.login(username="county-office", password=PASSWORD)
    client.cookies["django_language"] = "en"
    page = client.get("/cases/").content.decode()
    assert "Cases waiting for you" in page and "Awaiting acceptance" in page and "Awaiting verification" in page
    assert "Code" in page and "Responsible office" in page and "Assigned" in page  # a state, from the choices
    assert "待受理" not in page and "待核查" not in page and "编号" not in page and "已交办" not in page


def test_the_inbox_stays_chinese_by_default(cases, client):  # noqa: F811
    assert client.login(username="county-office", password=PASSWORD)
    page = client.get("/cases/").content.decode()
    assert "待受理" in page and "Awaiting acceptance" not in page


def test_the_public_report_form_speaks_english(loop, client):
    client.cookies["django_language"] = "en"
    page = client.get("/report/").content.decode()
    assert "Report a problem" in page and "Submit" in page and "问题类别" not in page
