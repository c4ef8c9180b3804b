"""What a parameter code is called and in which unit its values are shown, in the reader's language.

Names and units are data: the GB 3838-2002 table (``shared/data/gb3838.csv``, through :mod:`gb3838`) names the
items it grades; HJ 212-2017 Table B.1 and the surface-water station codes (``data/hj212_water.csv``: turbidity,
conductivity …) name the rest. Both files carry a Chinese and an English name; the page's language picks one.
Units are the ones values are stored in (mass concentrations in mg/L, see ``hj212.normalise``); words among
them (无量纲 for pH, 个/L) go through gettext. A code no file knows is shown as itself.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.utils.translation import get_language, gettext

from . import gb3838, hj212

CLASS_ALERT = "class"  # alerts.CLASS: a section missing its target class
_TABLE = Path(__file__).resolve().parent / "data" / "hj212_water.csv"


@dataclass(frozen=True)
class Parameter:
    code: str
    name_cn: str
    name_en: str
    unit: str  # as stored: 'mg/L', 'dimensionless', '℃', 'NTU', '个/L' …


@lru_cache(maxsize=1)
def _hj212() -> dict[str, tuple[str, str, str]]:
    with _TABLE.open(encoding="utf-8", newline="") as fh:
        return {r["code"]: (r["name_cn"], r["name_en"], r["unit"]) for r in csv.DictReader(fh)}


@lru_cache(maxsize=512)
def lookup(code: str) -> Parameter | None:
    item = None
    try:
        std = gb3838.default_standard()
        item = std.item(code, "river") or std.item(code, "lake")
    except (OSError, gb3838.StandardFileError):  # the limits file is unavailable: the B.1 table still names it
        pass
    row = _hj212().get(code)
    if item is not None:
        # the CSV's English names carry qualifiers like "(as P), rivers": the first part is the name people use
        unit = item.unit.split(" (")[0]
        return Parameter(code, item.name_cn, item.name_en.split(",")[0].strip(), unit)
    if row is not None:
        name_cn, name_en, unit = row
        return Parameter(code, name_cn, name_en, hj212.normalise(code, 1.0, unit)[1])
    return None


def _english() -> bool:
    return (get_language() or "").startswith("en")


def name(code: str) -> str:
    """'w21003' → '氨氮(NH3-N)' ('Ammonia nitrogen (NH3-N)' in English); the class alert → 水质类别."""
    if code == CLASS_ALERT:
        return gettext("水质类别")
    p = lookup(code)
    if p is None:
        return code
    return p.name_en if _english() else p.name_cn


def unit_label(unit: str) -> str:
    """A stored unit as a reader writes it: 'dimensionless' → 无量纲, '个/L' stays a count in English."""
    if unit in ("dimensionless", ""):
        return gettext("无量纲")
    if unit == "个/L":
        return gettext("个/L")
    return unit


def unit(code: str, fallback: str = "") -> str:
    """The unit values of ``code`` are shown in (the reading's own unit when the code is unknown)."""
    p = lookup(code)
    if p is not None:
        return unit_label(p.unit)
    return unit_label(fallback) if fallback else ""
