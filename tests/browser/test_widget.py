"""The relatives' web chat widget in headless Chromium, on the demo municipality page (its
own origin, a strict Content Security Policy), talking to the real Rasa and action servers.
The chat button is on the page; the chat itself runs in a frame of the bot's own origin,
which the tests reach as the relative does, through the frame.

Texts are looked up in data/texts/widget.yml and domain.yml, never written out here; what the
bot said is checked by response name in Rasa's tracker as well.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Frame, FrameLocator, Page, expect

from bot.channels.widget.assets import load_texts
from bot.pseudonym import is_web_session_id
from bot.rasa_client import RasaConversations
from tests.browser.conftest import DESKTOP
from tests.support.servers import TEST_JWT_SECRET, TEST_PSEUDONYM_KEY, admin_token
from tests.support.staff_server import first_line

TEXTS = load_texts()
AXE = Path(__file__).parent / "node_modules/axe-core/axe.min.js"
STORAGE_KEY = "vagvisaren-chat"
REPLY_MS = 60_000
PHONE = {"width": 320, "height": 640}

RISK_MESSAGE = "min son har köpt flygbiljett till syrien och åker i morgon bitti"
# Playwright's CSS reaches into the loader's (open) shadow root; the frame is another origin.
FRAME = "#vagvisaren-chat iframe"


class Chat:
    """The widget on one page, seen as the relative sees it."""

    def __init__(self, page: Page, site) -> None:
        self.page = page
        self.site = site

    # -- the parts: the button on the page, the chat in its frame
    @property
    def launcher(self):
        return self.page.get_by_role("button", name=TEXTS["launcher"])

    @property
    def frame(self) -> FrameLocator:
        return self.page.frame_locator(FRAME)

    def chat_frame(self) -> Frame:
        """The frame's page itself, once the chat has loaded in it (for what only a script
        of the bot's origin can see: its storage, its focus)."""
        expect(self.frame.locator("main.vv")).to_be_attached(timeout=REPLY_MS)
        frame = self.page.locator(FRAME).element_handle().content_frame()
        assert origin(frame.url) == self.site.bot.url, frame.url
        return frame

    @property
    def input(self):
        return self.frame.get_by_role("textbox", name=TEXTS["input_label"])

    @property
    def status(self):
        return self.frame.locator(".vv-status-text")

    @property
    def quick_exit(self):
        return self.frame.get_by_role("button", name=TEXTS["quick_exit"])

    def button(self, name: str):
        return self.frame.get_by_role("button", name=name)

    def locator(self, selector: str):
        return self.frame.locator(selector)

    def texts_from(self, sender: str) -> list[str]:
        return self.locator(f".vv-from-{sender} .vv-text").all_inner_texts()

    # -- what the relative does
    def open(self) -> Chat:
        self.page.goto(self.site.demo_url)
        self.launcher.click()
        self.wait_connected()
        self.wait_for_answer(0)
        return self

    def wait_connected(self, timeout: float = REPLY_MS) -> None:
        expect(self.status).to_have_text(TEXTS["status_connected"], timeout=timeout)

    def say(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def wait_for_answer(self, before: int) -> list[str]:
        """The bot's messages after the first `before`, once it has stopped sending."""
        messages = self.locator(".vv-from-bot")
        expect(messages).not_to_have_count(before, timeout=REPLY_MS)
        count = messages.count()
        while True:  # a turn's messages come within moments of each other
            self.page.wait_for_timeout(1000)
            if messages.count() == count:
                return self.texts_from("bot")[before:]
            count = messages.count()

    def turn(self, text: str) -> list[str]:
        """Says `text`; the bot's messages of this turn."""
        before = len(self.texts_from("bot"))
        self.say(text)
        return self.wait_for_answer(before)

    def stored(self) -> dict | None:
        """What the chat keeps in this tab (the bot origin's sessionStorage)."""
        return self.chat_frame().evaluate(f"JSON.parse(sessionStorage.getItem('{STORAGE_KEY}'))")

    def session_id(self) -> str:
        return self.stored()["sessionId"]


def server_responses(site, session_id: str) -> list[str]:
    return site.bot.bot_responses(session_id)


def user_texts_on_server(site, session_id: str) -> list[str]:
    reply = site.bot.request(f"/conversations/{session_id}/tracker", token=admin_token())
    return [event["text"] for event in reply.body["events"] if event["event"] == "user"]


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".replace("ws://", "http://")


# ---------------------------------------------------------------- a whole conversation


def test_a_whole_conversation_with_a_risk_message_that_shows_112_first(chat_site, page, context):
    chat = Chat(page, chat_site)
    chat.open()
    # The privacy notice comes first, before the relative has written anything.
    assert chat.texts_from("bot")[0].startswith(first_line("utter_privacy_notice_web"))
    assert chat.texts_from("user") == []
    session_id = chat.session_id()
    assert is_web_session_id(session_id, TEST_PSEUDONYM_KEY)
    assert server_responses(chat_site, session_id)[0] == "utter_privacy_notice_web"
    expect(chat.locator(".vv-note")).to_have_text(TEXTS["shared_computer_note"])

    # Quick replies: the menu's buttons are buttons; choosing one sends its payload.
    chat.turn("hej")
    choice = chat.frame.get_by_role("group", name=TEXTS["choices_label"]).get_by_role(
        "button", name="Socialtjänsten"
    )
    watch_typing_indicator(chat.chat_frame())
    before = len(chat.texts_from("bot"))
    choice.click()
    expect(chat.locator(".vv-from-bot")).not_to_have_count(before, timeout=REPLY_MS)
    assert chat.texts_from("user")[-1] == "Socialtjänsten"
    # Answered: the menu's buttons are gone; the answer ends with its next steps (issue 16).
    expect(chat.button("Socialtjänsten")).to_have_count(0)
    expect(chat.locator(".vv-choices")).to_have_count(1)
    expect(chat.button("Kan de ta mitt barn?")).to_have_count(1)
    assert chat.chat_frame().evaluate("window.__typingShown") is True
    assert user_texts_on_server(chat_site, session_id)[-1] == "/ask_social_services"

    # A risk message: the first thing the relative reads is the emergency number.
    responses_before = len(server_responses(chat_site, session_id))
    answer = chat.turn(RISK_MESSAGE)
    assert answer[0].startswith("Ring 112"), answer
    assert server_responses(chat_site, session_id)[responses_before] == "utter_risk_acute"

    # Bot and person are labelled, every message has a time.
    who = chat.locator(".vv-from-bot .vv-who").first
    expect(who).to_have_text(TEXTS["bot"] + ": ")
    times = chat.locator(".vv-time").all_inner_texts()
    assert times and all(re.fullmatch(r"\d\d:\d\d", time) for time in times)

    # Only the demo page's own site and the chat server were asked for anything; no cookies.
    allowed = {chat_site.demo_url, chat_site.bot.url}
    assert {origin(url) for url in page.requested} <= allowed, page.requested
    assert context.cookies() == []
    assert page.errors == []


def watch_typing_indicator(frame: Frame) -> None:
    """Records whether the typing indicator was shown (it may be up for only a moment)."""
    frame.evaluate(
        """() => {
        const typing = document.querySelector('.vv-typing');
        window.__typingShown = false;
        new MutationObserver(() => { if (!typing.hidden) window.__typingShown = true; })
            .observe(typing, { attributes: true });
    }"""
    )


def test_the_widget_is_one_script_tag_that_leaves_no_global_behind(chat_site, page):
    page.goto(chat_site.demo_url)
    scripts = page.locator("script").evaluate_all("nodes => nodes.map(n => n.src)")
    assert scripts == [f"{chat_site.bot.url}/webhooks/socketio/widget.js"]
    chat = Chat(page, chat_site)
    expect(chat.launcher).to_be_visible()
    # The loader leaves nothing in the page's scope; the Socket.IO client is in the frame,
    # inside the chat's own scope there.
    assert page.evaluate("typeof window.io") == "undefined"
    assert page.evaluate("typeof window.CONFIG") == "undefined"
    assert chat.chat_frame().evaluate("typeof window.io + typeof window.CONFIG") == (
        "undefinedundefined"
    )
    # The frame has a title, and stays out of sight until the chat is opened.
    expect(page.locator(FRAME)).to_have_attribute("title", TEXTS["frame_title"])
    expect(page.locator(FRAME)).to_be_hidden()
    # Nothing connects before the relative opens the chat.
    assert not any("/socket.io/" in url for url in page.requested)


def test_a_site_that_is_not_allowed_cannot_use_the_chat(chat_site, page):
    page.goto(f"{chat_site.other_url}/?embed")
    chat = Chat(page, chat_site)
    page.wait_for_timeout(3000)
    # The browser refuses to show the chat's page in its frame (frame-ancestors), so the
    # chat never starts and the loader shows no button that could not work.
    assert chat.frame.locator("main.vv").count() == 0
    expect(chat.launcher).to_be_hidden()
    assert not any("/socket.io/" in url for url in page.requested)


# ---------------------------------------------------------------- leaving and deleting


def test_quick_exit_replaces_the_page_and_leaves_no_chat(chat_site, page):
    page.goto(f"{chat_site.other_url}/before")
    chat = Chat(page, chat_site).open()
    chat.turn("min bror har börjat prata om rasekrig")
    expect(chat.quick_exit).to_be_visible()

    chat.quick_exit.click()
    page.wait_for_url(chat_site.exit_url)
    # Back goes to the page before the municipality's, not to the chat.
    page.go_back()
    page.wait_for_url(f"{chat_site.other_url}/before")
    # Coming back to the page in the same tab: nothing of the conversation is there.
    page.goto(chat_site.demo_url)
    chat = Chat(page, chat_site)
    assert chat.stored() is None
    expect(chat.locator(".vv-panel")).to_be_hidden()
    assert chat.locator(".vv-msg").count() == 0


@pytest.mark.parametrize("focus", ["in-the-chat", "on-the-host-page"])
def test_escape_twice_is_a_quick_exit(chat_site, page, focus):
    page.goto(f"{chat_site.other_url}/before")
    chat = Chat(page, chat_site).open()
    if focus == "on-the-host-page":
        page.locator("main a").first.focus()
        assert page.evaluate("document.activeElement.tagName") == "A"
    else:
        expect(chat.input).to_be_focused()
    page.keyboard.press("Escape")
    page.wait_for_timeout(200)
    assert page.url.startswith(chat_site.demo_url)  # once is not enough
    page.keyboard.press("Escape")
    page.wait_for_url(chat_site.exit_url)
    page.go_back()
    page.wait_for_url(f"{chat_site.other_url}/before")
    page.goto(chat_site.demo_url)
    assert chat.stored() is None


def test_escape_twice_does_nothing_on_a_page_where_the_chat_is_not_in_use(chat_site, page):
    page.goto(chat_site.demo_url)
    expect(Chat(page, chat_site).launcher).to_be_visible()  # the chat has loaded
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)
    assert page.url.startswith(chat_site.demo_url)


