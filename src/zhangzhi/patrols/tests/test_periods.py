"""Duty periods in local time: weeks, 旬 (incl. month ends), months, quarters, half-years."""

import datetime as dt

import pytest

from zhangzhi.patrols.periods import Period, local_bounds, local_date, period_of, periods_between, periods_ending_within

D = dt.date


@pytest.mark.parametrize("day,start,end", [
    (D(2026, 2, 1), D(2026, 2, 1), D(2026, 2, 11)),
    (D(2026, 2, 10), D(2026, 2, 1), D(2026, 2, 11)),
    (D(2026, 2, 11), D(2026, 2, 11), D(2026, 2, 21)),
    (D(2026, 2, 20), D(2026, 2, 11), D(2026, 2, 21)),
    (D(2026, 2, 21), D(2026, 2, 21), D(2026, 3, 1)),  # the last 旬 of February has 8 days
    (D(2026, 2, 28), D(2026, 2, 21), D(2026, 3, 1)),
    (D(2024, 2, 29), D(2024, 2, 21), D(2024, 3, 1)),  # leap year: 9 days
    (D(2026, 1, 31), D(2026, 1, 21), D(2026, 2, 1)),  # 11 days
    (D(2026, 12, 31), D(2026, 12, 21), D(2027, 1, 1)),  # into the next year
])
def test_dekads_are_1_to_10_11_to_20_and_21_to_the_end(day, start, end):
    assert period_of(day, "dekad") == Period("dekad", start, end)


def test_it_labels_dekads_in_chinese():
    assert [period_of(D(2026, 5, d), "dekad").label() for d in (3, 15, 31)] == [
        "2026年5月上旬", "2026年5月中旬", "2026年5月下旬"]


def test_weeks_run_monday_to_sunday_across_years():
    p = period_of(D(2027, 1, 1), "week")  # a Friday
    assert (p.start, p.end) == (D(2026, 12, 28), D(2027, 1, 4))
    assert p.label() == "2026年第53周"


@pytest.mark.parametrize("day,kind,start,end", [
    (D(2026, 3, 31), "quarter", D(2026, 1, 1), D(2026, 4, 1)),
    (D(2026, 4, 1), "quarter", D(2026, 4, 1), D(2026, 7, 1)),
    (D(2026, 12, 31), "quarter", D(2026, 10, 1), D(2027, 1, 1)),
    (D(2026, 6, 30), "half", D(2026, 1, 1), D(2026, 7, 1)),
    (D(2026, 7, 1), "half", D(2026, 7, 1), D(2027, 1, 1)),
    (D(2026, 12, 15), "month", D(2026, 12, 1), D(2027, 1, 1)),
    (D(2026, 5, 5), "year", D(2026, 1, 1), D(2027, 1, 1)),
])
def test_months_quarters_and_halves(day, kind, start, end):
    assert period_of(day, kind) == Period(kind, start, end)


def test_it_uses_beijing_time_for_the_date():
    # 15:59 UTC on 10 May is 23:59 in Beijing: still the first 旬; 16:00 UTC is the 11th
    assert period_of(local_date(dt.datetime(2026, 5, 10, 15, 59, tzinfo=dt.UTC)), "dekad").start == D(2026, 5, 1)
    assert period_of(local_date(dt.datetime(2026, 5, 10, 16, 0, tzinfo=dt.UTC)), "dekad").start == D(2026, 5, 11)
    start, _ = local_bounds(period_of(D(2026, 5, 1), "month"))
    assert start.astimezone(dt.UTC) == dt.datetime(2026, 4, 30, 16, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError):
        local_date(dt.datetime(2026, 5, 1))


def test_a_month_report_judges_the_periods_that_ended_in_it():
    may = (D(2026, 5, 1), D(2026, 6, 1))
    weeks = periods_ending_within(*may, "week")
    assert [w.last_day for w in weeks] == [D(2026, 5, d) for d in (3, 10, 17, 24, 31)]
    assert len(periods_ending_within(*may, "dekad")) == 3
    assert len(periods_ending_within(*may, "month")) == 1
    assert periods_ending_within(*may, "quarter") == []
    assert len(periods_ending_within(D(2026, 6, 1), D(2026, 7, 1), "quarter")) == 1
    assert len(list(periods_between(D(2026, 1, 1), D(2027, 1, 1), "dekad"))) == 36
    with pytest.raises(ValueError):
        period_of(D(2026, 1, 1), "fortnight")
