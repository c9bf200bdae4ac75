"""The statistics' arithmetic on seeded cases and hourly counts, with exact expected
figures: nearest-rank medians and 90th percentiles, ISO weeks and months in local days,
the days summer time starts and ends, the chart's geometry and the CSV file."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.statistics.csv_export import BYTE_ORDER_MARK, csv_text
from bot.statistics.report import (
    Durations,
    Fact,
    Granularity,
    compute,
    default_range,
    durations,
    local_midnight_utc,
    nearest_rank,
    period_of,
    periods_between,
)
from bot.statistics.svg import bar_chart, round_step

STOCKHOLM = ZoneInfo("Europe/Stockholm")
WEEK, MONTH = Granularity.WEEK, Granularity.MONTH
OUTCOMES = ("advice_given", "referred_police", "other")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def fact(
    opened: datetime,
    level: str = "elevated",
    categories: tuple[str, ...] = (),
    wants_person: bool = False,
    claimed: int | None = None,
    resolved: int | None = None,
    outcome: str | None = None,
) -> Fact:
    return Fact(opened, level, categories, wants_person, claimed, resolved, outcome)


def report_of(facts, counts, first: date, last: date, granularity=WEEK):
    return compute(facts, counts, periods_between(first, last, granularity), STOCKHOLM, OUTCOMES)


def row(report, code: str):
    return next(figures for period, figures in report.rows if period.code == code)


# -- percentiles -----------------------------------------------------------------------------


def test_nearest_rank_takes_the_value_at_rank_ceil_p_times_n():
    assert nearest_rank([600, 60, 300, 120], 50) == 120  # rank 2: the lower middle
    assert nearest_rank([600, 60, 300, 120], 90) == 600  # rank ceil(3.6) = 4
    ten = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert nearest_rank(ten, 50) == 50 and nearest_rank(ten, 90) == 90
    eleven = [*ten, 110]
    assert nearest_rank(eleven, 50) == 60 and nearest_rank(eleven, 90) == 100
    assert nearest_rank([42], 50) == nearest_rank([42], 90) == 42
    assert nearest_rank([], 50) is None


def test_durations_leave_out_the_cases_without_a_time():
    assert durations([None, 300, None, 100, 200]) == Durations(median=200, p90=300)
    assert durations([None, None]) == Durations(median=None, p90=None)


# -- periods in local days ----------------------------------------------------------------------


def test_weeks_are_iso_weeks_monday_to_sunday_with_the_iso_year():
    assert period_of(date(2026, 12, 5), WEEK).first_day == date(2026, 11, 30)
    assert period_of(date(2026, 12, 5), WEEK).last_day == date(2026, 12, 6)
    assert period_of(date(2025, 12, 31), WEEK).code == "2026-W01"  # Monday 29 December
    assert period_of(date(2027, 1, 1), WEEK).code == "2026-W53"
    assert period_of(date(2026, 2, 14), MONTH).code == "2026-02"
    assert period_of(date(2026, 2, 14), MONTH).last_day == date(2026, 2, 28)
    assert period_of(date(2028, 2, 1), MONTH).last_day == date(2028, 2, 29)


def test_the_default_range_is_the_last_twelve_periods_with_the_current_one():
    assert default_range(date(2026, 12, 5), WEEK) == (date(2026, 9, 14), date(2026, 12, 6))
    assert default_range(date(2026, 12, 5), MONTH) == (date(2026, 1, 1), date(2026, 12, 31))
    assert default_range(date(2026, 3, 1), MONTH) == (date(2025, 4, 1), date(2026, 3, 31))
    assert len(periods_between(*default_range(date(2026, 12, 5), WEEK), WEEK)) == 12


def test_local_midnight_is_23_utc_in_winter_and_22_utc_in_summer():
    assert local_midnight_utc(date(2026, 11, 30), STOCKHOLM) == utc(2026, 11, 29, 23)
    assert local_midnight_utc(date(2026, 7, 1), STOCKHOLM) == utc(2026, 6, 30, 22)


def test_a_week_ends_at_local_midnight_between_sunday_and_monday():
    facts = [
        fact(utc(2026, 11, 29, 22)),  # Sunday 23:00 CET: week 48
        fact(utc(2026, 11, 29, 23)),  # Monday 00:00 CET: week 49
        fact(utc(2026, 10, 18, 21)),  # Sunday 23:00 CEST: week 42
        fact(utc(2026, 10, 18, 22)),  # Monday 00:00 CEST: week 43
    ]
    report = report_of(facts, [], date(2026, 10, 12), date(2026, 12, 6))
    assert row(report, "2026-W48").cases == 1
    assert row(report, "2026-W49").cases == 1
    assert row(report, "2026-W42").cases == 1
    assert row(report, "2026-W43").cases == 1
    assert report.total.cases == 4


def test_a_month_is_made_of_local_days():
    facts = [
        fact(utc(2026, 10, 31, 22)),  # 31 October 23:00 CET
        fact(utc(2026, 10, 31, 23)),  # 1 November 00:00 CET
        fact(utc(2026, 6, 30, 21)),  # 30 June 23:00 CEST
        fact(utc(2026, 6, 30, 22)),  # 1 July 00:00 CEST
    ]
    counts = [(utc(2026, 10, 31, 22), 3), (utc(2026, 10, 31, 23), 5)]
    report = report_of(facts, counts, date(2026, 6, 1), date(2026, 11, 30), MONTH)
    assert [(period.code, figures.cases) for period, figures in report.rows] == [
        ("2026-06", 1),
        ("2026-07", 1),
        ("2026-08", 0),
        ("2026-09", 0),
        ("2026-10", 1),
        ("2026-11", 1),
    ]
    assert row(report, "2026-10").conversations == 3
    assert row(report, "2026-11").conversations == 5


def every_hour(start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    hours, moment = [], start
    while moment < end:
        hours.append((moment, 1))
        moment += timedelta(hours=1)
    return hours


def test_the_day_summer_time_ends_has_25_hours_and_local_hour_2_twice():
    # Sunday 25 October 2026, local 00:00 CEST (22:00 UTC the day before) to Monday 00:00 CET.
    sunday = every_hour(utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))
    report = report_of([], sunday, date(2026, 10, 19), date(2026, 10, 26))
    assert len(sunday) == 25
    assert row(report, "2026-W43").conversations == 25
    assert row(report, "2026-W44").conversations == 0
    by_hour = {hour.hour: hour.conversations for hour in report.hours}
    assert by_hour[2] == 2 and all(by_hour[h] == 1 for h in range(24) if h != 2)


def test_the_day_summer_time_begins_has_23_hours_and_no_local_hour_2():
    # Sunday 29 March 2026, local 00:00 CET (23:00 UTC the day before) to Monday 00:00 CEST.
    sunday = every_hour(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
    facts = [fact(moment) for moment, _ in sunday]
    report = report_of(facts, sunday, date(2026, 3, 23), date(2026, 3, 30))
    assert len(sunday) == 23
    assert row(report, "2026-W13").conversations == row(report, "2026-W13").cases == 23
    assert row(report, "2026-W14").cases == 0
    by_hour = {hour.hour: (hour.conversations, hour.cases) for hour in report.hours}
    assert by_hour[2] == (0, 0) and all(by_hour[h] == (1, 1) for h in range(24) if h != 2)


def test_what_lies_outside_the_periods_is_left_out():
    facts = [fact(utc(2026, 11, 29, 22)), fact(utc(2026, 12, 7, 12))]
    counts = [(utc(2026, 11, 29, 22), 4), (utc(2026, 12, 7, 12), 9)]
    report = report_of(facts, counts, date(2026, 11, 30), date(2026, 12, 6))
    assert [period.code for period, _ in report.rows] == ["2026-W49"]
    assert report.total.cases == 0 and report.total.conversations == 0
    assert sum(hour.conversations for hour in report.hours) == 0


# -- the figures of a period ------------------------------------------------------------------


SEEDED = [
    # week 49 (30 November - 6 December 2026)
    fact(utc(2026, 11, 30, 8), "acute", ("weapons", "attack"), True, 60, 3600, "referred_police"),
    fact(utc(2026, 12, 1, 9), "elevated", ("travel",), False, 600, 7200, "advice_given"),
    fact(utc(2026, 12, 2, 9), "elevated", ("weapons",), True, 300, None, None),
    fact(utc(2026, 12, 3, 13), "none", (), True, 120, 1800, "other"),
    fact(utc(2026, 12, 4, 13), "elevated", ("travel", "threat"), False, None, None, None),
    # week 48
    fact(utc(2026, 11, 24, 8), "acute", ("suicide",), False, 30, 900, "advice_given"),
]
SEEDED_COUNTS = [
    (utc(2026, 11, 30, 8), 7),
    (utc(2026, 12, 1, 9), 2),
    (utc(2026, 12, 4, 13), 1),
    (utc(2026, 11, 24, 8), 3),
]


def test_the_figures_of_a_week_are_exact():
    report = report_of(SEEDED, SEEDED_COUNTS, date(2026, 11, 23), date(2026, 12, 6))
    week = row(report, "2026-W49")
    assert week.conversations == 10
    assert week.cases == 5
    assert week.levels == {"acute": 1, "elevated": 3, "none": 1}
    assert week.categories == {
        "travel": 2,
        "weapons": 2,
        "attack": 1,
        "threat": 1,
        "child_at_risk": 0,
        "suicide": 0,
        "grooming": 0,
    }
    assert week.person_requests == 3
    assert week.to_claim == Durations(median=120, p90=600)  # [60, 120, 300, 600]
    assert week.to_resolve == Durations(median=3600, p90=7200)  # [1800, 3600, 7200]
    assert week.outcomes == {"advice_given": 1, "referred_police": 1, "other": 1}
    assert week.unresolved == 2


def test_the_whole_range_adds_up_and_takes_percentiles_over_every_case():
    report = report_of(SEEDED, SEEDED_COUNTS, date(2026, 11, 23), date(2026, 12, 6))
    total = report.total
    assert (total.conversations, total.cases, total.person_requests) == (13, 6, 3)
    assert total.levels == {"acute": 2, "elevated": 3, "none": 1}
    assert total.to_claim == Durations(median=120, p90=600)  # [30, 60, 120, 300, 600]: rank 3
    assert total.to_resolve == Durations(median=1800, p90=7200)  # [900, 1800, 3600, 7200]
    assert total.outcomes == {"advice_given": 2, "referred_police": 1, "other": 1}
    empty = row(report_of([], [], date(2026, 11, 23), date(2026, 11, 29)), "2026-W48")
    assert empty.to_claim == Durations(None, None) and empty.cases == 0


def test_the_busiest_hours_are_local_hours_of_the_day():
    report = report_of(SEEDED, SEEDED_COUNTS, date(2026, 11, 23), date(2026, 12, 6))
    busy = {h.hour: (h.conversations, h.cases) for h in report.hours if h.conversations or h.cases}
    # 08 UTC is 09 local in winter, 09 UTC is 10, 13 UTC is 14.
    assert busy == {9: (10, 2), 10: (2, 2), 14: (1, 2)}
    assert [h.hour for h in report.hours] == list(range(24))


def test_an_outcome_or_category_the_columns_do_not_know_gets_a_column_of_its_own():
    facts = [fact(utc(2026, 12, 1, 9), categories=("new_kind",), outcome="spam_test")]
    report = report_of(facts, [], date(2026, 11, 30), date(2026, 12, 6))
    assert report.outcomes == (*OUTCOMES, "spam_test")
    assert report.categories[-1] == "new_kind"
    assert report.total.outcomes["spam_test"] == 1 and report.total.categories["new_kind"] == 1


# -- the chart and the file ---------------------------------------------------------------------


def test_the_scale_is_a_round_step_and_bars_are_proportional():
    assert [round_step(n) for n in (0, 1, 3, 7, 12, 51)] == [1, 1, 5, 10, 20, 100]
    chart = bar_chart(
        [("a", {"acute": 2, "elevated": 6}), ("b", {"elevated": 4}), ("c", {})],
        ["acute", "elevated"],
    )
    assert [tick.value for tick in chart.ticks] == [0, 2, 4, 6, 8]
    first, second, third = chart.bars
    full = chart.bottom - chart.top
    assert [s.series for s in first.segments] == ["acute", "elevated"]
    assert first.segments[0].height == pytest.approx(full * 2 / 8, abs=0.1)
    assert first.segments[1].y + first.segments[1].height == pytest.approx(
        first.segments[0].y, abs=0.1
    )  # stacked on top
    assert first.segments[1].y == pytest.approx(chart.top, abs=0.1)  # 8 of 8: full height
    assert second.segments[0].height == pytest.approx(full / 2, abs=0.1)
    assert third.segments == () and third.total == 0
    assert all(bar.labelled for bar in chart.bars)


def test_the_csv_has_a_header_one_row_per_period_semicolons_and_a_byte_order_mark():
    report = report_of(SEEDED, SEEDED_COUNTS, date(2026, 11, 23), date(2026, 12, 6))
    text = csv_text(report, lambda code: f"<{code}>")
    assert text.startswith(BYTE_ORDER_MARK) and "\r\n" in text
    rows = list(csv.reader(io.StringIO(text.removeprefix(BYTE_ORDER_MARK)), delimiter=";"))
    header, week48, week49 = rows
    assert header[:9] == [
        "<period>",
        "<first_day>",
        "<last_day>",
        "<conversations>",
        "<cases>",
        "<level:acute>",
        "<level:elevated>",
        "<level:none>",
        "<person_requests>",
    ]
    assert header[-4:] == [
        "<outcome:advice_given>",
        "<outcome:referred_police>",
        "<outcome:other>",
        "<unresolved>",
    ]
    figures = dict(zip(header, week49, strict=True))
    assert figures["<period>"] == "2026-W49" and figures["<first_day>"] == "2026-11-30"
    assert figures["<conversations>"] == "10" and figures["<cases>"] == "5"
    assert figures["<to_claim_median>"] == "120" and figures["<to_claim_p90>"] == "600"
    assert figures["<category:travel>"] == "2" and figures["<unresolved>"] == "2"
    empty = csv_text(report_of([], [], date(2026, 11, 23), date(2026, 11, 29)), str)
    assert ";;;;" in empty  # four durations without data: empty fields
    assert week48[0] == "2026-W48"