def test_delete_removes_the_conversation_on_the_server_and_in_the_browser(chat_site, page):
    chat = Chat(page, chat_site).open()
    chat.turn("min dotter har fått nya vänner som pratar om kalifatet")
    session_id = chat.session_id()
    assert user_texts_on_server(chat_site, session_id)

    chat.button(TEXTS["delete"]).click()
    expect(chat.frame.get_by_text(TEXTS["delete_confirm_text"])).to_be_focused()
    chat.button(TEXTS["delete_confirm"]).click()

    new_conversation = chat.button(TEXTS["new_conversation"])
    expect(new_conversation).to_be_focused(timeout=REPLY_MS)
    shown = chat.locator(".vv-msg").all_inner_texts()
    assert any(first_line("utter_conversation_deleted_web") in text for text in shown)
    assert TEXTS["deleted"] in shown[-1]
    assert chat.stored() is None
    assert user_texts_on_server(chat_site, session_id) == []
    assert "utter_conversation_deleted_web" not in server_responses(chat_site, session_id)

    # A new conversation gets a new id and starts with the privacy notice again.
    new_conversation.click()
    chat.wait_for_answer(0)
    assert chat.session_id() != session_id
    assert chat.texts_from("bot")[0].startswith(first_line("utter_privacy_notice_web"))


