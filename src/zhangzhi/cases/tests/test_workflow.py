"""The pure workflow table: role before state, every action's sources, the 24-hour return window."""

from __future__ import annotations

import datetime as dt

import pytest

from zhangzhi.cases import workflow as wf

T = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)


def test_it_walks_the_happy_path():
    state = wf.NEW
    for action, role in [("accept", wf.OFFICE), ("assign", wf.OFFICE), ("take", wf.ASSIGNEE),
                         ("reply", wf.ASSIGNEE), ("verify", wf.OFFICE), ("rate", wf.REPORTER)]:
        state = wf.decide("problem", state, action, {role})
    assert state == wf.ARCHIVED


def test_it_checks_the_role_before_the_state():
    with pytest.raises(wf.NotPermitted):
        wf.decide("problem", wf.CLOSED, "accept", {wf.ASSIGNEE})
    with pytest.raises(wf.WrongState):
        wf.decide("problem", wf.CLOSED, "accept", {wf.OFFICE})


def test_it_refuses_unknown_actions_and_kinds():
    with pytest.raises(wf.UnknownAction):
        wf.decide("problem", wf.NEW, "approve", {wf.OFFICE})
    with pytest.raises(wf.UnknownAction):
        wf.decide("nope", wf.NEW, "accept", {wf.OFFICE})


def test_it_has_the_fifteen_actions():
    assert set(wf.PROBLEM.actions()) == {"accept", "decline", "merge", "assign", "transfer", "return", "take",
                                         "reply", "verify", "redo", "urge", "supervise", "escalate", "rate",
                                         "archive"}


def test_every_transition_starts_and_ends_in_a_known_state():
    for kind in wf.KINDS.values():
        for t in kind.transitions.values():
            assert t.sources <= set(kind.states) | set(wf.PROBLEM.states)
            assert t.target is None or t.target in kind.states


def test_rectification_reuses_the_engine():
    assert wf.decide("rectification", wf.ASSIGNED, "take", {wf.ASSIGNEE}) == wf.IN_PROGRESS
    with pytest.raises(wf.UnknownAction):
        wf.decide("rectification", wf.ASSIGNED, "merge", {wf.OFFICE})


def test_allowed_lists_what_a_role_can_do_now():
    assert wf.allowed("problem", wf.NEW, {wf.OFFICE}) == ["accept", "decline", "merge", "assign", "transfer",
                                                          "supervise"]
    assert wf.allowed("problem", wf.ASSIGNED, {wf.ASSIGNEE}) == ["return", "take"]


def test_the_return_window_is_24_hours():
    assert wf.can_return(T, T + dt.timedelta(hours=24))
    assert not wf.can_return(T, T + dt.timedelta(hours=24, seconds=1))
    assert not wf.can_return(None, T)


def test_open311_status_follows_the_state():
    assert wf.open311_status(wf.IN_PROGRESS) == "open"
    assert {wf.open311_status(s) for s in (wf.CLOSED, wf.ARCHIVED, wf.DECLINED)} == {"closed"}
