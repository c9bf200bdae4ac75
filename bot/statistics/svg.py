"""The geometry of the statistics page's bar charts: where each bar, segment and grid line
goes in the SVG's own coordinates. The template (templates/statistics_chart.html) draws
them as inline SVG with presentation attributes (the dashboard's CSP allows no inline
style) and puts the Swedish words around them; here are only numbers and codes.

A bar may be stacked (cases by level); the scale is the tallest bar rounded up to a
round step (1, 2 or 5 times a power of ten) times the number of grid lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WIDTH = 720
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 36  # room for the scale and the labels below
TITLE_ROOM = 32  # above the bars of a chart downloaded as a file
GRID_LINES = 4
GAP = 0.2  # of each bar's slot, left empty between bars
MOST_LABELS = 26  # below the bars; with more bars every n-th is labelled


@dataclass(frozen=True)
class Segment:
    series: str  # the code of what it counts: "conversations", "acute", ...
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Bar:
    key: Any  # what the template labels it with (a period, an hour of the day)
    total: int
    segments: tuple[Segment, ...]
    center: float
    labelled: bool


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float  # the baseline's y
    label_y: float
    series: tuple[str, ...]
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]


def round_step(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value` (and 1)."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude >= value:
                return factor * magnitude
        magnitude *= 10


def bar_chart(
    columns: Sequence[tuple[Any, dict[str, int]]],
    series: Sequence[str],
    width: int = WIDTH,
    height: int = HEIGHT,
    top: int = TOP,
) -> BarChart:
    """Bars for `columns` (key, {series: value}), each stacked in the order of `series`;
    `top` leaves room above them (a downloaded chart's title and legend)."""
    bottom = height - BOTTOM
    left, right = LEFT, width - RIGHT
    tallest = max((sum(values.get(s, 0) for s in series) for _, values in columns), default=0)
    step = round_step(-(-tallest // GRID_LINES))
    scale = (bottom - top) / (step * GRID_LINES)
    slot = (right - left) / max(1, len(columns))
    every = -(-len(columns) // MOST_LABELS) or 1
    bars = []
    for index, (key, values) in enumerate(columns):
        x = left + index * slot + slot * GAP / 2
        bar_width = slot * (1 - GAP)
        segments, base = [], bottom
        for name in series:
            value = values.get(name, 0)
            if value:
                segment_height = value * scale
                base -= segment_height
                segments.append(
                    Segment(name, value, _r(x), _r(base), _r(bar_width), _r(segment_height))
                )
        total = sum(values.get(name, 0) for name in series)
        bars.append(
            Bar(key, total, tuple(segments), _r(x + bar_width / 2), labelled=index % every == 0)
        )
    ticks = tuple(
        Tick(step * number, _r(bottom - step * number * scale)) for number in range(GRID_LINES + 1)
    )
    return BarChart(
        width, height, left, right, top, bottom, bottom + 18, tuple(series), tuple(bars), ticks
    )


def _r(value: float) -> float:
    return round(value, 1)
