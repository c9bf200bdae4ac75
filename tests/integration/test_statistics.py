"""The statistics page and its CSV over HTTP, on SQLite and on PostgreSQL: a seeded data set
(an escalation taken through the real use cases by a named handler, further cases and
conversation counts) gives exact figures; a handler gets 403; neither the page nor the file
holds an escalation id, a username, a conversation reference or any text of the case;
retention leaves the statistics as they were; concurrent counts lose nothing."""

from __future__ import annotations

import csv
import io
import re
import threading
import time
import uuid
from dataclasses import replace
from datetime import date, datetime, timezone
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from bot.escalations.service import Signal, record_signal
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.privacy.redaction import load_redactor
from bot.pseudonym import conversation_ref
from bot.retention import erase_resolved_excerpts, purge_staff_and_presence_records
from bot.risk.levels import RiskLevel
from bot.staff.model import OUTCOMES, Role
from bot.staff.review import Review
from bot.statistics import report
from bot.statistics.counts import count_conversation
from bot.store.engine import make_engine, session_factory
from bot.store.tables import case_facts, conversation_counts
from tests.support.databases import DATABASE_KINDS, database_url
from tests.support.settings import settings
from tests.support.staff_server import TEST_PSEUDONYM_KEY, staff_server

SECRET_EXCERPT = "…min bror Zlatan-Statistikus har ett vapen hemma…"
SECRET_NOTE = "Anteckning om Statistikus-familjen"
SENDER = "statistik-samtal-1"
WEEKS = "period=week&from=2026-11-23&to=2026-12-06"
MONTHS = "period=month&from=2026-11-01&to=2026-12-31"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


# Besides the escalation below: cases as bot/escalations/facts.py writes them.
OTHER_CASES = [
    # opened_hour, level, categories, wants_person, claimed, resolved, outcome
    (utc(2026, 12, 1, 9), "acute", "weapons,attack", True, 60, 1800, "advice_given"),
    (utc(2026, 12, 2, 13), "none", "", True, 120, None, None),
    (utc(2026, 11, 29, 22), "elevated", "travel", False, 600, 7200, "other"),  # Sun 23:00
    (utc(2026, 11, 24, 8), "acute", "suicide", False, None, None, None),
    (utc(2026, 12, 7, 10), "acute", "threat", True, 5, 50, "other"),  # week 50: outside
]
CONVERSATIONS = [  # (start, how many)
    (utc(2026, 11, 30, 8, 5), 4),
    (utc(2026, 12, 1, 9, 59), 2),
    (utc(2026, 11, 29, 22, 30), 3),  # Sunday 23:30 local: week 48
    (utc(2026, 11, 30, 23, 10), 1),  # 1 December 00:10 local: December
    (utc(2026, 12, 7, 10), 5),  # outside
]


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def seeded(request, tmp_path_factory):
    """The dashboard on a seeded store (SQLite, PostgreSQL), and who did what in it."""
    directory = tmp_path_factory.mktemp(f"statistics-{request.param}")
    with (
        database_url(request.param, directory, migrated=True) as url,
        staff_server(directory, escalation_url=url) as server,
    ):
        yield server, seed_the_store(server)


def seed_the_store(server) -> dict:
    engine = make_engine(server.escalation_url)
    handler_name, _ = server.new_account(Role.HANDLER)
    handler = next(user for user in server.accounts.users() if user.username == handler_name)
    review = Review(engine, load_redactor(settings.contacts_file))
    reference = conversation_ref(SENDER, TEST_PSEUDONYM_KEY)
    signal = Signal(reference, RiskLevel.ELEVATED, ("weapons",), SECRET_EXCERPT, "key-1")
    uow = SqlAlchemyUnitOfWork(session_factory(server.escalation_url))
    escalation_id = record_signal(uow, signal, now=utc(2026, 11, 30, 8, 15)).escalation_id
    review.claim(handler, escalation_id, now=utc(2026, 11, 30, 8, 20))  # after 300 s
    review.add_note(handler, escalation_id, SECRET_NOTE)
    review.resolve(handler, escalation_id, "referred_police", now=utc(2026, 11, 30, 9, 20))
    columns = ("opened_hour", "level", "categories", "wants_person")
    columns += ("claimed_after_seconds", "resolved_after_seconds", "outcome")
    with engine.begin() as connection:
        for case in OTHER_CASES:
            connection.execute(insert(case_facts).values(dict(zip(columns, case, strict=True))))
    for start, number in CONVERSATIONS:
        for _ in range(number):
            count_conversation(engine, start)
    return {
        "handler": handler_name,
        "escalation_id": escalation_id,
        "reference": reference,
    }


