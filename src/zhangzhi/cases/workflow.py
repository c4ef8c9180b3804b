"""The closed-loop workflow as data (事件闭环): per case kind, its states and its actions.

Pure: no Django import. A kind is a table of transitions, each naming the states it may start
from, the state it leads to (None: the state stays), the roles that may take it and what its
body must carry. `decide()` is the one place that says whether an action is allowed; the
actions layer works out the caller's roles on a case (office, assignee, reporter, system) and
maps the two refusals to HTTP: NotPermitted → 403, WrongState → 409.

Later kinds (proposals 提案, rectification of inspection findings 整改) register their own
table with `register()` and reuse the same engine, log and concurrency control.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# states of a problem (问题) — other kinds may use a subset or add their own
NEW = "new"                  # 待受理
DECLINED = "declined"        # 不予受理
MERGED = "merged"            # 已合并
ACCEPTED = "accepted"        # 已受理 (待交办)
ASSIGNED = "assigned"        # 已交办 (待承办)
IN_PROGRESS = "in_progress"  # 办理中
REPLIED = "replied"          # 已反馈 (待核查)
CLOSED = "closed"            # 已办结
ARCHIVED = "archived"        # 已归档

# roles a caller can have on one case
OFFICE = "office"        # staff of the case's chief office or an office above it
ASSIGNEE = "assignee"    # people of the unit the case is assigned or transferred to
REPORTER = "reporter"    # whoever reported it (the public through the tracking code)
SYSTEM = "system"        # periodic jobs (escalate, archive)

OPEN_STATES = frozenset({NEW, ACCEPTED, ASSIGNED, IN_PROGRESS, REPLIED})
DONE_STATES = frozenset({CLOSED, ARCHIVED})
WITH_ASSIGNEE = frozenset({ASSIGNED, IN_PROGRESS})
RETURN_WINDOW_HOURS = 24  # 责任退回 only within this many hours of assignment


@dataclass(frozen=True)
class Transition:
    """One action of a kind: from which states, to which state, by whom, with what."""

    action: str
    sources: frozenset[str]
    target: str | None
    roles: frozenset[str]
    needs: tuple[str, ...] = ()  # body fields that must be present
    label: str = ""


@dataclass(frozen=True)
class Kind:
    """A case kind: its states (in display order) and its transitions by action name."""

    code: str
    states: tuple[str, ...]
    transitions: dict[str, Transition] = field(default_factory=dict)
    initial: str = NEW

    def actions(self) -> list[str]:
        return list(self.transitions)


class WorkflowError(Exception):
    """Base for refusals; the message says why in words for the user."""


class UnknownAction(WorkflowError):
    pass


class NotPermitted(WorkflowError):
    """The caller has none of the roles the action needs (→ 403)."""


class WrongState(WorkflowError):
    """The action does not start from the case's current state (→ 409)."""


def _t(action, sources, target, roles, needs=(), label=""):
    return Transition(action, frozenset(sources), target, frozenset(roles), tuple(needs), label)


PROBLEM = Kind(
    code="problem",
    states=(NEW, ACCEPTED, ASSIGNED, IN_PROGRESS, REPLIED, CLOSED, ARCHIVED, DECLINED, MERGED),
    transitions={t.action: t for t in (
        _t("accept", {NEW}, ACCEPTED, {OFFICE}, label="受理"),
        _t("decline", {NEW}, DECLINED, {OFFICE}, ("note",), "不予受理"),
        _t("merge", {NEW, ACCEPTED}, MERGED, {OFFICE}, ("into",), "合并"),
        _t("assign", {NEW, ACCEPTED}, ASSIGNED, {OFFICE}, ("assignee",), "交办"),
        _t("transfer", {NEW, ACCEPTED}, ASSIGNED, {OFFICE}, ("assignee",), "移送"),
        _t("return", {ASSIGNED}, ACCEPTED, {ASSIGNEE}, ("note",), "责任退回"),
        _t("take", {ASSIGNED}, IN_PROGRESS, {ASSIGNEE}, label="承办"),
        _t("reply", {IN_PROGRESS}, REPLIED, {ASSIGNEE}, ("note",), "反馈"),
        _t("verify", {REPLIED}, CLOSED, {OFFICE}, label="核查通过"),
        _t("redo", {REPLIED}, IN_PROGRESS, {OFFICE}, ("note",), "重办"),
        _t("urge", {ASSIGNED, IN_PROGRESS}, None, {OFFICE}, label="催办"),
        _t("supervise", OPEN_STATES, None, {OFFICE}, label="督办"),
        _t("escalate", OPEN_STATES - {NEW}, None, {OFFICE, SYSTEM}, label="提级办理"),
        _t("rate", {CLOSED}, ARCHIVED, {REPORTER}, ("rating",), "评价"),
        _t("archive", {CLOSED}, ARCHIVED, {OFFICE, SYSTEM}, label="归档"),
    )},
)

# 整改 (rectification of an inspection finding): assigned straight away, no public, no merge;
# a unit that hands it back (退回) leaves it accepted for the office to assign again.
RECTIFICATION = Kind(
    code="rectification",
    states=(ACCEPTED, ASSIGNED, IN_PROGRESS, REPLIED, CLOSED, ARCHIVED),
    initial=ASSIGNED,
    transitions={a: PROBLEM.transitions[a] for a in (
        "assign", "return", "take", "reply", "verify", "redo", "urge", "supervise", "escalate", "archive")},
)

KINDS: dict[str, Kind] = {k.code: k for k in (PROBLEM, RECTIFICATION)}


def register(kind: Kind) -> None:
    """Add a kind (e.g. proposals) to the engine."""
    KINDS[kind.code] = kind


def kind(code: str) -> Kind:
    try:
        return KINDS[code]
    except KeyError:
        raise UnknownAction(f"unknown case kind {code!r}") from None


def decide(kind_code: str, state: str, action: str, roles: set[str] | frozenset[str]) -> str:
    """The state after `action`, or a refusal. Role is checked before state: a person who may
    never take the action hears 403 whatever the state; one who may, but not now, hears 409."""
    k = kind(kind_code)
    t = k.transitions.get(action)
    if t is None:
        raise UnknownAction(f"unknown action {action!r}; one of {', '.join(k.actions())}")
    if not (t.roles & set(roles)):
        raise NotPermitted(f"{action} needs the role {' or '.join(sorted(t.roles))} on this case")
    if state not in t.sources:
        raise WrongState(f"{action} is not possible while the case is {state}")
    return t.target or state


def allowed(kind_code: str, state: str, roles: set[str] | frozenset[str]) -> list[str]:
    """Actions the holder of `roles` can take now (for buttons and the inbox)."""
    k = kind(kind_code)
    return [a for a, t in k.transitions.items() if t.roles & set(roles) and state in t.sources]


def can_return(assigned_at, now) -> bool:
    """责任退回 is open for RETURN_WINDOW_HOURS after assignment, and not after."""
    return assigned_at is not None and (now - assigned_at).total_seconds() <= RETURN_WINDOW_HOURS * 3600


def is_overdue(state: str, deadline, now) -> bool:
    return state in WITH_ASSIGNEE and deadline is not None and deadline < now


def open311_status(state: str) -> str:
    """GeoReport v2 knows only open and closed."""
    return "closed" if state in DONE_STATES | {DECLINED, MERGED} else "open"
