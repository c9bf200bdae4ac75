"""`make screenshots`: the web chat on the demo page at desktop and phone size, in a
conversation with a risk message and a message from a person on the staff, saved to docs/.

Starts its own servers on free loopback ports with throw-away stores, the way the tests do
(tests/support/servers.py).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from bot.channels.widget.assets import load_texts
from bot.launcher import ServerProcesses, free_port
from bot.rasa_client import RasaConversations
from bot.settings import PROJECT_ROOT
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_widget import FRAME, run
from tests.support.servers import TEST_JWT_SECRET, private_bot

TEXTS = load_texts()
# Desktop: the answer to a risk message, 112 first. Phone: a person from the staff writes.
SIZES = {
    "desktop": ({"viewport": {"width": 1280, "height": 800}}, False),
    "phone": ({"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2}, True),
}
CONVERSATION = ["min son är 17 och har köpt en biljett till syrien, han åker i morgon"]
STAFF_MESSAGE = (
    "Hej, jag heter Sara och arbetar med de här frågorna i kommunen. "
    "Jag läser det du har skrivit. Vill du berätta lite mer?"
)


def take(page, servers: ServerProcesses, demo_url: str, path: Path, with_staff: bool) -> None:
    page.goto(demo_url)
    page.get_by_role("button", name=TEXTS["launcher"]).click()
    chat = page.frame_locator(FRAME)  # the chat runs in a frame of the bot's origin
    expect(chat.locator(".vv-status-text")).to_have_text(TEXTS["status_connected"], timeout=60_000)
    expect(chat.locator(".vv-from-bot").first).to_be_visible(timeout=60_000)
    page.wait_for_timeout(2000)  # the whole privacy notice
    for message in CONVERSATION:
        count = chat.locator(".vv-from-bot").count()
        chat.get_by_role("textbox", name=TEXTS["input_label"]).fill(message)
        page.keyboard.press("Enter")
        expect(chat.locator(".vv-from-bot")).not_to_have_count(count, timeout=60_000)
        page.wait_for_timeout(2000)
    if not with_staff:
        chat.locator(".vv-from-user").last.evaluate(
            "node => { const box = node.closest('.vv-scroll');"
            " box.scrollTop += node.getBoundingClientRect().top"
            " - box.getBoundingClientRect().top - 8; }"
        )
        page.screenshot(path=str(path))
        return
    frame = page.locator(FRAME).element_handle().content_frame()
    session_id = frame.evaluate("JSON.parse(sessionStorage.getItem('vagvisaren-chat')).sessionId")
    rasa = RasaConversations(servers.rasa_url, TEST_JWT_SECRET)
    run(rasa.execute(session_id, "action_handoff_start"))
    run(rasa.send_staff_message(session_id, STAFF_MESSAGE))
    expect(chat.locator(".vv-from-staff")).to_have_count(1, timeout=60_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))


def main(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as base:
        demo_port = free_port()
        demo_url = f"http://127.0.0.1:{demo_port}"
        # The chat's page may be embedded by the demo page only; the Rasa server's port is
        # free_port()'s, so the widget's address is set once it is known.
        overrides = {"DEMO_PORT": str(demo_port), "WIDGET_ORIGINS": demo_url}
        rasa_port = free_port()
        overrides |= {
            "RASA_PORT": str(rasa_port),
            "BOT_PUBLIC_URL": f"http://127.0.0.1:{rasa_port}",
        }
        with private_bot(Path(base), overrides, with_demo=True) as bot, sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            for name, (options, with_staff) in SIZES.items():
                context = browser.new_context(
                    locale="sv-SE", timezone_id="Europe/Stockholm", **options
                )
                path = out_dir / f"widget-{name}.png"
                take(context.new_page(), bot.processes, demo_url, path, with_staff)
                context.close()
                print(f"wrote {path}")
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "docs"))
