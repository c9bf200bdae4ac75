"""The staff dashboard in Debian's Chromium: axe-core finds no accessibility problem on
any page (logged out, the queue with every kind of case, a live chat, the admin pages),
the transcript renders as one aligned line per message, and a handler's whole path —
queue, case, claim, join, write, send — works with the keyboard alone (issue 20)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from bot.escalations.service import Signal, record_signal, request_person
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.pseudonym import conversation_ref
from bot.risk.levels import RiskLevel
from bot.staff.accounts import Role
from bot.store.engine import session_factory
from tests.browser.test_staff_browser import Relative, escalation_id, log_in
from tests.browser.test_widget import AXE, AXE_RUN
from tests.support.servers import TEST_PSEUDONYM_KEY
from tests.support.staff_server import first_line, staff_server_for


@pytest.fixture(scope="module")
def dashboard(bot, tmp_path_factory):
    with staff_server_for(bot, tmp_path_factory.mktemp("staff-accessibility")) as server:
        yield server


@pytest.fixture
def page(browser):
    context = browser.new_context(
        locale="sv-SE", timezone_id="Europe/Stockholm", viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()


def seed_every_kind_of_case(bot) -> None:
    """Acute and confirmed, elevated, a request for a person without a signal."""
    url = f"sqlite:///{bot.escalation_database}"
    kinds = [
        (RiskLevel.ACUTE, ("attack",), ("third_party",), True),
        (RiskLevel.ELEVATED, ("travel", "weapons"), ("person",), False),
        (RiskLevel.ELEVATED, ("suicide",), ("self",), False),
    ]
    for number, (level, categories, subjects, confirmed) in enumerate(kinds):
        record_signal(
            SqlAlchemyUnitOfWork(session_factory(url)),
            Signal(
                conversation_ref(f"a11y-{number}", TEST_PSEUDONYM_KEY),
                level,
                categories,
                "…han pratar om [namn] och en resa…",
                f"a11y-{number}",
                subjects,
                confirmed,
            ),
        )
    request_person(
        SqlAlchemyUnitOfWork(session_factory(url)),
        conversation_ref("a11y-person", TEST_PSEUDONYM_KEY),
    )


def violations(page: Page) -> list[tuple]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(AXE_RUN)
    assert any(rule["id"] == "color-contrast" for rule in results["passes"]), "axe checked nothing"
    return [
        (violation["id"], violation["impact"], [node["target"] for node in violation["nodes"]])
        for violation in results["violations"]
    ]


def test_axe_finds_no_problem_on_any_dashboard_page(bot, dashboard, browser):
    seed_every_kind_of_case(bot)
    # axe is injected into the page, which the dashboard's CSP would refuse.
    context = browser.new_context(locale="sv-SE", bypass_csp=True)
    relative = Relative(bot.url)
    found: dict[str, list] = {}
    try:
        page = context.new_page()
        page.goto(f"{dashboard.url}/login")
        found["/login"] = violations(page)
        log_in(page, dashboard, Role.ADMIN)
        page.get_by_label("Tillgänglig för chatt").check()
        page.get_by_role("button", name="Spara").first.click()

        relative.say("min son har skaffat en pistol och pratar om att hämnas")
        relative.wait_for(first_line("utter_risk_elevated"))
        number = escalation_id(bot, relative.session_id)
        page.goto(f"{dashboard.url}/")
        expect(page.locator(f'tr[data-id="{number}"]')).to_be_visible(timeout=20_000)
        found["/ (queue)"] = violations(page)

        page.goto(f"{dashboard.url}/escalations/{number}")
        page.get_by_role("button", name="Ta ärendet").click()
        page.get_by_role("button", name="Gå in i samtalet").click()
        relative.wait_for(first_line("utter_handoff_joined"))
        relative.say("tack, jag är orolig")
        expect(page.locator("#transcript")).to_contain_text("jag är orolig")
        found["/escalations/N (live chat)"] = violations(page)

        for path in (
            "/admin/users",
            "/admin/audit",
            "/admin/quick-replies",
            "/supervisor",
            "/admin/statistics",
        ):
            response = page.goto(f"{dashboard.url}{path}")
            assert response.status == 200, path
            found[path] = violations(page)
    finally:
        relative.leave()
        context.close()
    assert all(not problems for problems in found.values()), json.dumps(found, indent=1)


def test_each_transcript_line_is_one_aligned_row(bot, dashboard, page):
    relative = Relative(bot.url)
    try:
        relative.say("hej")
        relative.wait_for("")
        relative.say("min bror har gått med i en nazistisk kampsportsklubb\noch pratar om vapen")
        relative.wait_for(first_line("utter_risk_elevated"))
        number = escalation_id(bot, relative.session_id)
    finally:
        relative.leave()
    log_in(page, dashboard)
    page.goto(f"{dashboard.url}/escalations/{number}")
    lines = page.locator("#transcript li")
    expect(lines.first).to_be_visible()
    geometry = lines.evaluate_all(
        """items => items.map(item => {
            const box = (selector) => item.querySelector(selector).getBoundingClientRect();
            return { speaker: box('.speaker'), time: box('time'), text: box('.text'),
                     first: item.querySelector('.text').innerText.slice(0, 1) };
        })"""
    )
    assert len(geometry) >= 4
    text_columns = {round(line["text"]["left"]) for line in geometry}
    assert len(text_columns) == 1, f"the messages start at different places: {text_columns}"
    for line in geometry:
        # Speaker, time and the message's first line share one row.
        assert abs(line["speaker"]["top"] - line["time"]["top"]) < 4
        assert abs(line["speaker"]["top"] - line["text"]["top"]) < 4
        assert not line["first"].isspace()


def focus_by_tab(page: Page, name: str, presses: int = 80) -> None:
    """Tabs forward until the focused element's accessible text contains `name`."""
    for _ in range(presses):
        page.keyboard.press("Tab")
        label = page.evaluate(
            """() => { const e = document.activeElement;
                return (e.innerText || e.value || e.getAttribute('aria-label') || '')
                  + ' ' + (e.labels && e.labels[0] ? e.labels[0].innerText : ''); }"""
        )
        if name in label:
            return
    raise AssertionError(f"{name!r} cannot be reached with Tab")


def test_a_handler_works_a_case_with_the_keyboard_alone(bot, dashboard, page):
    log_in(page, dashboard)
    relative = Relative(bot.url)
    try:
        relative.say("min son har skaffat en pistol och pratar om att hämnas")
        relative.wait_for(first_line("utter_risk_elevated"))
        number = escalation_id(bot, relative.session_id)
        page.goto(f"{dashboard.url}/")
        expect(page.locator(f'tr[data-id="{number}"]')).to_be_visible(timeout=20_000)
        page.locator(f'tr[data-id="{number}"] a').first.focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{dashboard.url}/escalations/{number}")
        focus_by_tab(page, "Ta ärendet")
        page.keyboard.press("Enter")
        expect(page.locator("#status")).to_contain_text("Tagen")
        focus_by_tab(page, "Gå in i samtalet")
        page.keyboard.press("Enter")
        relative.wait_for(first_line("utter_handoff_joined"))
        # The join reloads the page; tabbing starts again from its top once it is there.
        expect(page.get_by_label("Ditt meddelande")).to_be_visible()
        focus_by_tab(page, "Ditt meddelande")
        page.keyboard.type("Hej, jag läser det du skrev.")
        focus_by_tab(page, "Skicka")
        page.keyboard.press("Enter")
        assert relative.wait_for("Hej, jag läser det du skrev.")["sender"] == "staff"
    finally:
        relative.leave()
    assert page.errors == []
