"""GB 3838-2002 single-factor classes, with expectations derived from the limits CSV itself."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from zhangzhi.lib.datadir import data_dir
from zhangzhi.monitoring import gb3838
from zhangzhi.monitoring.gb3838 import (
    CLASSES,
    WORST,
    NothingToGrade,
    class_rank,
    classify,
    limit,
    load_standard,
    meets_target,
    period_class,
)

DATA = data_dir()
CSV = DATA.resolve() / "gb3838.csv"
ROWS = list(csv.DictReader(CSV.open(encoding="utf-8")))
STANDARD = load_standard(CSV)


def row(item_en_start: str) -> dict[str, str]:
    (found,) = [r for r in ROWS if r["item_en"].startswith(item_en_start)]
    return found


def limits_of(item_en_start: str) -> list[float]:
    return [float(row(item_en_start)[k]) for k in CLASSES]


def grade(code: str, value: float) -> str:
    # A deciding companion lets reference items (fecal coliform) be graded too.
    companion = "w01009" if code == "w21003" else "w21003"
    return classify({code: value, companion: 7.5 if companion == "w01009" else 0.1}).items[code]


def better_side(value: float, direction: str, step: float = 1e-6) -> float:
    return value - step if direction == "<=" else value + step


def worse_side(value: float, direction: str) -> float:
    return value * 1.001 + 1e-6 if direction == "<=" else value * 0.999 - 1e-6


# ------------------------------------------------------------------------------------------ loading


def test_it_loads_every_row_of_the_file() -> None:
    assert len(STANDARD.items) == len(ROWS) == 25
    assert [i.name_cn for i in STANDARD.items] == [r["item_cn"] for r in ROWS]


def test_it_reads_codes_from_the_notes() -> None:
    assert STANDARD.item("w21003").name_en.startswith("Ammonia")
    assert STANDARD.item("w20122") is STANDARD.item("w20138")  # copper: both codes named in the note
    assert STANDARD.item("w20141").name_en == "Arsenic"
    assert STANDARD.item("w99999") is None
    assert {"w01009", "w01019", "w21011", "w21001", "w02003", "w01010"} <= STANDARD.codes


def test_the_default_standard_follows_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert gb3838.default_standard().items == STANDARD.items
    (tmp_path / "gb3838.csv").write_text(
        "item_cn,item_en,unit,direction,I,II,III,IV,V,note\n"
        "氨氮,Ammonia,mg/L,<=,1,2,3,4,5,HJ212 code w21003\n", encoding="utf-8")
    monkeypatch.setenv("ZHANGZHI_DATA_DIR", str(tmp_path))
    assert gb3838.data_dir() == tmp_path
    assert classify({"w21003": 2.5}, standard=gb3838.default_standard()).klass == "III"


def test_it_refuses_a_broken_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("item_cn,item_en,unit,direction,I,II,III,IV,V,note\nx,x,mg/L,<=,1,2,three,4,5,w21003\n",
                   encoding="utf-8")
    with pytest.raises(gb3838.StandardFileError, match="three"):
        load_standard(bad)
    missing = tmp_path / "missing.csv"
    missing.write_text("item_cn,unit\n", encoding="utf-8")
    with pytest.raises(gb3838.StandardFileError, match="missing columns"):
        load_standard(missing)


# ------------------------------------------------------------------------------- derived from the CSV

GRADED = [r for r in ROWS if r["direction"] in ("<=", ">=") and "湖、库" not in r["item_cn"]]


@pytest.mark.parametrize("csv_row", GRADED, ids=lambda r: r["item_en"][:20])
def test_each_limit_grades_to_the_best_class_that_holds_it(csv_row: dict[str, str]) -> None:
    code = gb3838._CODE_RE.findall(csv_row["note"])[0]
    direction = csv_row["direction"]
    limits = [float(csv_row[k]) for k in CLASSES]
    for i, value in enumerate(limits):
        # On the limit: the best class whose limit equals it (equal limits → the better class).
        best = next(k for k, lim in zip(CLASSES, limits, strict=True) if lim == value)
        assert grade(code, value) == best
        assert grade(code, better_side(value, direction)) == best
        if i + 1 < len(limits) and limits[i + 1] != value:
            assert grade(code, worse_side(value, direction)) == CLASSES[i + 1]
    assert grade(code, worse_side(limits[-1], direction)) == WORST


@pytest.mark.parametrize("csv_row", GRADED, ids=lambda r: r["item_en"][:20])
def test_limit_returns_the_threshold_of_each_class(csv_row: dict[str, str]) -> None:
    code = gb3838._CODE_RE.findall(csv_row["note"])[-1]
    for klass in CLASSES:
        bound = limit(code, klass)
        expected = float(csv_row[klass])
        assert (bound.high if csv_row["direction"] == "<=" else bound.low) == expected
        assert not bound.exceeded_by(expected)
        assert bound.exceeded_by(worse_side(expected, csv_row["direction"]))


def test_lake_phosphorus_uses_the_lake_row() -> None:
    river, lake = limits_of("Total phosphorus (as P), rivers"), limits_of("Total phosphorus (as P), lakes")
    for klass, r_lim, l_lim in zip(CLASSES, river, lake, strict=True):
        assert limit("w21011", klass, "river").high == r_lim
        assert limit("w21011", klass, "lake").high == l_lim
        assert limit("w21011", klass, "reservoir").high == l_lim


# ---------------------------------------------------------------------------------- hand-checked cases


def test_ammonia_0_4_alone_is_class_ii() -> None:
    result = classify({"w21003": 0.4})
    assert (result.klass, result.deciding, result.items) == ("II", ["w21003"], {"w21003": "II"})
    assert result.description == "优"


def test_phosphorus_0_15_is_iii_in_a_river_and_v_in_a_lake() -> None:
    assert classify({"w21011": 0.15}, "river").klass == "III"
    assert classify({"w21011": 0.15}, "lake").klass == "V"


@pytest.mark.parametrize(("ph", "klass"), [(9.5, WORST), (5.9, WORST), (6.0, "I"), (9.0, "I"), (7.4, "I")])
def test_ph_must_stay_within_6_to_9(ph: float, klass: str) -> None:
    assert classify({"w01001": ph}).klass == klass


@pytest.mark.parametrize(("do", "klass"), [(2.5, "V"), (1.9, WORST), (7.5, "I"), (5.0, "III"), (9.0, "I")])
def test_dissolved_oxygen_is_higher_is_better(do: float, klass: str) -> None:
    assert classify({"w01009": do}).klass == klass


@pytest.mark.parametrize(("cod", "klass"), [(15, "I"), (15.01, "III"), (20, "III"), (40, "V"), (40.1, WORST)])
def test_cod_ties_between_i_and_ii_grade_as_i(cod: float, klass: str) -> None:
    assert classify({"w01018": cod}).klass == klass


def test_the_worst_deciding_item_sets_the_class_and_is_named() -> None:
    result = classify({"w01009": 6.2, "w01019": 5.0, "w21003": 1.2, "w21011": 0.25, "w01001": 7.6})
    assert result.klass == "IV"
    assert result.deciding == ["w21003", "w21011"]
    assert result.items == {"w01009": "II", "w01019": "III", "w21003": "IV", "w21011": "IV", "w01001": "I"}
    assert result.rank == 4 and result.description == "轻度污染"


def test_reference_items_are_graded_but_do_not_decide() -> None:
    result = classify({"w21003": 0.1, "w21001": 3.0, "w02003": 50000, "w01010": 31.0}, "lake")
    assert result.klass == "I" and result.deciding == ["w21003"]
    assert result.items == {"w21003": "I", "w21001": WORST, "w02003": WORST}
    assert result.ignored == ["w01010"]


def test_total_nitrogen_applies_to_lakes_only() -> None:
    result = classify({"w21003": 0.1, "w21001": 3.0}, "river")
    assert result.items == {"w21003": "I"} and result.ignored == ["w21001"]


def test_unknown_codes_are_reported_not_graded() -> None:
    result = classify({"w21003": 0.6, "w01003": 12.0, "a34004": 30})
    assert result.klass == "III" and result.ignored == ["w01003", "a34004"]


def test_metals_grade_in_mg_per_l() -> None:
    # 0.08 μg/L of mercury = 0.00008 mg/L: above the class II limit (0.00005), within III (0.0001).
    assert classify({"w20111": 0.00008}).klass == "III"


def test_float_noise_does_not_push_a_value_over_its_limit() -> None:
    assert classify({"w21003": 0.1 + 0.2 + 0.2}).klass == "II"  # 0.5000000000000001


@pytest.mark.parametrize("values", [{}, {"w01010": 20.0}, {"w21001": 1.0, "x": 2.0}])
def test_it_refuses_to_grade_nothing(values: dict[str, float]) -> None:
    with pytest.raises(NothingToGrade):
        classify(values)
    assert issubclass(NothingToGrade, ValueError)


def test_it_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="finite"):
        classify({"w21003": float("nan")})
    with pytest.raises(ValueError, match="river"):
        classify({"w21003": 0.1}, "sea")
    with pytest.raises(KeyError):
        limit("w01010", "III")
    with pytest.raises(ValueError):
        limit("w21003", WORST)


# -------------------------------------------------------------------------------------------- helpers


def test_class_ranks_and_targets() -> None:
    assert [class_rank(k) for k in (*CLASSES, WORST)] == [1, 2, 3, 4, 5, 6]
    assert meets_target("II", "III") and meets_target("III", "III")
    assert not meets_target("IV", "III") and not meets_target(WORST, "V")
    with pytest.raises(ValueError):
        class_rank("VI")


def test_period_class_grades_the_means() -> None:
    month = [{"w21003": 0.3, "w01009": 8.0}, {"w21003": 1.4, "w01009": 4.0}, {"w21003": 0.5}]
    result = period_class(month)
    # NH3-N mean 0.733 → III; DO mean 6.0 → II (the missing DO sample is not a zero).
    assert result.items == {"w21003": "III", "w01009": "II"}
    assert result.klass == "III"


def test_a_single_bad_hour_need_not_fail_the_month() -> None:
    month = [{"w21011": 0.05}] * 29 + [{"w21011": 0.9}]
    assert classify({"w21011": 0.9}).klass == WORST
    assert period_class(month).klass == "II"


def test_it_spreads_section_classes_over_the_reach_tree():
    from zhangzhi.monitoring.gb3838 import spread_over_tree

    # river 1 → county reaches 2, 3 → township reaches 4 (under 2), 5 (under 3) → village 6 (under 4)
    parent = {1: None, 2: 1, 3: 1, 4: 2, 5: 3, 6: 4, 9: None}
    out = spread_over_tree({6: "II", 5: "IV"}, parent)
    assert out[6] == "II" and out[5] == "IV"
    assert out[4] == "II" and out[2] == "II"  # up from the village section
    assert out[3] == "IV"
    assert out[1] == "IV"  # a river is as good as its worst section
    assert 9 not in out  # another river with no section stays uncoloured
    out = spread_over_tree({2: "III"}, parent)
    assert out[4] == "III" and out[6] == "III"  # down from the county reach's section
    assert 3 not in out and 5 not in out  # the river's class does not leak into reaches with no section
