"""Snabbsvar, transfer and the supervisor's view in headless Chromium (issue 20), with a
relative in the real bot's web chat (a socket.io client, tests/browser/test_staff_browser.py).

- An admin writes a prepared answer with a contact placeholder; the handler in the
  conversation picks it, edits a word and sends it; the relative gets it with the number
  from the contact file.
- Handler A hands a live conversation to handler B: B writes, A cannot, the relative is
  told; a handler is refused the admin's pages; an admin watches the conversation on
  /supervisor as it goes on.
"""

from __future__ import annotations

import queue
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, expect

from bot.contacts import load_contacts
from bot.staff.model import Role
from tests.browser.test_staff_browser import Relative, escalation_id, log_in
from tests.support.settings import settings
from tests.support.staff_server import first_line, staff_server_for

RISK_MESSAGE = "min son har skaffat en pistol och pratar om att hämnas"


@pytest.fixture(scope="module")
def dashboard(bot, tmp_path_factory):
    with staff_server_for(bot, tmp_path_factory.mktemp("browser-live-tools")) as server:
        yield server


@contextmanager
def signed_in(browser, dashboard, role: Role = Role.HANDLER):
    """A page of its own browser context (its own cookie), logged in with `role`."""
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.username = log_in(page, dashboard, role)
    try:
        yield page
    finally:
        context.close()
    assert dialogs == []


def join(page: Page, dashboard, relative: Relative, bot) -> int:
    number = escalation_id(bot, relative.session_id)
    page.goto(f"{dashboard.url}/escalations/{number}")
    page.get_by_role("button", name="Gå in i samtalet").click()
    relative.wait_for(first_line("utter_handoff_joined"))
    expect(page.get_by_label("Ditt meddelande")).to_be_visible()
    return number


def test_a_prepared_answer_reaches_a_relative_with_its_placeholder_filled(bot, dashboard, browser):
    mind = next(c for c in load_contacts(settings.contacts_file) if c.id == "mind_suicide")
    with signed_in(browser, dashboard, Role.ADMIN) as admin:
        admin.get_by_role("link", name="Snabbsvar").click()
        admin.get_by_label("Rubrik").fill("Självmordstankar")
        admin.get_by_label("Text till den anhöriga").fill(
            "Du kan ringa {kontakt:mind_suicide} dygnet runt."
        )
        admin.get_by_role("button", name="Lägg till").click()
        expect(admin.get_by_role("status")).to_contain_text("Snabbsvaret är sparat")

    relative = Relative(bot.url)
    try:
        relative.say(RISK_MESSAGE)
        relative.wait_for(first_line("utter_risk_elevated"))
        with signed_in(browser, dashboard) as handler:
            join(handler, dashboard, relative, bot)
            message = handler.get_by_label("Ditt meddelande")
            message.fill("Hej! ")  # the answer goes in at the cursor, after this
            handler.get_by_label("Snabbsvar").select_option(label="Självmordstankar")
            handler.get_by_role("button", name="Infoga").click()
            filled = f"Hej! Du kan ringa {mind.name}: {mind.phone} dygnet runt."
            expect(message).to_have_value(filled)
            expect(message).to_be_focused()  # back in the box, to edit
            message.fill(filled.replace("dygnet runt", "när som helst"))
            handler.get_by_role("button", name="Skicka").click()
            received = relative.wait_for("Hej! Du kan ringa")
    finally:
        relative.leave()
    assert received["sender"] == "staff"
    assert received["text"] == f"Hej! Du kan ringa {mind.name}: {mind.phone} när som helst."
    assert "{" not in received["text"]


def test_transfer_and_supervisor_view_respect_roles(bot, dashboard, browser):
    relative = Relative(bot.url)
    try:
        relative.say(RISK_MESSAGE)
        relative.wait_for(first_line("utter_risk_elevated"))
        with (
            signed_in(browser, dashboard) as handler_a,
            signed_in(browser, dashboard) as handler_b,
            signed_in(browser, dashboard, Role.ADMIN) as admin,
        ):
            number = join(handler_a, dashboard, relative, bot)

            # A handler: neither the supervisor's view nor the prepared answers' admin page.
            for path in ("/supervisor", "/admin/quick-replies"):
                other_page = handler_b.context.new_page()
                assert other_page.goto(f"{dashboard.url}{path}").status == 403
                other_page.close()
            expect(handler_a.get_by_role("link", name="Pågående samtal")).to_have_count(0)

            # The admin watches the live conversation, updated as it goes on.
            admin.get_by_role("link", name="Pågående samtal").click()
            row = admin.locator(f'#supervisor-rows tr[data-id="{number}"]')
            expect(row).to_contain_text(f"i samtalet: {handler_a.username}")

            handler_a.get_by_label("Lämna över till").select_option(label=handler_b.username)
            handler_a.get_by_role("button", name="Lämna över").click()
            relative.wait_for(first_line("utter_handoff_transferred"))
            expect(handler_a.locator("#status")).to_contain_text(handler_b.username)
            expect(handler_a.get_by_label("Ditt meddelande")).to_have_count(0)
            refused = handler_a.evaluate(
                """async (number) => {
                  const csrf = document.querySelector('input[name="csrf"]').value;
                  const response = await fetch(`/escalations/${number}/handoff/message`, {
                    method: "POST", credentials: "same-origin",
                    headers: {"Content-Type": "application/json", Accept: "application/json",
                              "X-CSRF-Token": csrf},
                    body: JSON.stringify({text: "fortfarande här?"}),
                  });
                  return response.status;
                }""",
                number,
            )
            assert refused == 409

            handler_b.goto(f"{dashboard.url}/escalations/{number}")
            expect(handler_b.locator("#status")).to_contain_text(handler_b.username)
            handler_b.get_by_label("Ditt meddelande").fill("Hej, jag heter B och tar över nu.")
            handler_b.get_by_role("button", name="Skicka").click()
            assert relative.wait_for("Hej, jag heter B")["sender"] == "staff"

            expect(row).to_contain_text(f"i samtalet: {handler_b.username}", timeout=15_000)
            relative.say("okej, tack för att du är kvar")
            expect(row).to_contain_text("okej, tack för att du är kvar", timeout=15_000)
            # What a relative writes is shown as text by the page's updates, never run.
            relative.say("<img src=x onerror=window.__xss=1>")
            expect(row).to_contain_text("<img src=x onerror=window.__xss=1>", timeout=15_000)
            assert admin.locator("#supervisor-rows img").count() == 0
            assert admin.evaluate("window.__xss") is None
            expect(row.get_by_role("link", name=f"Ärende {number}")).to_be_visible()
    finally:
        relative.leave()
    with pytest.raises(queue.Empty):
        relative.wait_for("fortfarande här?", seconds=2)  # A's attempt never reached them