def test_cancelling_delete_keeps_the_conversation(chat_site, page):
    chat = Chat(page, chat_site).open()
    chat.turn("hur pratar jag med min son om det här")
    chat.button(TEXTS["delete"]).click()
    chat.button(TEXTS["delete_cancel"]).click()
    expect(chat.button(TEXTS["delete"])).to_be_focused()
    assert user_texts_on_server(chat_site, chat.session_id())


# ---------------------------------------------------------------- tabs, reloads, reconnects


def test_a_reload_keeps_the_conversation_in_the_tab_and_a_new_tab_does_not(
    chat_site, page, context
):
    chat = Chat(page, chat_site).open()
    chat.turn("vad är en orosanmälan")
    session_id = chat.session_id()
    shown = chat.locator(".vv-msg .vv-text").all_inner_texts()

    page.reload()
    chat.wait_connected()
    assert chat.locator(".vv-msg .vv-text").all_inner_texts() == shown
    assert chat.session_id() == session_id
    chat.turn("tack")
    assert user_texts_on_server(chat_site, session_id)[-2:] == ["vad är en orosanmälan", "tack"]

    other_tab = context.new_page()
    other_tab.goto(chat_site.demo_url)
    other_chat = Chat(other_tab, chat_site)
    assert other_chat.stored() is None
    expect(other_chat.locator(".vv-panel")).to_be_hidden()
    assert other_chat.locator(".vv-msg").count() == 0


