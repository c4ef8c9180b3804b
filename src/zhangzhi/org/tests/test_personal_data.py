"""Personal data (PIPL, 数据保密性): a person's phone is whole only for the office that keeps them;
the public roster and signboards print names, posts and the hotline (or a published phone)."""

from __future__ import annotations

import pytest

from zhangzhi.conftest import PASSWORD
from zhangzhi.org import actions as oa

pytestmark = pytest.mark.django_db

PHONE = "13512345678"
MASKED = "135****5678"


@pytest.fixture
def chief(world):
    """A village chief of 盂县 with a phone of their own (no login)."""
    person = oa.create_person(None, name="郑村长", phone=PHONE, title="村支书")
    oa.appoint(None, person=person, role="river-chief", level="village", feature=world.village_reach)
    return person


def body(r) -> str:
    assert r.status_code == 200, r.content[:500]
    return r.content.decode()


# personas: whole for the offices over the chief's region, masked for everyone else who sees them
WHOLE = ["county-office", "city-office"]
MASKED_FOR = ["township-chief", "village-chief", "member-unit", "volunteer"]


@pytest.mark.parametrize("who", WHOLE + MASKED_FOR)
def test_the_people_api_shows_the_whole_phone_only_to_the_office(world, chief, api, who):
    people = api(who).get("/people", q="郑村长").json()["people"]
    text = str(people)
    if who in WHOLE:
        assert people and people[0]["phone"] == PHONE
    else:
        assert PHONE not in text
        if people:  # seen at all (jurisdiction), then masked
            assert people[0]["phone"] == MASKED


def test_the_other_county_never_sees_the_phone(world, chief, api):
    r = api("other-county-chief")
    assert PHONE not in r.get("/people", q="郑村长").content.decode()
    assert PHONE not in r.get("/posts", feature=world.village_reach.pk).content.decode()


@pytest.mark.parametrize("who", WHOLE + MASKED_FOR)
def test_the_posts_and_chiefs_apis_mask_the_phone_outside_the_office(world, chief, api, who):
    client = api(who)
    for path, params in (("/posts", {"feature": world.village_reach.pk}),
                         (f"/features/{world.village_reach.pk}/posts", {})):
        r = client.get(path, **params)
        if r.status_code == 404:
            continue  # outside the persona's jurisdiction altogether
        text = body(r)
        assert (PHONE in text) == (who in WHOLE), (who, path)
        if who not in WHOLE and "郑村长" in text:
            assert MASKED in text


def test_a_person_sees_their_own_phone(world, api):
    me = api("village-chief").get("/auth/me").json()
    assert me["person"]["phone"] == "13800000000"


def test_the_public_roster_shows_no_phone(world, chief, api, client):
    assert PHONE not in api().get("/roster", region="140300").content.decode()
    assert MASKED not in api().get("/roster", region="140300").content.decode()
    html = body(client.get("/roster/", {"region": "140322"}))
    assert "郑村长" in html and PHONE not in html and MASKED not in html


def test_the_roster_page_shows_the_phone_by_the_viewers_rights(world, chief, client):
    client.login(username="county-office", password=PASSWORD)
    assert PHONE in body(client.get("/roster/", {"region": "140322"}))
    client.logout()
    client.login(username="township-chief", password=PASSWORD)
    html = body(client.get("/roster/", {"region": "140322"}))
    assert PHONE not in html and MASKED in html
    assert f'href="tel:{MASKED}' not in html


def test_signboards_show_the_hotline_by_default(world, chief, client, api):
    chief.published_phone = "0353-5550000"
    chief.save()
    html = body(client.get(f"/s/{world.village_reach.pk}/"))
    assert "郑村长" in html and "0353-7654321" in html  # name and the 盂县 office's hotline
    assert PHONE not in html and MASKED not in html and "0353-5550000" not in html
    data = api().get(f"/signboards/{world.village_reach.pk}").json()
    assert PHONE not in str(data) and all(c["phone"] == "" for c in data["chiefs"])


def test_signboards_show_published_phones_when_configured(world, chief, client, api, settings):
    settings.SIGNBOARD_PHONE = "published"
    chief.published_phone = "0353-5550000"
    chief.save()
    html = body(client.get(f"/s/{world.village_reach.pk}/"))
    assert "0353-5550000" in html and PHONE not in html
    roster = api().get("/roster", region="140322").content.decode()
    assert "0353-5550000" in roster and PHONE not in roster


def test_a_bad_signboard_phone_setting_is_refused_at_start_up():
    import os
    import subprocess
    import sys

    env = {**os.environ, "ZHANGZHI_SIGNBOARD_PHONE": "personal", "DJANGO_SETTINGS_MODULE": "zhangzhi.settings"}
    r = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0 and "ZHANGZHI_SIGNBOARD_PHONE" in r.stderr
