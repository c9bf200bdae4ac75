"""The statistics page's figures: cases (case_facts) and conversations started
(conversation_counts) counted per week or month, in the deployment's time zone.

Both tables are kept per UTC hour. An hour belongs to the local day (and local hour of
day) in which it starts: its UTC start converted to STAFF_TIME_ZONE. Sweden's offsets are
whole hours, so every UTC hour lies inside one local hour and the mapping is exact; across
a change to or from summer time the local day simply has 23 or 25 hours (the autumn day's
local hour 02 gets two UTC hours, the spring day has no local hour 02). In a zone with a
half-hour offset an hour would count for the local hour in which it starts.

A week is an ISO week (Monday to Sunday, numbered as ISO 8601: week 1 holds the year's
first Thursday); a month a calendar month; both in local days.

Durations (to the first claim or join, to resolution) are summarised by the median and the
90th percentile with the nearest-rank method: of n sorted values, the p-th percentile is
the value at rank ceil(p/100 · n) (1-based). Every figure is a time that really occurred;
with an even number of values the median is the lower of the two middle ones. No values:
None (the page shows "–").

A case counts in the period in which it opened, with its highest level, each of its
categories (a case with two categories counts under both), its request for a person and its
outcome (a case not yet resolved counts as unresolved).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import Enum
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.escalations.model import as_utc
from bot.risk.levels import CATEGORIES, RiskLevel
from bot.store.tables import case_facts, conversation_counts

# Highest first, as the queue lists them.
LEVELS = tuple(sorted((level.value for level in RiskLevel), key=lambda v: -RiskLevel(v).rank))
HOURS_OF_DAY = 24
DEFAULT_PERIODS = 12
MOST_PERIODS = 520  # ten years of weeks: a page that can still be read


class Granularity(str, Enum):
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class Period:
    """A week (Monday to Sunday) or a calendar month, in local days (last_day included)."""

    granularity: Granularity
    first_day: date
    last_day: date

    @property
    def year(self) -> int:
        """The ISO year of a week (week 1 may start in December), the year of a month."""
        if self.granularity is Granularity.WEEK:
            return self.first_day.isocalendar()[0]
        return self.first_day.year

    @property
    def number(self) -> int:
        """The ISO week number, or the month (1-12)."""
        if self.granularity is Granularity.WEEK:
            return self.first_day.isocalendar()[1]
        return self.first_day.month

    @property
    def code(self) -> str:
        """2026-W49 or 2026-12: a stable name for the CSV."""
        if self.granularity is Granularity.WEEK:
            return f"{self.year}-W{self.number:02d}"
        return f"{self.year}-{self.number:02d}"

    def next(self) -> Period:
        return period_of(self.last_day + timedelta(days=1), self.granularity)


def period_of(day: date, granularity: Granularity) -> Period:
    if granularity is Granularity.WEEK:
        monday = day - timedelta(days=day.weekday())
        return Period(granularity, monday, monday + timedelta(days=6))
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(granularity, first, following - timedelta(days=1))


def periods_between(first: date, last: date, granularity: Granularity) -> list[Period]:
    """The periods that hold `first` through `last`, oldest first (at most MOST_PERIODS)."""
    periods = [period_of(first, granularity)]
    while periods[-1].last_day < last and len(periods) < MOST_PERIODS:
        periods.append(periods[-1].next())
    return periods


def default_range(today: date, granularity: Granularity) -> tuple[date, date]:
    """The last DEFAULT_PERIODS periods, the current one included."""
    period = period_of(today, granularity)
    first = period
    for _ in range(DEFAULT_PERIODS - 1):
        first = period_of(first.first_day - timedelta(days=1), granularity)
    return first.first_day, period.last_day


def local_midnight_utc(day: date, zone: ZoneInfo) -> datetime:
    """The UTC moment the local `day` begins."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)


# -- the figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """One case, as case_facts holds it."""

    opened_hour: datetime  # UTC
    level: str
    categories: tuple[str, ...]
    wants_person: bool
    claimed_after_seconds: int | None
    resolved_after_seconds: int | None
    outcome: str | None


@dataclass(frozen=True)
class Durations:
    median: int | None
    p90: int | None


@dataclass(frozen=True)
class Figures:
    """What one period (or the whole range) adds up to."""

    conversations: int
    cases: int
    levels: dict[str, int]
    categories: dict[str, int]
    person_requests: int
    to_claim: Durations
    to_resolve: Durations
    outcomes: dict[str, int]
    unresolved: int


@dataclass(frozen=True)
class HourOfDay:
    hour: int  # 0-23, local
    conversations: int
    cases: int


@dataclass(frozen=True)
class Report:
    granularity: Granularity
    rows: list[tuple[Period, Figures]]
    total: Figures
    hours: list[HourOfDay]
    categories: tuple[str, ...]  # the columns, in order
    outcomes: tuple[str, ...]

    @property
    def first_day(self) -> date:
        return self.rows[0][0].first_day

    @property
    def last_day(self) -> date:
        return self.rows[-1][0].last_day