def test_the_chat_reconnects_after_the_rasa_server_restarts(chat_site, page):
    chat = Chat(page, chat_site).open()
    chat.turn("hej")
    session_id = chat.session_id()

    chat_site.bot.processes.stop_one("rasa")
    expect(chat.locator(".vv-status")).to_have_attribute("data-state", "reconnecting")
    expect(chat.status).to_contain_text(TEXTS["status_reconnecting"].split("(")[0].strip())
    expect(chat.button(TEXTS["send"])).to_be_disabled()

    chat_site.bot.processes.start_one("rasa")
    # The back-off tops out at 30 s between attempts.
    chat.wait_connected(timeout=90_000)
    assert chat.session_id() == session_id
    answer = chat.turn("vad gör socialtjänsten")
    assert answer
    assert user_texts_on_server(chat_site, session_id)[-2:] == ["hej", "vad gör socialtjänsten"]


@pytest.mark.parametrize(
    "stored",
    [
        json.dumps(
            {"sessionId": "0" * 48, "messages": [{"from": "user", "text": "gammalt"}], "open": True}
        ),
        "{not json",
    ],
    ids=["forged-id", "unreadable"],
)
def test_a_stored_conversation_the_server_does_not_know_starts_afresh(chat_site, page, stored):
    # What a tab holds after the server's PSEUDONYM_KEY changed, or a damaged entry.
    page.add_init_script(f"sessionStorage.setItem({json.dumps(STORAGE_KEY)}, {json.dumps(stored)})")
    page.goto(chat_site.demo_url)
    chat = Chat(page, chat_site)
    if stored.startswith("{not"):
        chat.launcher.click()
    chat.wait_connected()
    chat.wait_for_answer(0)
    assert "gammalt" not in chat.locator(".vv-log").inner_text()
    assert is_web_session_id(chat.session_id(), TEST_PSEUDONYM_KEY)
    assert chat.texts_from("bot")[0].startswith(first_line("utter_privacy_notice_web"))
    if not stored.startswith("{not"):
        expect(chat.locator(".vv-from-system").first).to_have_text(TEXTS["session_replaced"])


# ---------------------------------------------------------------- a person from the staff


