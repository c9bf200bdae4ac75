"""The widget's files as the server builds them (bot/widget/assets.py), its interface texts
(data/widget.yml) and the demo page's policy (bot/widget/demo.py)."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess

import pytest

from bot.settings import Settings
from bot.widget.assets import (
    SOCKET_IO_CLIENT,
    STATIC,
    build_script,
    load_texts,
    widget_config,
)
from bot.widget.demo import content_security_policy, render_page

WIDGET_SOURCE = (STATIC / "widget.js").read_text(encoding="utf-8")
VENDOR_README = (STATIC / "vendor/README.md").read_text(encoding="utf-8")


def config(**changes) -> dict:
    return widget_config(Settings(**changes), {})


def test_the_vendored_socket_io_client_is_the_one_recorded():
    digest = hashlib.sha256(SOCKET_IO_CLIENT.read_bytes()).hexdigest()
    assert digest in VENDOR_README


def test_every_text_the_widget_uses_is_in_the_texts_file_and_none_is_unused():
    texts = load_texts()
    used = set(re.findall(r"texts\.(\w+)", WIDGET_SOURCE))
    for call in re.findall(r"setStatus\(([^;]*)\)", WIDGET_SOURCE):
        used |= {"status_" + name for name in re.findall(r'"(\w+)"', call)}
    assert used - texts.keys() == set()
    assert texts.keys() - used == set()


def test_the_widget_itself_holds_no_swedish_text():
    # Interface text lives in data/widget.yml; only comments may be Swedish here.
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", WIDGET_SOURCE, flags=re.S)
    assert not re.search(r"[åäöÅÄÖ]", code)


def test_the_built_script_is_valid_javascript(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed for this check (it is also needed for axe-core)")
    script = tmp_path / "widget.js"
    script.write_bytes(build_script(config()).body)
    result = subprocess.run([node, "--check", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_configured_values_reach_the_script():
    body = build_script(config(widget_exit_url="https://www.example.org/vader")).body.decode()
    assert '"exitUrl": "https://www.example.org/vader"' in body
    assert '"deletePayload": "/delete_conversation"' in body


def test_a_text_cannot_close_a_script_element():
    texts = {**load_texts(), "launcher": "</script><script>alert(1)</script>"}
    body = build_script({**config(), "texts": texts}).body.decode()
    assert "</script>" not in body


def test_the_socket_io_client_does_not_become_a_global_of_the_page():
    body = build_script(config()).body.decode()
    # The client's UMD wrapper sees these first and hands itself over instead.
    assert body.index("var module = { exports: {} }") < body.index(
        SOCKET_IO_CLIENT.read_text(encoding="utf-8")[:200]
    )


def test_the_demo_page_allows_only_the_chat_server():
    policy = content_security_policy("https://chatt.kommun.example")
    assert "script-src https://chatt.kommun.example;" in policy
    assert "connect-src https://chatt.kommun.example wss://chatt.kommun.example;" in policy
    assert "unsafe-inline" not in policy and "default-src 'none'" in policy
    assert "ws://127.0.0.1:5005" in content_security_policy("http://127.0.0.1:5005")


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
