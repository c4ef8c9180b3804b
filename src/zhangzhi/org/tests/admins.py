"""The three administrators (三员) as personas: `sys-admin`, `sec-admin`, `audit-admin` (as in the demo)."""

from __future__ import annotations

import pytest

from zhangzhi.conftest import PASSWORD


@pytest.fixture
def admins(world):
    """{role: user} for the system, security and audit administrators, made through the action."""
    from zhangzhi.org import actions as oa
    from zhangzhi.org import reference

    reference.ensure_admin_roles()  # transactional tests flush the groups with everything else
    made = {}
    # the audit administrator reads the city's log: a unit that is no office gives reading, not writing
    cyber = oa.create_unit(None, name="阳泉市委网信办", kind="other", region=world.city)
    for username, role in (("sys-admin", "system"), ("sec-admin", "security"), ("audit-admin", "audit")):
        person = oa.create_person(None, name=username, username=username, password=PASSWORD,
                                  units=[cyber] if role == "audit" else [])
        oa.assign_admin_role(None, person.user, role)
        made[role] = person.user
    return made
