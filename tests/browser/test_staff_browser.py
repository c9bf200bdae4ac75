"""The staff dashboard in headless Chromium: a handler logs in with TOTP, sees a new
escalation arrive, claims it, joins the conversation, talks with a relative (a real
socket.io client of the real bot), hands back and resolves. Relatives' markup is shown as
text and runs no script.
"""

from __future__ import annotations

import queue
import time
import uuid

import pytest
import socketio
from playwright.sync_api import Page, expect

from bot.escalations.service import Signal, record_signal
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.pseudonym import conversation_ref
from bot.risk.levels import RiskLevel
from bot.staff.model import Role
from bot.store.engine import session_factory
from tests.support.servers import TEST_PSEUDONYM_KEY
from tests.support.staff_server import (
    PASSWORD,
    XSS_PAYLOADS,
    escalation_for,
    first_line,
    next_code,
    staff_server_for,
)


@pytest.fixture(scope="module")
def dashboard(bot, tmp_path_factory):
    with staff_server_for(bot, tmp_path_factory.mktemp("browser-staff")) as server:
        yield server


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


class Relative:
    """A relative in the web chat: python-socketio's client over the polling transport."""

    def __init__(self, url: str) -> None:
        self.messages: queue.Queue = queue.Queue()
        self.client = socketio.Client()
        confirmed: queue.Queue = queue.Queue()
        self.client.on("session_confirm", confirmed.put)
        self.client.on("bot_uttered", self.messages.put)
        self.client.connect(url, socketio_path="/socket.io", transports=["polling"])
        self.client.emit("session_request", {"session_id": None})
        self.session_id = confirmed.get(timeout=15)

    def say(self, message: str) -> None:
        self.client.emit("user_uttered", {"session_id": self.session_id, "message": message})

    def wait_for(self, start: str, seconds: float = 60) -> dict:
        deadline = time.monotonic() + seconds
        while True:
            message = self.messages.get(timeout=max(0.1, deadline - time.monotonic()))
            if (message.get("text") or "").startswith(start):
                return message

    def leave(self) -> None:
        self.client.disconnect()


def escalation_id(bot, session_id: str) -> int:
    return escalation_for(f"sqlite:///{bot.escalation_database}", session_id)["id"]


def log_in(page: Page, dashboard, role: Role = Role.HANDLER) -> str:
    """Logs a new account with `role` in on `page`, as a person would (TOTP code and all)."""
    username, secret = dashboard.new_account(role)
    page.goto(f"{dashboard.url}/login")
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_label("Kod från din autentiseringsapp").fill(next_code(secret))
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", name="Ärenden")).to_be_visible()
    return username


def test_a_handler_takes_an_escalation_through_to_the_end(bot, dashboard, page):
    log_in(page, dashboard)
    relative = Relative(bot.url)
    try:
        relative.say("min son har skaffat en pistol och pratar om att hämnas")
        relative.wait_for(first_line("utter_risk_elevated"))
        number = escalation_id(bot, relative.session_id)
        # The queue shows it without a reload (it asks for updates every few seconds).
        row = page.locator(f'tr[data-id="{number}"]')
        expect(row).to_be_visible(timeout=20_000)
        row.get_by_role("link").click()
        page.get_by_role("button", name="Ta ärendet").click()
        expect(page.locator("#status")).to_contain_text("Tagen")
        page.get_by_role("button", name="Gå in i samtalet").click()
        relative.wait_for(first_line("utter_handoff_joined"))
        expect(page.locator("#presence")).to_contain_text("har chatten öppen")

        page.get_by_label("Ditt meddelande").fill("Hej, jag arbetar här. Hur mår du just nu?")
        page.get_by_role("button", name="Skicka").click()
        message = relative.wait_for("Hej, jag arbetar här.")
        assert message["sender"] == "staff"

        relative.say("tack, jag är orolig men ingen är i fara just nu")
        expect(page.locator("#transcript")).to_contain_text("jag är orolig men ingen är i fara")

        page.get_by_role("button", name="Lämna tillbaka till Vägvisaren").click()
        relative.wait_for(first_line("utter_handoff_returned"))
        page.get_by_label("Utfall").select_option("advice_given")
        page.get_by_role("button", name="Avsluta ärendet").click()
        expect(page.locator("#status")).to_contain_text("Avslutad")
        expect(page.locator("#status")).to_contain_text("Råd givna")
    finally:
        relative.leave()
    assert page.dialogs == []


def test_relatives_markup_runs_no_script_in_the_dashboard(bot, dashboard, page):
    sender = f"browser-{uuid.uuid4().hex}"
    for payload in XSS_PAYLOADS:  # through the real bot and its redacting tracker store
        bot.say(sender, payload)
    uow = SqlAlchemyUnitOfWork(session_factory(f"sqlite:///{bot.escalation_database}"))
    signal = Signal(
        conversation_ref(sender, TEST_PSEUDONYM_KEY), RiskLevel.ELEVATED, ("threat",), "", "x"
    )
    number = record_signal(uow, signal).escalation_id
    log_in(page, dashboard)
    page.goto(f"{dashboard.url}/escalations/{number}")
    relative_lines = page.locator("#transcript li.from-relative")
    expect(relative_lines).to_have_count(len(XSS_PAYLOADS))
    page.wait_for_timeout(3000)  # time for any injected handler or refresh to fire
    assert page.evaluate("window.__xss") is None
    injected = page.locator(
        "#transcript script, #transcript img, #transcript svg, #transcript iframe, "
        "#transcript a, #transcript input, #transcript details, #transcript object"
    )
    assert injected.count() == 0
    shown = relative_lines.locator(".text").all_inner_texts()
    assert any("<script>" in line for line in shown)  # shown, as text
    assert page.dialogs == []