# -- reading the page --------------------------------------------------------------------------


CELL = r'<td data-(?:figure|category|outcome)="([^"]+)"(?: data-seconds="(\d*)")?>([^<]*)</td>'


def table(page: str, table_id: str) -> dict[str, dict[str, str]]:
    """{row (period code, "total" or hour): {figure: text, figure + "_seconds": seconds}}."""
    section = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S).group(1)
    rows = {}
    for key, body in re.findall(r'<tr data-(?:period|hour)="([^"]+)">(.*?)</tr>', section, re.S):
        cells = {}
        pattern = (
            r'<td data-(?:figure|category|outcome)="([^"]+)"(?: data-seconds="(\d*)")?>([^<]*)</td>'
        )
        for name, seconds, text in re.findall(pattern, body):
            cells[name] = text
            if seconds:
                cells[name + "_seconds"] = seconds
        rows[key] = cells
    return rows


WEEK_49 = {
    "conversations": "7",
    "cases": "3",
    "level-acute": "1",
    "level-elevated": "1",
    "level-none": "1",
    "person_requests": "2",
    "to_claim_median": "2 min",  # of 60, 120, 300 s: rank 2
    "to_claim_median_seconds": "120",
    "to_claim_p90": "5 min",  # rank ceil(2.7) = 3
    "to_claim_p90_seconds": "300",
    "to_resolve_median": "30 min",  # of 1800, 3900 s: rank 1
    "to_resolve_median_seconds": "1800",
    "to_resolve_p90": "1 h 05 min",
    "to_resolve_p90_seconds": "3900",
}
WEEK_48 = {
    "conversations": "3",
    "cases": "2",
    "level-acute": "1",
    "level-elevated": "1",
    "level-none": "0",
    "person_requests": "0",
    "to_claim_median": "10 min",
    "to_claim_median_seconds": "600",
    "to_claim_p90": "10 min",
    "to_claim_p90_seconds": "600",
    "to_resolve_median": "2 h 00 min",
    "to_resolve_median_seconds": "7200",
    "to_resolve_p90": "2 h 00 min",
    "to_resolve_p90_seconds": "7200",
}
TOTAL = {
    "conversations": "10",
    "cases": "5",
    "level-acute": "2",
    "level-elevated": "2",
    "level-none": "1",
    "person_requests": "2",
    "to_claim_median": "2 min",  # 60, 120, 300, 600: rank 2
    "to_claim_median_seconds": "120",
    "to_claim_p90": "10 min",
    "to_claim_p90_seconds": "600",
    "to_resolve_median": "1 h 05 min",  # 1800, 3900, 7200: rank 2
    "to_resolve_median_seconds": "3900",
    "to_resolve_p90": "2 h 00 min",
    "to_resolve_p90_seconds": "7200",
}


def test_the_weekly_page_shows_exact_figures(seeded):
    server, _ = seeded
    response = server.client(Role.ADMIN).get(f"/admin/statistics?{WEEKS}")
    assert response.status_code == 200
    overview = table(response.text, "per-period")
    assert list(overview) == ["2026-W48", "2026-W49", "total"]
    assert overview["2026-W49"] == WEEK_49
    assert overview["2026-W48"] == WEEK_48
    assert overview["total"] == TOTAL
    categories = table(response.text, "categories")
    assert {k: v for k, v in categories["2026-W49"].items() if v != "0"} == {
        "weapons": "2",
        "attack": "1",
    }
    assert {k: v for k, v in categories["2026-W48"].items() if v != "0"} == {
        "travel": "1",
        "suicide": "1",
    }
    outcomes = table(response.text, "outcomes")
    assert {k: v for k, v in outcomes["2026-W49"].items() if v != "0"} == {
        "advice_given": "1",
        "referred_police": "1",
        "unresolved": "1",
    }
    assert {k: v for k, v in outcomes["total"].items() if v != "0"} == {
        "advice_given": "1",
        "referred_police": "1",
        "other": "1",
        "unresolved": "2",
    }


