"""The widget's files as the server builds them (bot/channels/widget/assets.py), the chat
page's policy (bot/channels/widget/routes.py), its interface texts (data/texts/widget.yml) and
the demo page's policy (bot/channels/widget/demo.py)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess

import pytest

from bot.channels.widget.assets import (
    LOADER_TEXTS,
    SOCKET_IO_CLIENT,
    STATIC,
    build_chat_page,
    build_chat_script,
    build_loader,
    chat_config,
    load_texts,
    loader_config,
)
from bot.channels.widget.demo import content_security_policy, render_page
from bot.channels.widget.routes import chat_origin, chat_page_policy
from bot.settings import Settings

LOADER_SOURCE = (STATIC / "widget.js").read_text(encoding="utf-8")
CHAT_SOURCE = (STATIC / "chat.js").read_text(encoding="utf-8")
CHAT_PAGE = (STATIC / "chat.html").read_text(encoding="utf-8")
VENDOR_README = (STATIC / "vendor/README.md").read_text(encoding="utf-8")


def built(**changes) -> dict[str, str]:
    """The loader and the chat's script, as the server builds them."""
    settings = Settings(**changes)
    return {
        "widget.js": build_loader(loader_config(settings)).body.decode(),
        "chat.js": build_chat_script(chat_config(settings, {})).body.decode(),
    }


def without_comments(source: str) -> str:
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)


def texts_used(source: str) -> set[str]:
    used = set(re.findall(r"texts\.(\w+)", source))
    for call in re.findall(r"setStatus\(([^;]*)\)", source):
        used |= {"status_" + name for name in re.findall(r'"(\w+)"', call)}
    return used


def test_the_vendored_socket_io_client_is_the_one_recorded():
    digest = hashlib.sha256(SOCKET_IO_CLIENT.read_bytes()).hexdigest()
    assert digest in VENDOR_README


def test_every_text_the_widget_uses_is_in_the_texts_file_and_none_is_unused():
    texts = load_texts()
    used = texts_used(LOADER_SOURCE) | texts_used(CHAT_SOURCE) | {"frame_title"}  # chat.html
    assert used - texts.keys() == set()
    assert texts.keys() - used == set()
    # The loader is given only its own few texts.
    assert texts_used(LOADER_SOURCE) <= set(LOADER_TEXTS)


def test_the_widget_itself_holds_no_swedish_text():
    # Interface text lives in data/texts/widget.yml; only comments may be Swedish here.
    for source in (LOADER_SOURCE, CHAT_SOURCE, CHAT_PAGE):
        assert not re.search(r"[åäöÅÄÖ]", without_comments(source))


def test_the_built_scripts_are_valid_javascript(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed for this check (it is also needed for axe-core)")
    for name, body in built().items():
        script = tmp_path / name
        script.write_text(body, encoding="utf-8")
        result = subprocess.run([node, "--check", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_configured_values_reach_the_scripts():
    scripts = built(
        widget_exit_url="https://www.example.org/vader",
        widget_origins=("https://www.kommun.se", "https://kommun.se"),
    )
    # The quick exit's navigation is the loader's; the allowed sites are the chat's.
    assert '"exitUrl": "https://www.example.org/vader"' in scripts["widget.js"]
    assert '"deletePayload": "/delete_conversation"' in scripts["chat.js"]
    assert '"hostOrigins": ["https://www.kommun.se", "https://kommun.se"]' in scripts["chat.js"]


def test_the_host_page_gets_no_part_of_the_chat():
    """The loader runs on the host page, with its other scripts: it has no socket, touches no
    storage, and knows none of the chat's texts (issue 17, finding 12)."""
    code = without_comments(LOADER_SOURCE)
    for chat_only in ("sessionStorage", "localStorage", "socket", "session_id", "sessionId"):
        assert chat_only not in code, chat_only
    assert "frame.contentWindow.postMessage" in code
    loader = built()["widget.js"]
    assert SOCKET_IO_CLIENT.read_text(encoding="utf-8")[:200] not in loader
    assert load_texts()["shared_computer_note"] not in loader


def test_a_text_cannot_close_a_script_element():
    texts = {**load_texts(), "launcher": "</script><script>alert(1)</script>"}
    settings = Settings()
    loader = build_loader({**loader_config(settings), "texts": texts})
    assert "</script>" not in loader.body.decode()
    chat = build_chat_script({**chat_config(settings, {}), "texts": texts})
    assert "</script>" not in chat.body.decode()
    page = build_chat_page({**texts, "frame_title": "</title><script>alert(1)</script>"})
    assert "<script>alert" not in page.body.decode()


def test_the_socket_io_client_does_not_become_a_global_of_the_chat_page():
    body = built()["chat.js"]
    # The client's UMD wrapper sees these first and hands itself over instead.
    assert body.index("var module = { exports: {} }") < body.index(
        SOCKET_IO_CLIENT.read_text(encoding="utf-8")[:200]
    )


def test_only_the_allowed_sites_may_frame_the_chat_page():
    policy = chat_page_policy(
        Settings(
            bot_public_url="https://chatt.kommun.se",
            widget_origins=("https://www.kommun.se", "https://kommun.se"),
        )
    )
    assert policy.endswith("frame-ancestors https://www.kommun.se https://kommun.se")
    assert "default-src 'none'" in policy and "script-src 'self';" in policy
    assert "connect-src 'self' wss://chatt.kommun.se;" in policy
    assert "unsafe-inline" not in policy
    # Empty WIDGET_ORIGINS: any site may embed the chat, as the README says.
    assert chat_page_policy(Settings()).endswith("frame-ancestors *")


@pytest.mark.parametrize(
    "public_url, origin",
    [
        ("https://chatt.kommun.se", "https://chatt.kommun.se"),
        ("https://chatt.kommun.se:443", "https://chatt.kommun.se"),
        ("https://chatt.kommun.se/bot", "https://chatt.kommun.se"),
        ("http://127.0.0.1:5005", "http://127.0.0.1:5005"),
        ("http://[::1]:5005", "http://[::1]:5005"),
    ],
)
def test_the_chat_origin_is_written_as_browsers_send_it(public_url, origin):
    assert chat_origin(Settings(bot_public_url=public_url)) == origin


def test_the_demo_page_allows_only_the_chat_server():
    policy = content_security_policy("https://chatt.kommun.example")
    assert "script-src https://chatt.kommun.example;" in policy
    assert "frame-src https://chatt.kommun.example;" in policy
    # The page itself connects nowhere: the socket is the chat frame's.
    assert "connect-src" not in policy
    assert "unsafe-inline" not in policy and "default-src 'none'" in policy


def test_the_demo_page_has_one_script_tag_pointing_at_the_chat_server():
    page = render_page('https://chatt.kommun.example"><script>').decode()
    assert page.count("<script") == 1
    escaped = "https://chatt.kommun.example&quot;&gt;&lt;script&gt;/webhooks/socketio/widget.js"
    assert f'src="{escaped}"' in page


def test_widget_origins_are_read_as_a_list():
    settings = Settings.from_environment_mapping(
        {"WIDGET_ORIGINS": " https://www.kommun.se/ , https://kommun.se ,"}
    )
    assert settings.widget_origins == ("https://www.kommun.se", "https://kommun.se")
    assert Settings.from_environment_mapping({}).widget_origins == ()
