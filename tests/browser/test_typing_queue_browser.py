"""Typing both ways and the relative's place in the queue, in Debian's Chromium: the real
widget on the demo municipality page (as tests/browser/test_widget.py uses it), the real
staff dashboard, the real Rasa and action servers, and the Telegram stand-in.

Texts come from data/texts/widget.yml, partials/typing.html and domain.yml, as the pages
show them.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from bot.escalations.waiting import queue_status
from bot.pseudonym import channel_sender_id, conversation_ref
from bot.settings import PROJECT_ROOT
from bot.store.engine import make_engine
from tests.browser.test_staff_browser import log_in
from tests.browser.test_widget import REPLY_MS, TEXTS, Chat, axe_violations
from tests.integration.test_messaging import new_chat, telegram_turn
from tests.support.servers import TEST_PSEUDONYM_KEY
from tests.support.staff_server import escalation_for, first_line, staff_server_for

ASK_FOR_A_PERSON = "kan jag få prata med en riktig människa"
RISK_MESSAGE = "min bror har skaffat en pistol och pratar om att hämnas"
# The queue is asked every 15 s: an update comes within two rounds.
QUEUE_UPDATE_MS = 40_000
RELATIVE_TYPING = re.search(
    r'data-text="([^"]+)"',
    (PROJECT_ROOT / "bot/staff/templates/partials/typing.html").read_text(encoding="utf-8"),
).group(1)


@pytest.fixture(scope="module")
def site_dashboard(chat_site, tmp_path_factory):
    """The dashboard on the demo site's bot (the widget's)."""
    with staff_server_for(chat_site.bot, tmp_path_factory.mktemp("typing-dashboard")) as server:
        yield server


@pytest.fixture(scope="module")
def dashboard(bot, tmp_path_factory):
    """The dashboard on the bot with Telegram (the stand-in)."""
    with staff_server_for(bot, tmp_path_factory.mktemp("typing-telegram")) as server:
        yield server


@pytest.fixture
def new_page(browser):
    """`new_page()`: a page in a context of its own (its own tab storage and cookies)."""
    contexts = []

    def make(**options) -> Page:
        context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm", **options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def queue_text(place: int) -> str:
    return TEXTS["queue_place"].replace("{place}", str(place))


def place_of(site, session_id: str) -> int:
    engine = make_engine(f"sqlite:///{site.bot.escalation_database}")
    return queue_status(engine, conversation_ref(session_id, TEST_PSEUDONYM_KEY)).place


def test_the_queue_position_updates_for_a_waiting_relative(chat_site, site_dashboard, new_page):
    handler = site_dashboard.client()
    handler.post("/availability", {"available": "on"})  # and its session is fresh: available
    try:
        first = Chat(new_page(), chat_site).open()
        first.turn(ASK_FOR_A_PERSON)
        second = Chat(new_page(bypass_csp=True), chat_site).open()  # axe is injected
        second.turn(ASK_FOR_A_PERSON)
        queued = first_line("utter_request_human_queued")
        assert any(text.startswith(queued) for text in first.texts_from("bot"))

        # Relatives who asked earlier in this run and still wait would be ahead of both.
        ahead = place_of(chat_site, first.session_id())
        queue = second.locator(".vv-queue-text")
        expect(queue).to_be_visible(timeout=REPLY_MS)
        expect(queue).to_contain_text(queue_text(ahead + 1))
        expect(first.locator(".vv-queue-text")).to_contain_text(queue_text(ahead))
        # The usual wait, or honestly none: never a promise.
        expect(queue).to_contain_text(re.compile(r"brukar ta omkring|Vi kan inte säga"))
        expect(queue).to_have_attribute("role", "status")  # each new place is read out

        # A handler joins the first relative's conversation; the second writes nothing.
        number = escalation_for(
            f"sqlite:///{chat_site.bot.escalation_database}", first.session_id()
        )["id"]
        assert handler.post(f"/escalations/{number}/handoff/join").status_code == 303
        expect(queue).to_contain_text(queue_text(ahead), timeout=QUEUE_UPDATE_MS)
        # The first has a person now: their place is gone.
        expect(first.locator(".vv-queue-text")).to_have_text("", timeout=REPLY_MS)
        assert second.texts_from("user") == [ASK_FOR_A_PERSON]
        assert axe_violations(second.page, in_frame=True) == []  # the place shown, too
    finally:
        handler.post("/availability", {})


def test_a_waiting_relative_is_told_when_nobody_is_available_any_more(
    chat_site, site_dashboard, new_page
):
    handler = site_dashboard.client()
    handler.post("/availability", {"available": "on"})
    try:
        relative = Chat(new_page(), chat_site).open()
        relative.turn(ASK_FOR_A_PERSON)
        queue = relative.locator(".vv-queue-text")
        expect(queue).to_contain_text(TEXTS["queue_place"].split("{")[0], timeout=REPLY_MS)
        contacts = relative.button(TEXTS["queue_contacts"])
        expect(contacts).to_be_hidden()
    finally:
        handler.post("/availability", {})
    # Nobody available now: said honestly, with the way to the people they can call.
    expect(queue).to_have_text(TEXTS["queue_no_handler"], timeout=QUEUE_UPDATE_MS)
    expect(contacts).to_be_visible()
    before = len(relative.texts_from("bot"))
    contacts.click()
    answer = relative.wait_for_answer(before)
    assert answer[0].startswith(first_line("utter_request_human")), answer


def test_typing_shows_both_ways_between_the_widget_and_the_dashboard(
    chat_site, site_dashboard, new_page
):
    relative = Chat(new_page(), chat_site).open()
    relative.turn(RISK_MESSAGE)
    number = escalation_for(
        f"sqlite:///{chat_site.bot.escalation_database}", relative.session_id()
    )["id"]
    staff = new_page()
    log_in(staff, site_dashboard)
    staff.goto(f"{site_dashboard.url}/escalations/{number}")
    staff.get_by_role("button", name="Gå in i samtalet").click()
    expect(relative.locator(".vv-from-bot").last).to_contain_text(
        first_line("utter_handoff_joined"), timeout=REPLY_MS
    )
    indicator = staff.locator("#relative-typing")
    expect(indicator).to_have_attribute("aria-live", "polite")
    expect(indicator).to_have_text("")

    # The relative types (and sends nothing): the live view says so.
    relative.input.press_sequentially("jag undrar", delay=50)
    expect(indicator).to_have_text(RELATIVE_TYPING, timeout=15_000)

    # The handler types: the widget says a person on the staff is typing.
    typing = relative.locator(".vv-typing")
    expect(typing).to_be_hidden()
    staff.get_by_label("Ditt meddelande").press_sequentially("Hej, jag läser", delay=50)
    expect(typing).to_be_visible(timeout=15_000)
    expect(typing).to_contain_text(TEXTS["staff_typing"])
    # ... until their message arrives.
    staff.get_by_label("Ditt meddelande").press_sequentially(" det du skrev.")
    staff.get_by_role("button", name="Skicka").click()
    expect(relative.locator(".vv-from-staff")).to_contain_text("Hej, jag läser det du skrev.")
    expect(typing).to_be_hidden()


def test_a_telegram_relative_sees_the_handler_typing(bot, dashboard, messaging_apis, new_page):
    apis = messaging_apis
    chat_id = new_chat(apis)
    conversation = channel_sender_id("telegram", str(chat_id), TEST_PSEUDONYM_KEY)
    telegram_turn(bot, apis, chat_id, "min son har köpt flygbiljett till syrien och åker i morgon")
    number = escalation_for(f"sqlite:///{bot.escalation_database}", conversation)["id"]
    staff = new_page()
    log_in(staff, dashboard)
    staff.goto(f"{dashboard.url}/escalations/{number}")
    staff.get_by_role("button", name="Gå in i samtalet").click()
    expect(staff.get_by_label("Ditt meddelande")).to_be_visible()
    start = apis.telegram.count()
    staff.get_by_label("Ditt meddelande").press_sequentially("Hej", delay=50)
    typing = apis.telegram.wait_for(start, "sendChatAction", lambda call: True, 15)
    assert typing == [{"chat_id": chat_id, "action": "typing"}]
