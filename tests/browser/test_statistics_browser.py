"""The statistics page in Debian's Chromium: an admin reaches it from the menu, chooses weeks
and a range, sees the charts (inline SVG, no CSP refusal) and the table with the seeded
figures, and downloads the CSV, which holds the same figures; axe-core finds no problem on
the page with its charts."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Page, expect

from bot.staff.accounts import Role
from tests.browser.test_staff_accessibility import violations
from tests.browser.test_staff_browser import log_in
from tests.integration.test_statistics import seed_the_store
from tests.support.staff_server import staff_server


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """The dashboard on a store seeded like tests/integration/test_statistics.py."""
    with staff_server(tmp_path_factory.mktemp("statistics-browser")) as server:
        seed_the_store(server)
        yield server


@pytest.fixture
def page(browser):
    context = browser.new_context(
        locale="sv-SE",
        timezone_id="Europe/Stockholm",
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    page = context.new_page()
    page.refused = []  # what the CSP refused (an inline style would be)
    page.on(
        "console",
        lambda message: (
            page.refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    context.close()


def show_weeks_48_and_49(page: Page, dashboard) -> None:
    log_in(page, dashboard, Role.ADMIN)
    page.get_by_role("link", name="Statistik").click()
    expect(page.get_by_role("heading", name="Statistik", exact=True)).to_be_visible()
    page.get_by_label("Period", exact=True).select_option("week")
    page.get_by_label("Från", exact=True).fill("2026-11-23")
    page.get_by_label("Till", exact=True).fill("2026-12-06")
    page.get_by_role("button", name="Visa").click()
    expect(page).to_have_url(
        f"{dashboard.url}/admin/statistics?period=week&from=2026-11-23&to=2026-12-06"
    )


def test_the_page_shows_the_charts_and_the_seeded_figures(dashboard, page):
    show_weeks_48_and_49(page, dashboard)
    cases_chart = page.get_by_role("img", name="Ärenden per vecka efter nivå")
    expect(cases_chart).to_be_visible()
    expect(page.get_by_role("img", name="Samtal per vecka")).to_be_visible()
    expect(page.get_by_role("img", name="Samtal per timme på dygnet")).to_be_visible()
    # Stacked: week 49 has an acute, an elevated and a "no risk" case, drawn with height.
    bars = page.locator("#chart-cases g.bar")
    expect(bars).to_have_count(2)
    week49 = bars.nth(1).locator("rect")
    expect(week49).to_have_count(3)
    assert all(week49.nth(i).bounding_box()["height"] > 10 for i in range(3))
    row = page.locator('#per-period tr[data-period="2026-W49"]')
    expect(row.locator("th")).to_have_text("vecka 49, 2026")
    expect(row.locator('[data-figure="conversations"]')).to_have_text("7")
    expect(row.locator('[data-figure="cases"]')).to_have_text("3")
    expect(row.locator('[data-figure="to_claim_median"]')).to_have_text("2 min")
    expect(row.locator('[data-figure="to_resolve_p90"]')).to_have_text("1 h 05 min")
    expect(page.locator('#hours tr[data-hour="23"] [data-figure="conversations"]')).to_have_text(
        "3"
    )
    assert page.refused == []


def test_the_csv_downloads_with_the_same_figures(dashboard, page):
    show_weeks_48_and_49(page, dashboard)
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Ladda ner som CSV").click()
    download = downloading.value
    assert download.suggested_filename == "vagvisaren-statistik-week-2026-11-23-2026-12-06.csv"
    text = download.path().read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    week48, week49 = csv.DictReader(io.StringIO(text[1:]), delimiter=";")
    assert (week48["Period"], week48["Samtal"], week48["Ärenden"]) == ("2026-W48", "3", "2")
    assert (week49["Period"], week49["Samtal"], week49["Ärenden"]) == ("2026-W49", "7", "3")
    assert week49["Tid till tagen, median (sekunder)"] == "120"
    assert week49["Tid till avslutad, 90:e percentilen (sekunder)"] == "3900"
    assert week49["Nivå: Ingen risk"] == "1" and week49["Inte avslutade"] == "1"


def test_axe_finds_no_problem_on_the_page_with_its_charts(dashboard, browser):
    # axe is injected into the page, which the dashboard's CSP would refuse.
    context = browser.new_context(locale="sv-SE", bypass_csp=True)
    try:
        page = context.new_page()
        show_weeks_48_and_49(page, dashboard)
        assert violations(page) == []
    finally:
        context.close()
