"""The demo's year of cases: who may say what. A 巡河发现 is filed only by the person who made the patrol,
on that patrol's reach, and no persona sees other counties' cases through reports they did not make."""

import random

import pytest

from zhangzhi.cases.models import Case, CaseLog
from zhangzhi.demo import cases as cases_step
from zhangzhi.demo.build import Demo, build_foundation
from zhangzhi.org.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(monkeypatch):
    from zhangzhi.org import reference

    reference.ensure_all()
    d = Demo()
    build_foundation(d, random.Random(7))
    monkeypatch.setattr(cases_step, "CASES", 80)
    cases_step.build(d, random.Random(11))
    return d


def test_every_patrol_finding_names_its_patrol_and_was_filed_by_its_chief(demo):
    # one test: building the demo's foundation takes half a minute
    found = Case.objects.filter(source="patrol").select_related("patrol__person", "feature")
    assert found.count() >= 20
    for case in found:
        patrol = case.patrol
        assert patrol is not None, case.code
        assert case.feature_id == patrol.feature_id, case.code
        assert case.reporter_id == patrol.person.user_id, case.code
        filed = CaseLog.objects.get(case=case, action="report")
        assert filed.actor_id in (None, patrol.person.user_id), case.code
        assert case.patrol_findings.get().patrol_id == patrol.pk  # through the finding flow
    # the personas walk their own reaches too, and file as themselves
    assert found.filter(reporter__isnull=False).exists()

    # so no persona reports on reaches outside their posts (and sees other counties' cases through them)
    yu = Region.objects.get(code="140322")
    for username in ("village-chief", "township-chief", "volunteer"):
        person = demo.people[username]
        reported = Case.objects.filter(reporter=person.user)
        own = set(person.posts.values_list("feature_id", flat=True))
        assert set(reported.values_list("feature_id", flat=True)) <= own, username
        assert all(c.region.path.startswith(yu.path) for c in reported.select_related("region")), username
    office = Case.objects.filter(reporter=demo.people["county-office"].user).select_related("region")
    assert all(c.region.path.startswith(yu.path) for c in office)
