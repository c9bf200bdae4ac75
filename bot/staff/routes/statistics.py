"""The statistics page for admins (issue 20): conversations, cases by level and category,
requests for a person, time to claim and to resolve, outcomes and the busiest hours, per
week or month, as tables, bar charts (inline SVG drawn on the server) and a CSV file.

Everything comes from case_facts and conversation_counts (bot/statistics/), which hold no
text and no identifier, so neither the page nor the file can show one. Handlers get 403;
each view and download is in the audit log (the chart, the period and the dates: no more).

    GET /admin/statistics?period=week|month&from=YYYY-MM-DD&to=YYYY-MM-DD
    GET /admin/statistics.csv?(the same)
    GET /admin/statistics.svg?chart=<one of CHARTS>&(the same): one chart as a file

Without dates: the last 12 weeks or months, the current one included, in the staff's time
zone (STAFF_TIME_ZONE).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sanic import Sanic, response
from sanic.request import Request

from bot.staff.context import Dashboard
from bot.staff.model import OUTCOMES
from bot.staff.web import refuse, render, require_admin
from bot.statistics import report as statistics
from bot.statistics.csv_export import csv_text
from bot.statistics.report import Granularity, Report
from bot.statistics.svg import HEIGHT, TITLE_ROOM, TOP, BarChart, bar_chart

MOST_DAYS = 3660  # ten years: beyond it the page is refused rather than cut short
EARLIEST_YEAR, LATEST_YEAR = 2000, 2999
CHARTS = ("conversations", "cases", "hours_conversations", "hours_cases")


@dataclass(frozen=True)
class Choice:
    """What the admin asked for; `valid` is False for dates that cannot be read."""

    granularity: Granularity
    first: date
    last: date
    valid: bool = True

    @property
    def query(self) -> str:
        return f"period={self.granularity.value}&from={self.first}&to={self.last}"


def register(app: Sanic, dashboard: Dashboard) -> None:
    @app.get("/admin/statistics")
    async def statistics_page(request: Request):
        if refused := require_admin(dashboard, request):
            return refused
        choice = chosen(request, today(dashboard))
        if not choice.valid:
            return _page(dashboard, request, choice, None, http_status=400)
        dashboard.review.log(request.ctx.session.user, "view_statistics", detail=_detail(choice))
        return _page(dashboard, request, choice, _report(dashboard, choice))

    @app.get("/admin/statistics.csv")
    async def statistics_csv(request: Request):
        if refused := require_admin(dashboard, request):
            return refused
        choice = chosen(request, today(dashboard))
        if not choice.valid:
            return _page(dashboard, request, choice, None, http_status=400)
        dashboard.review.log(
            request.ctx.session.user, "download_statistics", detail=_detail(choice)
        )
        labels = dashboard.pages.get_template("statistics_labels.html").module
        text = csv_text(
            _report(dashboard, choice), lambda code: Markup(labels.csv_header(code)).unescape()
        )
        return response.text(
            text,
            content_type="text/csv; charset=utf-8",
            headers=_attachment(f"{_file_name(choice)}.csv"),
        )

    @app.get("/admin/statistics.svg")
    async def statistics_svg(request: Request):
        if refused := require_admin(dashboard, request):
            return refused
        choice = chosen(request, today(dashboard))
        name = request.args.get("chart")
        if name not in CHARTS:
            return refuse(dashboard, request, "not_found", 404)
        if not choice.valid:
            return _page(dashboard, request, choice, None, http_status=400)
        dashboard.review.log(
            request.ctx.session.user, "download_statistics", detail=f"{name} {_detail(choice)}"
        )
        report = _report(dashboard, choice)
        svg = dashboard.pages.get_template("statistics_chart_file.html").render(
            drawing=charts_of(report, top=TOP + TITLE_ROOM)[name],
            name=name,
            granularity=choice.granularity.value,
            first=report.first_day,
            last=report.last_day,
            time_zone=dashboard.config.staff_time_zone,
        )
        return response.text(
            svg,
            content_type="image/svg+xml; charset=utf-8",
            headers=_attachment(f"{_file_name(choice)}-{name}.svg"),
        )


def today(dashboard: Dashboard) -> date:
    return datetime.now(ZoneInfo(dashboard.config.staff_time_zone)).date()


def chosen(request: Request, today: date) -> Choice:
    """The period and the range from the query; the defaults for what is missing."""
    args = request.args
    try:
        granularity = Granularity(args.get("period") or Granularity.WEEK.value)
    except ValueError:
        return Choice(Granularity.WEEK, *statistics.default_range(today, Granularity.WEEK), False)
    default_first, default_last = statistics.default_range(today, granularity)
    first = _day(args.get("from"), default_first)
    last = _day(args.get("to"), default_last)
    if first is None or last is None or first > last or (last - first).days > MOST_DAYS:
        return Choice(granularity, default_first, default_last, False)
    return Choice(granularity, first, last)


def _day(value: str | None, default: date) -> date | None:
    if not value:
        return default
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if EARLIEST_YEAR <= day.year <= LATEST_YEAR else None


def _file_name(choice: Choice) -> str:
    return f"vagvisaren-statistik-{choice.granularity.value}-{choice.first}-{choice.last}"


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _detail(choice: Choice) -> str:
    return f"{choice.granularity.value} {choice.first}..{choice.last}"


def _report(dashboard: Dashboard, choice: Choice) -> Report:
    return statistics.read(
        dashboard.engine,
        choice.first,
        choice.last,
        choice.granularity,
        ZoneInfo(dashboard.config.staff_time_zone),
        OUTCOMES,
    )


def charts_of(report: Report, top: int = TOP) -> dict[str, BarChart]:
    """The four charts: conversations and cases (stacked by level) per period, and both
    per hour of the day."""
    height = HEIGHT + top - TOP

    def chart(columns, series) -> BarChart:
        return bar_chart(columns, series, height=height, top=top)

    return {
        "conversations": chart(
            [(period, {"conversations": f.conversations}) for period, f in report.rows],
            ["conversations"],
        ),
        "cases": chart([(period, f.levels) for period, f in report.rows], statistics.LEVELS),
        "hours_conversations": chart(
            [(h.hour, {"conversations": h.conversations}) for h in report.hours],
            ["conversations"],
        ),
        "hours_cases": chart([(h.hour, {"cases": h.cases}) for h in report.hours], ["cases"]),
    }


def _page(
    dashboard: Dashboard,
    request: Request,
    choice: Choice,
    report: Report | None,
    http_status: int = 200,
) -> response.HTTPResponse:
    charts = charts_of(report) if report is not None else None
    return render(
        dashboard,
        request,
        "statistics.html",
        http_status=http_status,
        choice=choice,
        report=report,
        charts=charts,
        time_zone=dashboard.config.staff_time_zone,
    )
