"""The statistics as a CSV file: a header row, then one row per period, the same figures
as the page.

Semicolon-separated, UTF-8 with a byte order mark, lines ending CRLF: Excel set to Swedish
uses the comma as its decimal mark and expects a semicolon between fields, and without the
mark it reads UTF-8 as Windows-1252 (å, ä, ö garbled); LibreOffice and scripts read it too.
Every figure is a whole number (a count or seconds), so no decimal mark is needed; a
duration without data is an empty field.

The column codes are here; their Swedish headers come from the templates
(templates/statistics_labels.html), like every word the staff read.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from bot.statistics.report import Figures, Period, Report

DELIMITER = ";"
BYTE_ORDER_MARK = "\ufeff"

Value = Callable[[Period, Figures], object]

FIXED_BEFORE: tuple[tuple[str, Value], ...] = (
    ("period", lambda period, _f: period.code),
    ("first_day", lambda period, _f: period.first_day.isoformat()),
    ("last_day", lambda period, _f: period.last_day.isoformat()),
    ("conversations", lambda _p, figures: figures.conversations),
    ("cases", lambda _p, figures: figures.cases),
)
FIXED_AFTER_LEVELS: tuple[tuple[str, Value], ...] = (
    ("person_requests", lambda _p, figures: figures.person_requests),
    ("to_claim_median", lambda _p, figures: figures.to_claim.median),
    ("to_claim_p90", lambda _p, figures: figures.to_claim.p90),
    ("to_resolve_median", lambda _p, figures: figures.to_resolve.median),
    ("to_resolve_p90", lambda _p, figures: figures.to_resolve.p90),
)


def columns(report: Report) -> list[tuple[str, Value]]:
    """(code, value of a row) for every column, in order. Codes of levels, categories and
    outcomes are prefixed: level:acute, category:weapons, outcome:advice_given."""
    levels = [
        (f"level:{level}", lambda _p, figures, level=level: figures.levels[level])
        for level in report.total.levels
    ]
    categories = [
        (f"category:{code}", lambda _p, figures, code=code: figures.categories[code])
        for code in report.categories
    ]
    outcomes = [
        (f"outcome:{code}", lambda _p, figures, code=code: figures.outcomes[code])
        for code in report.outcomes
    ]
    unresolved = [("unresolved", lambda _p, figures: figures.unresolved)]
    return [*FIXED_BEFORE, *levels, *FIXED_AFTER_LEVELS, *categories, *outcomes, *unresolved]


def csv_text(report: Report, header: Callable[[str], str]) -> str:
    """The file's text: `header(code)` names each column."""
    table = columns(report)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITER, lineterminator="\r\n")
    writer.writerow([header(code) for code, _ in table])
    for period, figures in report.rows:
        writer.writerow([_cell(value(period, figures)) for _, value in table])
    return BYTE_ORDER_MARK + out.getvalue()


def _cell(value: object) -> object:
    return "" if value is None else value