def test_the_busiest_hours_are_local_hours_over_the_range(seeded):
    server, _ = seeded
    page = server.client(Role.ADMIN).get(f"/admin/statistics?{WEEKS}").text
    hours = table(page, "hours")
    assert list(hours) == [str(hour) for hour in range(24)]
    busy = {
        int(hour): (cells["conversations"], cells["cases"])
        for hour, cells in hours.items()
        if cells != {"conversations": "0", "cases": "0"}
    }
    assert busy == {0: ("1", "0"), 9: ("4", "2"), 10: ("2", "1"), 14: ("0", "1"), 23: ("3", "1")}


def test_the_charts_are_inline_svg_with_the_same_numbers(seeded):
    server, _ = seeded
    page = server.client(Role.ADMIN).get(f"/admin/statistics?{WEEKS}").text
    for chart in ("chart-conversations", "chart-cases", "chart-hours-conversations"):
        assert re.search(rf'<svg id="{chart}"[^>]* role="img" aria-label="[^"]+"', page)
    cases_chart = re.search(r'<svg id="chart-cases".*?</svg>', page, re.S).group(0)
    assert "<title>" in cases_chart and "<desc " in cases_chart
    totals = re.findall(r'<g class="bar" data-total="(\d+)">', cases_chart)
    assert totals == ["2", "3"]
    assert re.findall(r'data-series="(\w+)" data-value="(\d+)"', cases_chart) == [
        ("acute", "1"),
        ("elevated", "1"),
        ("acute", "1"),
        ("elevated", "1"),
        ("none", "1"),
    ]
    assert "style=" not in page and "<style" not in page  # the CSP allows no inline style


def test_the_monthly_page_counts_by_local_month(seeded):
    server, _ = seeded
    page = server.client(Role.ADMIN).get(f"/admin/statistics?{MONTHS}").text
    overview = table(page, "per-period")
    assert list(overview) == ["2026-11", "2026-12", "total"]
    # 30 November 23:10 UTC is 1 December in Stockholm.
    assert (overview["2026-11"]["cases"], overview["2026-11"]["conversations"]) == ("3", "7")
    assert (overview["2026-12"]["cases"], overview["2026-12"]["conversations"]) == ("3", "8")