def run(coroutine):
    """Runs a coroutine outside Playwright's own event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_a_message_from_staff_is_shown_as_a_person(chat_site, page):
    chat = Chat(page, chat_site).open()
    chat.turn(RISK_MESSAGE)
    chat.turn("hej")
    session_id = chat.session_id()
    expect(chat.locator(".vv-choices")).to_have_count(1)  # the menu

    # What the dashboard does when a handler joins and writes (bot/rasa_client.py).
    rasa = RasaConversations(chat_site.bot.url, TEST_JWT_SECRET)
    run(rasa.execute(session_id, "action_handoff_start"))
    joined = chat.frame.locator(
        ".vv-from-bot .vv-text", has_text=first_line("utter_handoff_joined")
    )
    expect(joined).to_have_count(1, timeout=REPLY_MS)
    run(rasa.send_staff_message(session_id, "Hej, jag heter Sara och arbetar här."))
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    staff = chat.locator(".vv-from-staff")
    expect(staff).to_have_count(1, timeout=REPLY_MS)
    expect(chat.locator(".vv-choices")).to_have_count(0)  # the bot's offers no longer apply
    expect(staff.locator(".vv-who")).to_have_text(TEXTS["staff"] + ": ")
    expect(staff.locator(".vv-text")).to_have_text("Hej, jag heter Sara och arbetar här.")
    assert "utter_handoff_joined" in server_responses(chat_site, session_id)
    # It looks different from the bot's messages, not only by its label.
    staff_background = staff.evaluate("node => getComputedStyle(node).backgroundColor")
    bot_background = chat.locator(".vv-from-bot").first.evaluate(
        "node => getComputedStyle(node).backgroundColor"
    )
    assert staff_background != bot_background

    # Markup from either side is shown as text; no script runs.
    chat.say("<script>alert('relative')</script>")
    run(rasa.send_staff_message(session_id, "<img src=x onerror=\"alert('staff')\">"))
    expect(staff).to_have_count(2, timeout=REPLY_MS)
    expect(staff.last.locator(".vv-text")).to_have_text("<img src=x onerror=\"alert('staff')\">")
    assert chat.texts_from("user")[-1] == "<script>alert('relative')</script>"
    page.wait_for_timeout(500)
    assert dialogs == [] and chat.locator(".vv-panel img, .vv-panel script").count() == 0
    run(rasa.execute(session_id, "action_handoff_end"))


# ---------------------------------------------------------------- accessibility


def test_keyboard_only(chat_site, page):
    page.goto(chat_site.demo_url)
    chat = Chat(page, chat_site)
    for _ in range(30):  # through the page's own links to the chat button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "vagvisaren-chat":
            break
    expect(chat.launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(chat.input).to_be_focused()  # opening moves focus to where one writes
    chat.wait_connected()
    chat.wait_for_answer(0)

    page.keyboard.type("hej")
    page.keyboard.press("Enter")
    expect(chat.locator(".vv-choice").first).to_be_visible(timeout=REPLY_MS)
    choices = chat.locator(".vv-choice").all_inner_texts()
    # Shift+Tab from the text box reaches the buttons of the latest message.
    frame = chat.chat_frame()
    for _ in range(len(choices) + 3):
        page.keyboard.press("Shift+Tab")
        if frame.evaluate(FOCUSED_CLASS) == "vv-choice":
            break
    focused_choice = frame.evaluate(FOCUSED_TEXT)
    before = len(chat.texts_from("bot"))
    page.keyboard.press("Enter")
    expect(chat.locator(".vv-from-bot")).not_to_have_count(before, timeout=REPLY_MS)
    assert chat.texts_from("user")[-1] == focused_choice
    expect(chat.input).to_be_focused()

    # Minimise and back, focus returns to the button that opened it.
    chat.button(TEXTS["close"]).focus()
    page.keyboard.press("Enter")
    expect(chat.launcher).to_be_focused()
    expect(page.locator(FRAME)).to_be_hidden()


FOCUSED_CLASS = "document.activeElement?.className"
FOCUSED_TEXT = "document.activeElement?.textContent"


def test_new_messages_are_announced(chat_site, page):
    chat = Chat(page, chat_site).open()
    log = chat.frame.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    chat.turn("hej")
    assert log.locator(".vv-msg").count() == chat.locator(".vv-msg").count()
    expect(chat.frame.get_by_role("status").first).to_have_text(TEXTS["status_connected"])


@pytest.mark.parametrize(
    "viewport, scale",
    [(DESKTOP, 1), (PHONE, 1), ({"width": 640, "height": 400}, 2)],  # the last: 200 % zoom
    ids=["desktop", "phone-320", "zoom-200"],
)
def test_the_chat_fits_and_works_at_every_size(chat_site, browser, viewport, scale):
    context = browser.new_context(
        locale="sv-SE", viewport=viewport, device_scale_factor=scale, has_touch=scale == 1
    )
    try:
        page = context.new_page()
        chat = Chat(page, chat_site).open()
        chat.turn("hej")
        width = viewport["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        # The chat's frame, and its panel, are within the window.
        for box in (page.locator(FRAME), chat.locator(".vv-panel")):
            panel = box.bounding_box()
            assert panel["x"] >= 0 and panel["x"] + panel["width"] <= width
            assert panel["y"] >= 0 and panel["y"] + panel["height"] <= viewport["height"]
        send = chat.button(TEXTS["send"])
        for control in (chat.quick_exit, chat.input, send):
            expect(control).to_be_in_viewport()
        # Nothing in the panel is wider than the panel.
        overflowing = chat.locator(".vv-panel").evaluate(
            "panel => [...panel.querySelectorAll('*')].filter("
            "n => n.getBoundingClientRect().right > panel.getBoundingClientRect().right + 1"
            ").map(n => n.className)"
        )
        assert overflowing == []
    finally:
        context.close()


AXE_RUN = """() => axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
})"""


def axe_violations(page: Page, in_frame: bool) -> list[tuple]:
    """The host page's and, through axe in the chat's frame too, the chat page's (axe talks
    to other origins' frames only when told to)."""
    for frame in page.frames:
        frame.add_script_tag(path=str(AXE))
        frame.evaluate("axe.configure({ allowedOrigins: ['<unsafe_all_origins>'] })")
    results = page.evaluate(AXE_RUN)
    assert any(rule["id"] == "color-contrast" for rule in results["passes"]), "axe checked nothing"
    # A node in a frame has one selector per frame on the way to it.
    checked_frame = any(
        len(node["target"]) > 1 for rule in results["passes"] for node in rule["nodes"]
    )
    assert checked_frame or not in_frame, "axe did not check the chat's frame"
    return [
        (violation["id"], violation["impact"], [node["target"] for node in violation["nodes"]])
        for violation in results["violations"]
    ]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone-320"])
