"""The judging engine's words in the reader's language, at display time.

``tracks`` is pure (no Django) and words its reasons in Chinese from ``tracks.REASONS``; the
Patrol row stores those sentences (``Patrol.reasons``), and ``periods.Period.label()`` gives Chinese
period labels. Neither is changed: they are translated here, when a page, an export or the API
shows them. A stored sentence is matched against a pattern made from its ``REASONS`` template, the
numbers are taken out as the engine wrote them, and put into the translated sentence (the Chinese
msgids below, with English in locale/en). A sentence matching no pattern (an older wording) is shown
as stored. In Chinese (the default) the stored text is returned untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from . import tracks

# tracks.REASONS without the format specs (the numbers come already formatted); a test checks that
# the keys and the wording match tracks.REASONS.
REASON_MSGIDS = {
    "duration": _("巡河时长不足{min_min}分钟（实际{actual_min}分钟）"),
    "length": _("巡河里程不足{min_km}公里（实际{actual_km}公里）"),
    "within": _("轨迹偏离河道：仅{share}的轨迹点在河道{buffer_m}米范围内（要求{min_share}）"),
    "coverage": _("河段覆盖率不足{min_cov}（实际{actual}）"),
    "interval": _("距上次巡河不足{min_min}分钟（实际{actual_min}分钟）"),
    "short_and_long": _("疑似作弊：{actual_min}分钟内巡河{actual_km}公里，时长与里程不符"),
    "jump": _("疑似作弊：轨迹存在瞬移（最高速度{speed}公里/小时）"),
    "driving": _("疑似驾车巡河：移动速度多在{limit}公里/小时以上（平均{speed}公里/小时）"),
    "duplicate": _("疑似作弊：轨迹与此前巡河记录几乎相同（平均偏差{distance}米）"),
    "no_jitter": _("疑似作弊：轨迹缺少正常的GPS漂移（坐标长时间完全不变或过于规则）"),
    "empty": _("轨迹点过少，无法判定"),
}

FLAG_LABELS = {
    "driving": _("疑似驾车"), "jump": _("轨迹瞬移"), "duplicate": _("轨迹重复"), "no_jitter": _("缺少GPS漂移"),
    "short_and_long": _("时长与里程不符"),
}

PERIOD_KIND_LABELS = {"week": _("周"), "dekad": _("旬"), "month": _("月"), "quarter": _("季"), "half": _("半年"),
                      "year": _("年")}

_FIELD = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def _pattern(template: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _FIELD.finditer(template):
        out.append(re.escape(template[pos:m.start()]))
        out.append(f"(?P<{m.group(1)}>.+?)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(out) + "$")


def bare(template: str) -> str:
    """A REASONS template without its format specs: ``{share:.0%}`` → ``{share}``."""
    return _FIELD.sub(lambda m: "{" + m.group(1) + "}", template)


_PATTERNS = [(code, _pattern(t)) for code, t in tracks.REASONS.items()]

_PERIODS = [
    (re.compile(r"^(?P<year>\d{4})年第(?P<n>\d+)周$"), _("{year}年第{n}周")),
    (re.compile(r"^(?P<year>\d{4})年(?P<month>\d+)月上旬$"), _("{year}年{month}月上旬")),
    (re.compile(r"^(?P<year>\d{4})年(?P<month>\d+)月中旬$"), _("{year}年{month}月中旬")),
    (re.compile(r"^(?P<year>\d{4})年(?P<month>\d+)月下旬$"), _("{year}年{month}月下旬")),
    (re.compile(r"^(?P<year>\d{4})年(?P<month>\d+)月$"), _("{year}年{month}月")),
    (re.compile(r"^(?P<year>\d{4})年第(?P<n>\d+)季度$"), _("{year}年第{n}季度")),
    (re.compile(r"^(?P<year>\d{4})年上半年$"), _("{year}年上半年")),
    (re.compile(r"^(?P<year>\d{4})年下半年$"), _("{year}年下半年")),
    (re.compile(r"^(?P<year>\d{4})年$"), _("{year}年")),
]


def _chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


def reason(text: str) -> str:
    """One stored reason in the active language."""
    if _chinese():
        return text
    for code, pattern in _PATTERNS:
        m = pattern.match(text)
        if m:
            return str(REASON_MSGIDS[code]).format(**m.groupdict())
    return text


def reasons(texts: Iterable[str]) -> list[str]:
    return [reason(t) for t in texts]


def period_label(text: str) -> str:
    """A ``periods.Period.label()`` in the active language."""
    if _chinese():
        return text
    for pattern, msgid in _PERIODS:
        m = pattern.match(text)
        if m:
            return str(msgid).format(**m.groupdict())
    return text


def flag_label(code: str) -> str:
    return str(FLAG_LABELS.get(code, code))


def reason_separator() -> str:
    return gettext("；")


def list_separator() -> str:
    return gettext("、")


def yes_no(value: bool) -> str:
    return gettext("是") if value else gettext("否")