def nearest_rank(values: Sequence[int], percent: int) -> int | None:
    """The `percent`-th percentile by nearest rank: the value at rank ceil(percent·n/100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-percent * len(ordered) // 100))  # ceil, in integers
    return ordered[rank - 1]


def durations(values: Iterable[int | None]) -> Durations:
    known = [value for value in values if value is not None]
    return Durations(median=nearest_rank(known, 50), p90=nearest_rank(known, 90))


def figures(
    facts: Sequence[Fact],
    conversations: int,
    categories: Sequence[str],
    outcomes: Sequence[str],
) -> Figures:
    level_counts = Counter(fact.level for fact in facts)
    category_counts = Counter(category for fact in facts for category in fact.categories)
    outcome_counts = Counter(fact.outcome for fact in facts if fact.outcome)
    return Figures(
        conversations=conversations,
        cases=len(facts),
        levels={level: level_counts[level] for level in LEVELS},
        categories={category: category_counts[category] for category in categories},
        person_requests=sum(1 for fact in facts if fact.wants_person),
        to_claim=durations(fact.claimed_after_seconds for fact in facts),
        to_resolve=durations(fact.resolved_after_seconds for fact in facts),
        outcomes={outcome: outcome_counts[outcome] for outcome in outcomes},
        unresolved=sum(1 for fact in facts if not fact.outcome),
    )


def compute(
    facts: Iterable[Fact],
    counts: Iterable[tuple[datetime, int]],
    periods: Sequence[Period],
    zone: ZoneInfo,
    outcomes: Sequence[str] = (),
) -> Report:
    """The report over `periods` (consecutive, oldest first) from cases and hourly
    conversation counts; what lies outside the periods is left out."""
    facts, counts = list(facts), list(counts)
    granularity = periods[0].granularity
    wanted = {period.first_day for period in periods}
    facts_in: dict[date, list[Fact]] = defaultdict(list)
    conversations_in: Counter[date] = Counter()
    cases_at, conversations_at = Counter(), Counter()
    kept: list[Fact] = []
    for fact in facts:
        local = fact.opened_hour.astimezone(zone)
        start = period_of(local.date(), granularity).first_day
        if start in wanted:
            facts_in[start].append(fact)
            cases_at[local.hour] += 1
            kept.append(fact)
    for hour, number in counts:
        local = hour.astimezone(zone)
        start = period_of(local.date(), granularity).first_day
        if start in wanted:
            conversations_in[start] += number
            conversations_at[local.hour] += number
    category_columns = _columns(CATEGORIES, (c for fact in kept for c in fact.categories))
    outcome_columns = _columns(outcomes, (fact.outcome for fact in kept if fact.outcome))
    rows = [
        (
            period,
            figures(
                facts_in[period.first_day],
                conversations_in[period.first_day],
                category_columns,
                outcome_columns,
            ),
        )
        for period in periods
    ]
    total = figures(kept, sum(conversations_in.values()), category_columns, outcome_columns)
    hours = [
        HourOfDay(hour, conversations_at[hour], cases_at[hour]) for hour in range(HOURS_OF_DAY)
    ]
    return Report(granularity, rows, total, hours, category_columns, outcome_columns)


def _columns(known: Sequence[str], found: Iterable[str]) -> tuple[str, ...]:
    """The known codes in their order, then any other code the data holds (a category or
    outcome a later version added), so nothing counted is left out of the table."""
    extra = sorted(set(found) - set(known))
    return (*known, *extra)


# -- reading the tables ------------------------------------------------------------------------


def read(
    engine: Engine,
    first: date,
    last: date,
    granularity: Granularity,
    zone: ZoneInfo,
    outcomes: Sequence[str] = (),
) -> Report:
    """The report for the periods holding the local days `first` through `last`."""
    periods = periods_between(first, last, granularity)
    start = local_midnight_utc(periods[0].first_day, zone)
    end = local_midnight_utc(periods[-1].last_day + timedelta(days=1), zone)
    return compute(
        read_facts(engine, start, end), read_counts(engine, start, end), periods, zone, outcomes
    )


def read_facts(engine: Engine, start: datetime, end: datetime) -> list[Fact]:
    table = case_facts
    query = select(table).where(table.c.opened_hour >= start, table.c.opened_hour < end)
    with engine.connect() as connection:
        return [
            Fact(
                opened_hour=as_utc(row.opened_hour),
                level=row.level,
                categories=tuple(c for c in (row.categories or "").split(",") if c),
                wants_person=bool(row.wants_person),
                claimed_after_seconds=row.claimed_after_seconds,
                resolved_after_seconds=row.resolved_after_seconds,
                outcome=row.outcome,
            )
            for row in connection.execute(query)
        ]


def read_counts(engine: Engine, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    table = conversation_counts
    query = select(table.c.hour, table.c.conversations).where(
        table.c.hour >= start, table.c.hour < end
    )
    with engine.connect() as connection:
        return [(as_utc(row.hour), row.conversations) for row in connection.execute(query)]