def test_axe_finds_no_accessibility_problems(chat_site, browser, viewport):
    # The demo page's policy allows scripts only from the chat server; axe is injected.
    context = browser.new_context(locale="sv-SE", viewport=viewport, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(chat_site.demo_url)
        expect(Chat(page, chat_site).launcher).to_be_visible()
        closed = axe_violations(page, in_frame=False)  # the page with only the chat button

        page.reload()
        chat = Chat(page, chat_site).open()
        chat.turn("hej")  # bot and user messages, quick-reply buttons
        chat.button(TEXTS["delete"]).click()  # the confirmation too
        opened = axe_violations(page, in_frame=True)

        # The issue asks for no serious ones; there are none of any impact.
        assert closed == [] and opened == [], json.dumps(closed + opened, indent=1)
    finally:
        context.close()


# As when a proxy on the way refuses websockets: every websocket fails before it opens.
BLOCK_WEBSOCKETS = """
window.__websocketsTried = 0;
const RealWebSocket = window.WebSocket;
window.WebSocket = function (url, protocols) {
  window.__websocketsTried += 1;
  return new RealWebSocket("ws://127.0.0.1:9/", protocols);
};
window.WebSocket.prototype = RealWebSocket.prototype;
Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
"""


def test_the_chat_falls_back_to_long_polling_when_websockets_are_blocked(chat_site, page):
    page.add_init_script(BLOCK_WEBSOCKETS)
    chat = Chat(page, chat_site).open()
    tried = chat.chat_frame().evaluate("window.__websocketsTried")
    assert tried >= 1, "no websocket was tried first"
    answer = chat.turn("vad gör socialtjänsten")
    assert answer
    assert any("transport=polling" in url for url in page.requested)
    assert user_texts_on_server(chat_site, chat.session_id())[-1] == "vad gör socialtjänsten"


# ---------------------------------------------------------------- the host page's scripts

# What any third-party script on the municipality's page could do (an analytics tag, a
# compromised library), installed before the widget: it keeps every shadow root made (even
# closed ones), every window message, and what goes over the page's websockets and XHRs.
HOSTILE_HOST_SCRIPT = """
(() => {
  if (window.top !== window) return;  // the host page only, not the chat's own frame
  const seen = [];
  const shadowRoots = [];
  window.__hostile = { seen, shadowRoots };
  const attachShadow = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const root = attachShadow.call(this, init);
    shadowRoots.push(root);
    return root;
  };
  window.addEventListener("message", (event) => {
    let data;
    try { data = JSON.stringify(event.data); } catch (error) { data = String(event.data); }
    seen.push("message from " + event.origin + ": " + data);
  }, true);
  const RealWebSocket = window.WebSocket;
  class SpyingWebSocket extends RealWebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => seen.push("ws in: " + event.data));
    }
    send(data) { seen.push("ws out: " + data); return super.send(data); }
  }
  window.WebSocket = SpyingWebSocket;
  const xhrSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    seen.push("xhr out: " + body);
    this.addEventListener("load", () => seen.push("xhr in: " + this.responseText));
    return xhrSend.call(this, body);
  };
})();
"""

# Then it reads everything it can reach: the page, every shadow root, every frame, storage,
# cookies, the resources loaded.
HOSTILE_HOST_READS = """() => {
  const found = [...window.__hostile.seen, document.documentElement.outerHTML];
  const walk = (root) => {
    found.push(root.textContent || "");
    root.querySelectorAll("*").forEach((node) => {
      if (node.shadowRoot) walk(node.shadowRoot);
      for (const attribute of node.attributes) found.push(attribute.value);
      if (typeof node.value === "string") found.push(node.value);
      if (node.tagName === "IFRAME") {
        try { found.push(node.contentDocument.documentElement.outerHTML); } catch (e) {}
        try { found.push(JSON.stringify(node.contentWindow.sessionStorage)); } catch (e) {}
        found.push(node.src);
      }
    });
  };
  walk(document);
  window.__hostile.shadowRoots.forEach(walk);
  for (const store of [sessionStorage, localStorage]) {
    for (let i = 0; i < store.length; i++) {
      found.push(store.key(i) + "=" + store.getItem(store.key(i)));
    }
  }
  found.push(document.cookie);
  for (let i = 0; i < window.frames.length; i++) {
    try { found.push(window.frames[i].document.documentElement.outerHTML); } catch (e) {}
    try { found.push(JSON.stringify(window.frames[i].sessionStorage)); } catch (e) {}
    try { found.push(window.frames[i].location.href); } catch (e) {}
  }
  performance.getEntries().forEach((entry) => found.push(entry.name));
  return found.join("\\n");
}"""


def test_a_script_on_the_host_page_finds_no_conversation_text_and_no_id(chat_site, page):
    page.add_init_script(HOSTILE_HOST_SCRIPT)
    chat = Chat(page, chat_site).open()
    typed = "min bror har börjat prata om rasekrig"
    answer = chat.turn(typed)
    chat.input.fill("ett utkast som inte har skickats")
    session_id = chat.session_id()
    bot_lines = [line for text in chat.texts_from("bot") for line in text.splitlines() if line]
    assert answer and bot_lines

    found = page.evaluate(HOSTILE_HOST_READS)
    assert TEXTS["launcher"] in found  # it did read the page, the widget's button included
    assert session_id not in found
    assert typed not in found and "ett utkast" not in found
    leaked = [line for line in bot_lines if line in found]
    assert leaked == []
    # It heard the chat's frame talk to the loader: actions only.
    assert f"message from {chat_site.bot.url}" in found
