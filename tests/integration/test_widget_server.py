"""The Rasa server serves the web widget (GET /webhooks/socketio/widget.js, widget.css,
chat.html, chat.js), lets only the configured sites frame the chat's page, and lets
browsers open the chat's socket only from that page (the bot's own origin)."""

from __future__ import annotations

import urllib.error
import urllib.request

from bot.channels.widget.assets import SOCKET_IO_CLIENT
from tests.support.servers import WIDGET_ORIGIN


def get(url: str, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_the_widget_script_is_served_whole_with_safe_headers(bot):
    status, headers, body = get(f"{bot.url}/webhooks/socketio/widget.js")
    assert status == 200
    assert headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert headers.get("Set-Cookie") is None
    text = body.decode("utf-8")
    assert "Chatta anonymt" in text  # the button's text from data/texts/widget.yml
    # The chat itself is not in the loader; it runs in the frame.
    assert SOCKET_IO_CLIENT.read_text(encoding="utf-8") not in text
    assert "/webhooks/socketio/chat.html" in text


def test_the_chat_page_may_be_framed_only_by_the_configured_site(bot):
    status, headers, body = get(f"{bot.url}/webhooks/socketio/chat.html")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers.get("Set-Cookie") is None
    policy = [part.strip() for part in headers["Content-Security-Policy"].split(";")]
    assert f"frame-ancestors {WIDGET_ORIGIN}" in policy
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert b'<script src="chat.js" defer></script>' in body


def test_the_chat_script_is_served_whole_for_the_chat_page_only(bot):
    status, headers, body = get(f"{bot.url}/webhooks/socketio/chat.js")
    assert status == 200
    assert headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    text = body.decode("utf-8")
    # The Socket.IO client is inside, so the chat needs no other server or CDN.
    assert SOCKET_IO_CLIENT.read_text(encoding="utf-8") in text
    assert "Avsluta och radera" in text  # the interface texts from data/texts/widget.yml


def test_an_unchanged_widget_is_not_sent_again(bot):
    _, headers, _ = get(f"{bot.url}/webhooks/socketio/widget.js")
    status, _, body = get(
        f"{bot.url}/webhooks/socketio/widget.js", {"If-None-Match": headers["ETag"]}
    )
    assert status == 304 and body == b""


def test_the_stylesheet_is_served(bot):
    status, headers, body = get(f"{bot.url}/webhooks/socketio/widget.css")
    assert status == 200
    assert headers["Content-Type"] == "text/css; charset=utf-8"
    assert b".vv-exit" in body


def handshake(bot, origin: str | None):
    headers = {"Origin": origin} if origin else {}
    return get(f"{bot.url}/socket.io/?EIO=4&transport=polling", headers)


def test_the_chat_page_may_connect(bot):
    # The chat's frame is on the bot's own origin (BOT_PUBLIC_URL; here the test server's).
    status, headers, body = handshake(bot, bot.url)
    assert status == 200 and body.startswith(b"0{")
    assert headers["Access-Control-Allow-Origin"] == bot.url
    assert headers.get("Set-Cookie") is None  # no cookies, not even Engine.IO's


def test_scripts_on_the_host_page_and_other_sites_are_refused(bot):
    # Not even the site that embeds the chat: its page's scripts have no business with
    # the chat's socket (issue 17, finding 12).
    for origin in (
        WIDGET_ORIGIN,
        "https://evil.example",
        "https://www.kommun.example.evil.example",
        "null",
    ):
        status, headers, _ = handshake(bot, origin)
        assert status == 400, origin
        assert headers.get("Access-Control-Allow-Origin") is None


def test_clients_without_an_origin_still_connect(bot):
    # Not a browser on another site (servers, apps, the test clients): no Origin header.
    status, _, body = handshake(bot, None)
    assert status == 200 and body.startswith(b"0{")


def test_the_widgets_opening_message_gets_the_privacy_notice_once(bot):
    # The widget sends "/session_start" when a new conversation opens
    # (bot/channels/widget/assets.py).
    bot.say("widget-opening", "/session_start")
    assert bot.bot_responses("widget-opening") == ["utter_privacy_notice_web"]
    # ...and the conversation then goes on as if the relative had started it.
    assert bot.turn("widget-opening", "hej")[:2] == ["utter_greet", "utter_main_menu"]
