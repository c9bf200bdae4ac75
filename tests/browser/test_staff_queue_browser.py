"""The queue and the alerts in headless Chromium (Debian's), against the real dashboard
server: a new acute case and a relative asking for a person raise an alert in a tab in the
background (desktop notification without any text of the case, title, a line on the page),
an elevated case without a request raises none; an admin closes selected cases as
skräp/test and the audit log shows it; a handler has no checkboxes; the live update draws
the same triage as the page and keeps ticked boxes."""

from __future__ import annotations

import time
import uuid

import pytest
from playwright.sync_api import Page, expect

from bot.escalations.service import Signal, record_signal, request_person
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.risk.levels import RiskLevel
from bot.staff.model import Role
from bot.store.engine import session_factory
from tests.browser.test_staff_browser import log_in
from tests.support.staff_server import staff_server

SECRET_WORDS = "planerar en attack mot skolan"

# Records every desktop notification the page makes, and still makes it (calls through).
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  if (!Real) return;
  window.__notifications = [];
  function Recording(title, options) {
    const given = options || {};
    window.__notifications.push({ title, body: given.body || "", tag: given.tag || "" });
    return new Real(title, options);
  }
  Recording.prototype = Real.prototype;
  Object.defineProperty(Recording, "permission", { get: () => Real.permission });
  Recording.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recording;
})();
"""

# Headless Chromium reports every page as visible, whichever is in front (Playwright issues
# 2286 and 12099; bring_to_front, Target.activateTarget, a minimised window and a target
# created in the background were all tried): the page is told it went to the background as
# a browser tells it, through document.visibilityState and the visibilitychange event.
BACKGROUND_TAB = """
(() => {
  let hidden = false;
  const state = { configurable: true, get: () => (hidden ? "hidden" : "visible") };
  Object.defineProperty(Document.prototype, "visibilityState", state);
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => hidden });
  window.__toBackground = () => {
    hidden = true;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
"""


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    with staff_server(tmp_path_factory.mktemp("browser-queue")) as server:
        yield server


def escalate(dashboard, level: RiskLevel) -> int:
    uow = SqlAlchemyUnitOfWork(session_factory(dashboard.escalation_url))
    signal = Signal(uuid.uuid4().hex, level, ("attack",), f"…{SECRET_WORDS}…", uuid.uuid4().hex)
    return record_signal(uow, signal).escalation_id


def ask_for_a_person(dashboard) -> int:
    uow = SqlAlchemyUnitOfWork(session_factory(dashboard.escalation_url))
    return request_person(uow, uuid.uuid4().hex).escalation_id


def wait_until(page: Page, expression: str, seconds: float = 30) -> None:
    """Until `expression` is true in the page. Evaluated from here: the dashboard's CSP
    refuses the eval that page.wait_for_function uses, and its rAF polling stops in a tab
    in the background."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"never true: {expression}"
        page.wait_for_timeout(200)


def recording_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def notifications(page: Page) -> list[dict]:
    return page.evaluate("window.__notifications")


def test_a_new_acute_case_raises_the_alert_in_a_background_tab(browser, dashboard):
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    try:
        context.grant_permissions(["notifications"], origin=dashboard.url)
        context.add_init_script(RECORD_NOTIFICATIONS)
        context.add_init_script(BACKGROUND_TAB)
        page = context.new_page()
        errors = recording_errors(page)
        old = escalate(dashboard, RiskLevel.ACUTE)  # already there: no alert for it
        log_in(page, dashboard)
        page.get_by_label("Tillgänglig för chatt").check()
        page.get_by_role("button", name="Spara").click()
        expect(page.locator("#desktop-alerts-state")).to_have_text("Skrivbordsaviseringar är på.")
        expect(page.get_by_role("button", name="Slå på skrivbordsaviseringar")).to_be_hidden()
        wait_until(page, "sessionStorage.getItem('vv_alerts_seen') !== null")
        title_before = page.title()

        other = context.new_page()
        other.goto(f"{dashboard.url}/static/staff.css")
        other.bring_to_front()
        page.evaluate("window.__toBackground()")
        assert page.evaluate("document.visibilityState") == "hidden"
        assert other.evaluate("document.visibilityState") == "visible"

        acute = escalate(dashboard, RiskLevel.ACUTE)
        wait_until(page, "window.__notifications.length >= 1")
        [shown] = notifications(page)
        assert shown["title"] == f"Nytt akut ärende – nr {acute}"
        assert SECRET_WORDS not in shown["title"] + shown["body"]
        assert page.title().startswith("(1) Nytt akut ärende – nr")
        assert page.title() != title_before
        line = page.locator("#alert-lines a")
        expect(line).to_have_text(f"Nytt akut ärende – nr {acute}")
        expect(line).to_have_attribute("href", f"/escalations/{acute}")
        assert page.locator("#alert-lines").get_attribute("aria-live") == "assertive"

        # An elevated case without a request: nothing. The request that follows it rings,
        # so by then the elevated one has been seen by a poll too.
        elevated = escalate(dashboard, RiskLevel.ELEVATED)
        asked = ask_for_a_person(dashboard)
        wait_until(page, "window.__notifications.length >= 2")
        titles = [n["title"] for n in notifications(page)]
        assert titles == [
            f"Nytt akut ärende – nr {acute}",
            f"En anhörig vill prata med en person – nr {asked}",
        ]
        assert not any(f"nr {elevated}" in t or f"nr {old}" in t for t in titles)
        assert page.title().startswith("(2) ")
        expect(page.locator("#alert-lines a")).to_have_count(2)
        assert errors == []
    finally:
        context.close()


def test_an_unavailable_handler_is_not_alerted(browser, dashboard):
    context = browser.new_context(locale="sv-SE")
    try:
        context.grant_permissions(["notifications"], origin=dashboard.url)
        context.add_init_script(RECORD_NOTIFICATIONS)
        page = context.new_page()
        log_in(page, dashboard)  # the switch is off
        wait_until(page, "sessionStorage.getItem('vv_alerts_seen') !== null")
        acute = escalate(dashboard, RiskLevel.ACUTE)
        seen = "JSON.parse(sessionStorage.getItem('vv_alerts_seen'))"
        wait_until(page, f"{seen}.some(key => key.startsWith('acute:{acute}:'))")
        assert notifications(page) == []
        expect(page.locator("#alert-lines a")).to_have_count(0)
    finally:
        context.close()


def test_bulk_resolve_is_audited_and_only_admins_see_the_boxes(browser, dashboard):
    first, second, kept = (escalate(dashboard, RiskLevel.ELEVATED) for _ in range(3))
    handler_context = browser.new_context(locale="sv-SE")
    admin_context = browser.new_context(locale="sv-SE")
    try:
        handler = handler_context.new_page()
        log_in(handler, dashboard)
        expect(handler.locator(f'tr[data-id="{first}"]')).to_be_visible()
        expect(handler.get_by_label(f"Markera ärende {first}")).to_have_count(0)
        expect(
            handler.get_by_role("button", name="Avsluta markerade som skräp/test")
        ).to_have_count(0)

        page = admin_context.new_page()
        errors = recording_errors(page)
        log_in(page, dashboard, Role.ADMIN)
        page.get_by_label(f"Markera ärende {first}").check()
        # The live update redraws the rows: the ticked box stays ticked, the cells the same.
        page.evaluate(f"document.querySelector('tr[data-id=\"{first}\"]').dataset.old = 'yes'")
        wait_until(page, f"!document.querySelector('tr[data-id=\"{first}\"]').dataset.old")
        expect(page.get_by_label(f"Markera ärende {first}")).to_be_checked()
        row = page.locator(f'tr[data-id="{first}"]')
        expect(row).to_contain_text(SECRET_WORDS)  # the redacted preview
        expect(row.locator(".wait")).to_contain_text("min")
        page.get_by_label(f"Markera ärende {second}").check()
        page.get_by_role("button", name="Avsluta markerade som skräp/test").click()

        expect(page.locator("#bulk-result")).to_contain_text(
            "2 ärenden avslutades som skräp eller test, 0 hoppades över"
        )
        expect(page.locator(f'tr[data-id="{first}"]')).to_have_count(0)
        expect(page.locator(f'tr[data-id="{second}"]')).to_have_count(0)
        expect(page.locator(f'tr[data-id="{kept}"]')).to_be_visible()

        page.get_by_role("link", name="Logg").click()
        audit = page.locator("table tbody tr")
        expect(audit.filter(has_text="2 resolved, 0 skipped")).to_have_count(1)
        for number in (first, second):
            entry = audit.filter(has_text="outcome spam_test").filter(
                has=page.locator(f'a[href="/escalations/{number}"]')
            )
            expect(entry.filter(has_text="bulk_resolve")).to_have_count(1)
        page.goto(f"{dashboard.url}/escalations/{first}")
        expect(page.locator("#status")).to_contain_text("Skräp eller test")
        assert errors == []
    finally:
        handler_context.close()
        admin_context.close()