def csv_rows(response) -> list[dict[str, str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


def test_the_csv_has_the_same_figures_one_row_per_period(seeded):
    server, _ = seeded
    response = server.client(Role.ADMIN).get(f"/admin/statistics.csv?{WEEKS}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition == (
        'attachment; filename="vagvisaren-statistik-week-2026-11-23-2026-12-06.csv"'
    )
    week48, week49 = csv_rows(response)
    assert week49["Period"] == "2026-W49" and week48["Period"] == "2026-W48"
    assert week49["Första dagen"] == "2026-11-30" and week49["Sista dagen"] == "2026-12-06"
    assert (week49["Samtal"], week49["Ärenden"]) == ("7", "3")
    assert week49["Nivå: Akut"] == week49["Nivå: Förhöjd"] == week49["Nivå: Ingen risk"] == "1"
    assert week49["Bad att få prata med en person"] == "2"
    assert week49["Tid till tagen, median (sekunder)"] == "120"
    assert week49["Tid till tagen, 90:e percentilen (sekunder)"] == "300"
    assert week49["Tid till avslutad, median (sekunder)"] == "1800"
    assert week49["Tid till avslutad, 90:e percentilen (sekunder)"] == "3900"
    assert week49["Kategori: Vapen eller sprängämnen"] == "2"
    assert week49["Utfall: Hänvisad till polisen"] == "1"
    assert week49["Inte avslutade"] == "1"
    assert (week48["Samtal"], week48["Ärenden"], week48["Utfall: Annat"]) == ("3", "2", "1")


def test_each_chart_downloads_as_an_svg_file_with_its_title(seeded):
    server, seed = seeded
    admin = server.client(Role.ADMIN)
    response = admin.get(f"/admin/statistics.svg?chart=cases&{WEEKS}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="vagvisaren-statistik-week-2026-11-23-2026-12-06-cases.svg"'
    )
    svg = ElementTree.fromstring(response.content)  # well-formed XML, a standalone file
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.find("svg:title", ns).text == "Ärenden per vecka efter nivå"
    texts = [text.text for text in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "Ärenden per vecka efter nivå" in texts and "ingen risk" in texts  # title, legend
    assert "2026-11-23 – 2026-12-06 (Europe/Stockholm)" in texts
    bars = svg.findall("svg:g[@class='bar']", ns)
    assert [bar.get("data-total") for bar in bars] == ["2", "3"]
    for name in ("conversations", "hours_conversations", "hours_cases"):
        assert admin.get(f"/admin/statistics.svg?chart={name}&{MONTHS}").status_code == 200
    assert admin.get(f"/admin/statistics.svg?chart=secrets&{WEEKS}").status_code == 404
    assert server.client(Role.HANDLER).get("/admin/statistics.svg?chart=cases").status_code == 403
    assert seed["handler"] not in response.text and seed["reference"] not in response.text
    page = admin.get(f"/admin/statistics?{WEEKS}").text
    assert f'href="/admin/statistics.svg?chart=cases&amp;{WEEKS.replace("&", "&amp;")}"' in page


def test_without_a_range_the_last_twelve_weeks_are_shown(seeded):
    server, _ = seeded
    admin = server.client(Role.ADMIN)
    page = admin.get("/admin/statistics").text
    today = datetime.now(ZoneInfo(settings.staff_time_zone)).date()
    current = report.period_of(today, report.Granularity.WEEK)
    codes = [code for code in table(page, "per-period") if code != "total"]
    assert len(codes) == 12 and codes[-1] == current.code
    months = csv_rows(admin.get("/admin/statistics.csv?period=month"))
    assert len(months) == 12 and months[-1]["Period"] == f"{today.year}-{today.month:02d}"


def test_dates_that_cannot_be_read_are_refused_with_the_form_again(seeded):
    server, _ = seeded
    admin = server.client(Role.ADMIN)
    for query in (
        "period=year",
        "from=2026-13-01",
        "from=2026-12-06&to=2026-11-23",
        "to=1066-10-14",
    ):
        response = admin.get(f"/admin/statistics?{query}")
        assert response.status_code == 400, query
        assert 'id="per-period"' not in response.text
        assert admin.get(f"/admin/statistics.csv?{query}").status_code == 400


def test_a_handler_is_refused_and_the_views_are_audited(seeded):
    server, _ = seeded
    handler = server.client(Role.HANDLER)
    assert handler.get(f"/admin/statistics?{WEEKS}").status_code == 403
    assert handler.get(f"/admin/statistics.csv?{WEEKS}").status_code == 403
    assert "/admin/statistics" not in handler.get("/").text  # no link either
    admin = server.client(Role.ADMIN)
    assert 'href="/admin/statistics"' in admin.get("/").text
    admin.get(f"/admin/statistics?{WEEKS}")
    admin.get(f"/admin/statistics.csv?{MONTHS}")
    audit = admin.get("/admin/audit").text
    assert "view_statistics" in audit and "week 2026-11-23..2026-12-06" in audit
    assert "download_statistics" in audit and "month 2026-11-01..2026-12-31" in audit


def test_neither_the_page_nor_the_csv_holds_an_id_a_name_or_text(seeded):
    server, seed = seeded
    admin = server.client(Role.ADMIN)
    page = admin.get(f"/admin/statistics?{WEEKS}").text
    page = page.replace(admin.username, "")  # the admin's own name in the header
    file = admin.get(f"/admin/statistics.csv?{WEEKS}").content.decode("utf-8")
    for shown in (page, file):
        assert seed["handler"] not in shown
        assert seed["reference"] not in shown
        assert SECRET_EXCERPT not in shown and "Statistikus" not in shown
        assert SECRET_NOTE not in shown
        assert f"/escalations/{seed['escalation_id']}" not in shown
    assert "/escalations/" not in page
    # The file: period codes, dates and whole numbers under the header, nothing else.
    for row in csv_rows(admin.get(f"/admin/statistics.csv?{WEEKS}")):
        values = list(row.values())
        assert re.fullmatch(r"\d{4}-W\d{2}", values[0])
        assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) for value in values[1:3])
        assert all(re.fullmatch(r"\d*", value) for value in values[3:])


# -- counting: the real bot, and the databases themselves ---------------------------------------


def conversations_counted(url: str) -> int:
    with make_engine(url).connect() as connection:
        total = connection.execute(select(func.sum(conversation_counts.c.conversations))).scalar()
    return total or 0


def counted_when(url: str, expected: int, seconds: float = 10) -> int:
    """The total once it is `expected` (the count is written in the background), or after
    `seconds`."""
    deadline = time.monotonic() + seconds
    while (total := conversations_counted(url)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return total


def test_a_conversation_with_the_real_bot_is_counted_once(bot):
    """Rasa's session start counts it; the widget's opening message and further messages
    in the same session add nothing."""
    url = f"sqlite:///{bot.escalation_database}"
    bot.say(uuid.uuid4().hex, "hej")  # the store is made and the earlier counts have landed
    before = counted_when(url, -1, seconds=2)
    opened = uuid.uuid4().hex
    bot.say(opened, "/session_start")  # as the widget opens a new conversation
    bot.say(opened, "hej")
    bot.say(opened, "min son har blivit så arg på allt")
    assert counted_when(url, before + 1) == before + 1
    bot.say(uuid.uuid4().hex, "hej")  # another relative on the REST channel
    assert counted_when(url, before + 2) == before + 2
    time.sleep(1)  # nothing late either
    assert conversations_counted(url) == before + 2


# -- retention and counting on the databases themselves ---------------------------------------


def test_retention_leaves_the_statistics_as_they_were(seeded):
    """The excerpt of the escalation resolved in 2026 and the staff records go; the cases
    and the counts stay, and so does every figure."""
    server, seed = seeded
    engine = make_engine(server.escalation_url)
    zone = ZoneInfo(settings.staff_time_zone)

    def statistics():
        with engine.connect() as connection:
            facts = connection.execute(select(case_facts).order_by(case_facts.c.id)).all()
            counts = connection.execute(
                select(conversation_counts).order_by(conversation_counts.c.hour)
            ).all()
        weeks = report.read(
            engine, date(2026, 11, 1), date(2026, 12, 31), report.Granularity.WEEK, zone, OUTCOMES
        )
        return facts, counts, weeks

    before = statistics()
    now = datetime.now(timezone.utc)
    erased = erase_resolved_excerpts(engine, 0, now)  # everything resolved is past retention
    config = replace(settings, audit_retention_days=0, conversation_retention_days=0)
    purge_staff_and_presence_records(engine, config, now)
    assert erased >= 1
    after = statistics()
    assert after == before
    assert len(before[0]) == 6 and sum(row.conversations for row in before[1]) == 15


@pytest.mark.parametrize("kind", DATABASE_KINDS)
def test_two_threads_counting_at_once_lose_nothing(kind, tmp_path):
    with database_url(kind, tmp_path, migrated=True) as url:
        engine = make_engine(url)
        hour, per_thread = utc(2026, 12, 5, 10, 30), 40
        start = threading.Barrier(2)
        failures = []

        def count_many():
            start.wait()
            try:
                for _ in range(per_thread):
                    count_conversation(engine, hour)
            except Exception as error:  # pragma: no cover - reported below
                failures.append(error)

        threads = [threading.Thread(target=count_many) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with engine.connect() as connection:
            rows = connection.execute(select(conversation_counts)).all()
        engine.dispose()
    assert failures == []
    assert len(rows) == 1 and rows[0].conversations == 2 * per_thread
