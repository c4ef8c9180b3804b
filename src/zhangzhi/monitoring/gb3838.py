"""GB 3838-2002 (地表水环境质量标准) water-quality classes by the single-factor method.

Pure Python, no Django. The limits are data: Table 1 of the standard as kept in
``shared/data/gb3838.csv`` (one row per item, classes I–V, a lake/reservoir row for total phosphorus).
Which HJ 212 codes belong to a row is read from the row's ``note`` (every ``w12345`` code named there),
so the code mapping lives in the data file too.

Grading follows 环办〔2011〕22号《地表水环境质量评价办法（试行）》 as summarised in ``shared/data/gb3838.md``:

* each item gets the best class whose limit it meets: ``<=`` items (a tie between classes, e.g. COD
  I and II both 15, gives the better class), ``>=`` for dissolved oxygen, pH inside 6–9; an item worse
  than the class V limit is 劣V;
* the section's class is the worst class among the deciding items (单因子评价法);
* water temperature, total nitrogen and fecal coliform do not decide the class (the CSV notes say so:
  rows whose note says "not used for class evaluation" or excluded from class evaluation); TN and fecal
  coliform are still graded and reported in ``items``; water temperature has no limits and is only
  listed as ignored;
* lakes and reservoirs grade total phosphorus with the 湖、库 row; rows marked 湖、库 without a general
  counterpart (TN) apply to lakes only and are ignored for rivers;
* period classes (month, year) grade the arithmetic means of the period's values.

Values must be in the table's units (mg/L, pH, 个/L): convert HJ 212 μg/L codes first
(:func:`zhangzhi.monitoring.hj212.normalise`). Comparisons allow a relative 1e-9 so float noise from
averaging does not push a value exactly on a limit into the worse class. Class I dissolved oxygen is
"saturation ≥90 % or ≥7.5 mg/L"; only the 7.5 mg/L form is applied (no saturation is computed).
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from zhangzhi.lib import datadir

__all__ = [
    "CLASSES",
    "WORST",
    "Item",
    "Limit",
    "NothingToGrade",
    "Result",
    "Standard",
    "StandardFileError",
    "class_rank",
    "classify",
    "data_dir",
    "default_standard",
    "limit",
    "load_standard",
    "meets_target",
    "period_class",
    "period_means",
]

CLASSES = ("I", "II", "III", "IV", "V")
WORST = "劣V"
_RANKS = {name: rank for rank, name in enumerate((*CLASSES, WORST), start=1)}
_WATER_BODIES = {"river": "river", "lake": "lake", "reservoir": "lake"}
_DESCRIPTIONS = {"I": "优", "II": "优", "III": "良好", "IV": "轻度污染", "V": "中度污染", WORST: "重度污染"}

_CODE_RE = re.compile(r"\b[a-z]\d{5}\b")
# The notes say "Not used for class evaluation" (water temperature), "excludes TN from the 21
# class-evaluation indicators", "Excluded from the 21 class-evaluation indicators" (fecal coliform).
_NOT_DECIDING_RE = re.compile(r"not used for class evaluation|exclude[sd]?\b[^.;]*\bclass[- ]evaluation",
                              re.IGNORECASE)
_LAKE_MARK = "湖、库"
# Float noise from averaging must not move a value sitting on a limit into the worse class.
_TOLERANCE = 1e-9


class StandardFileError(ValueError):
    """The limits file is missing a column or holds a value that cannot be read."""


class NothingToGrade(ValueError):
    """No value given, or none of the values is a class-deciding GB 3838 item."""


class Limit(NamedTuple):
    """Bounds of one class for one item: ``low`` ≤ value ≤ ``high``; ``None`` = unbounded."""

    low: float | None
    high: float | None

    def exceeded_by(self, value: float) -> bool:
        """True when ``value`` lies outside the bounds (the alert condition)."""
        if self.low is not None and value < self.low * (1 - _TOLERANCE):
            return True
        return self.high is not None and value > self.high * (1 + _TOLERANCE)


@dataclass(frozen=True)
class Item:
    """One row of GB 3838-2002 Table 1."""

    name_cn: str
    name_en: str
    unit: str
    direction: str  # '<=', '>=', 'range' or 'descriptive'
    limits: tuple[Limit, ...]  # one per class I..V; empty for descriptive rows
    codes: tuple[str, ...]
    lake_only: bool
    decides: bool
    note: str = ""

    def grade(self, value: float) -> str | None:
        """Class of ``value`` for this item (None for descriptive items)."""
        if not self.limits:
            return None
        for name, bounds in zip(CLASSES, self.limits, strict=True):
            if not bounds.exceeded_by(value):
                return name
        return WORST


@dataclass(frozen=True)
class Result:
    """Outcome of a single-factor grading.

    ``klass`` is the section's class; ``deciding`` the codes that set it (the worst deciding items);
    ``items`` every graded code with its own class, deciding or not; ``ignored`` codes that are not in
    the standard, have no limits, or do not apply to this water body.
    """

    klass: str
    deciding: list[str]
    items: dict[str, str]
    ignored: list[str] = field(default_factory=list)
    water_body: str = "river"

    @property
    def rank(self) -> int:
        return class_rank(self.klass)

    @property
    def description(self) -> str:
        """Qualitative description (优, 良好, 轻度污染, 中度污染, 重度污染)."""
        return _DESCRIPTIONS[self.klass]


@dataclass(frozen=True)
class Standard:
    """The loaded table: items in file order and the code → item lookup per water body."""

    items: tuple[Item, ...]
    source: str = ""
    _by_body: dict[str, dict[str, Item]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for body in ("river", "lake"):
            table: dict[str, Item] = {}
            for item in self.items:
                if item.lake_only and body != "lake":
                    continue
                for code in item.codes:
                    # A lake-specific row overrides the general row of the same code (total phosphorus).
                    if code not in table or item.lake_only:
                        table[code] = item
            self._by_body[body] = table

    def item(self, code: str, water_body: str = "river") -> Item | None:
        """The row grading ``code`` in ``water_body``, or None."""
        return self._by_body[_body(water_body)].get(code)

    @property
    def codes(self) -> frozenset[str]:
        """Every HJ 212 code the table names."""
        return frozenset(code for item in self.items for code in item.codes)

    def classify(self, values: Mapping[str, float], water_body: str = "river") -> Result:
        body = _body(water_body)
        if not values:
            raise NothingToGrade("no values to grade")
        table = self._by_body[body]
        items: dict[str, str] = {}
        ignored: list[str] = []
        deciding_classes: dict[str, str] = {}
        for code, value in values.items():
            item = table.get(code)
            if item is None or not item.limits:
                ignored.append(code)
                continue
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"value of {code} is not a finite number: {value!r}")
            klass = item.grade(value)
            assert klass is not None
            items[code] = klass
            if item.decides:
                deciding_classes[code] = klass
        if not deciding_classes:
            raise NothingToGrade(
                f"none of the codes {', '.join(sorted(values))} is a class-deciding"
                f" GB 3838-2002 item for a {body}")
        worst = max(deciding_classes.values(), key=class_rank)
        order = {code: i for i, code in enumerate(code for item in self.items for code in item.codes)}
        deciding = sorted((c for c, k in deciding_classes.items() if k == worst),
                          key=lambda c: (order.get(c, len(order)), c))
        return Result(worst, deciding, items, ignored, body)

    def limit(self, code: str, klass: str, water_body: str = "river") -> Limit:
        item = self.item(code, water_body)
        if item is None or not item.limits:
            raise KeyError(f"{code} has no GB 3838-2002 limit for a {_body(water_body)}")
        rank = class_rank(klass)
        if rank > len(CLASSES):
            raise ValueError(f"class {klass} has no limit: it is what lies beyond class V")
        return item.limits[rank - 1]


def _body(water_body: str) -> str:
    try:
        return _WATER_BODIES[water_body]
    except KeyError:
        raise ValueError(f"water body must be 'river' or 'lake', not {water_body!r}") from None


def _parse_limit(direction: str, text: str, where: str) -> Limit:
    try:
        if direction == "range":
            low, _, high = text.partition("-")
            return Limit(float(low), float(high))
        if direction == "<=":
            return Limit(None, float(text))
        if direction == ">=":
            return Limit(float(text), None)
    except ValueError:
        raise StandardFileError(f"{where}: limit {text!r} is not a number") from None
    raise StandardFileError(f"{where}: unknown direction {direction!r}")


_COLUMNS = ("item_cn", "item_en", "unit", "direction", *CLASSES, "note")


@lru_cache(maxsize=8)
def load_standard(path: str | os.PathLike[str]) -> Standard:
    """Read the GB 3838 limits CSV (cached per path)."""
    path = Path(path)
    items = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = set(_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise StandardFileError(f"{path}: missing columns {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            where = f"{path.name}:{line}"
            direction = row["direction"].strip()
            note = row["note"] or ""
            if direction == "descriptive":
                limits: tuple[Limit, ...] = ()
            else:
                limits = tuple(_parse_limit(direction, row[name].strip(), where) for name in CLASSES)
            items.append(Item(
                name_cn=row["item_cn"], name_en=row["item_en"], unit=row["unit"], direction=direction,
                limits=limits, codes=tuple(dict.fromkeys(_CODE_RE.findall(note))),
                lake_only=_LAKE_MARK in row["item_cn"],
                decides=bool(limits) and not _NOT_DECIDING_RE.search(note),
                note=note,
            ))
    return Standard(tuple(items), str(path))


def data_dir() -> Path:
    """``$ZHANGZHI_DATA_DIR``, else ``<repo root>/../shared/data`` (see zhangzhi.lib.datadir)."""
    return datadir.data_dir()


def default_standard() -> Standard:
    """The standard from ``data_dir()/gb3838.csv`` (cached)."""
    return load_standard(data_dir() / "gb3838.csv")


def class_rank(klass: str) -> int:
    """'I' → 1 … 'V' → 5, '劣V' → 6."""
    try:
        return _RANKS[klass]
    except KeyError:
        raise ValueError(f"unknown water-quality class {klass!r}") from None


def meets_target(klass: str, target: str) -> bool:
    """True when ``klass`` is as good as ``target`` or better (III meets a IV target)."""
    return class_rank(klass) <= class_rank(target)


def classify(values: Mapping[str, float], water_body: str = "river",
             standard: Standard | None = None) -> Result:
    """Single-factor class of one set of values (HJ 212 code → value in the table's unit)."""
    return (standard or default_standard()).classify(values, water_body)


def limit(code: str, klass: str, water_body: str = "river", standard: Standard | None = None) -> Limit:
    """Bounds ``code`` must stay within to meet ``klass``; ``Limit.exceeded_by(v)`` is the alert test."""
    return (standard or default_standard()).limit(code, klass, water_body)


def period_means(samples: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Arithmetic mean of each code over the samples that carry it."""
    sums: dict[str, list[float]] = {}
    for sample in samples:
        for code, value in sample.items():
            value = float(value)
            if math.isfinite(value):
                sums.setdefault(code, []).append(value)
    return {code: math.fsum(vals) / len(vals) for code, vals in sums.items()}


def period_class(samples: Iterable[Mapping[str, float]], water_body: str = "river",
                 standard: Standard | None = None) -> Result:
    """Class of a period (week, month, year …): grade each code's mean over the period."""
    return classify(period_means(samples), water_body, standard)


def spread_over_tree(direct: dict[int, str], parent_of: dict[int, int | None]) -> dict[int, str]:
    """Colour a tree of reaches from the classes of the sections that sit on some of them.

    A reach with sections inside it (on itself or on reaches below it) takes the worst of their classes:
    a river is as good as its worst section. A reach with none inside it takes the class of the nearest
    reach above it that has a section of its own, since that section represents it. Pure: ids in, ids out.
    """
    guard = 64  # deeper than any real reach tree; stops a cycle in bad data
    up: dict[int, str] = {}
    for node, klass in direct.items():
        cur: int | None = node
        for _ in range(guard):
            if cur is None:
                break
            if cur not in up or class_rank(klass) > class_rank(up[cur]):
                up[cur] = klass
            cur = parent_of.get(cur)
    out = dict(up)
    for node in parent_of:
        if node in out:
            continue
        cur = parent_of.get(node)
        for _ in range(guard):
            if cur is None or cur in direct:
                break
            cur = parent_of.get(cur)
        if cur is not None:
            out[node] = direct[cur]
    return out
