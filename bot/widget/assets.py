"""The widget's two files, as the Rasa server serves them.

`widget.js` is one self-contained script: the Socket.IO client (vendored from npm, see
static/vendor/README.md) wrapped so it never becomes a global of the host page, the
widget's configuration (interface texts from data/widget.yml, the quick-exit address) and
static/widget.js. `widget.css` is loaded by the widget into its shadow root.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT, Settings

STATIC = Path(__file__).parent / "static"
SOCKET_IO_CLIENT = STATIC / "vendor/socket.io-4.8.4.min.js"
TEXTS_FILE = PROJECT_ROOT / "data/widget.yml"

# Where the channel's blueprint serves the files (Rasa mounts it at /webhooks/socketio).
URL_PREFIX = "/webhooks/socketio"
SCRIPT_PATH = f"{URL_PREFIX}/widget.js"
STYLESHEET_PATH = f"{URL_PREFIX}/widget.css"

# The payloads the widget sends on its own: the start of a conversation (Rasa runs
# action_session_start, which sends the privacy notice) and the delete button.
START_PAYLOAD = "/session_start"
DELETE_PAYLOAD = "/delete_conversation"
MAX_MESSAGE_CHARS = 2000


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


def load_texts(path: Path = TEXTS_FILE) -> dict[str, str]:
    texts = yaml.safe_load(path.read_text(encoding="utf-8"))["widget"]
    if not all(isinstance(value, str) for value in texts.values()):
        raise ValueError(f"{path}: every widget text must be a string")
    return texts


def widget_config(settings: Settings, channel: dict[str, str]) -> dict:
    return {
        "texts": load_texts(),
        "exitUrl": settings.widget_exit_url,
        "cssPath": STYLESHEET_PATH,
        "socketPath": channel.get("socketio_path", "/socket.io"),
        "userMessageEvent": channel.get("user_message_evt", "user_uttered"),
        "botMessageEvent": channel.get("bot_message_evt", "bot_uttered"),
        "startPayload": START_PAYLOAD,
        "deletePayload": DELETE_PAYLOAD,
        "maxMessageChars": MAX_MESSAGE_CHARS,
    }


def build_script(config: dict) -> Asset:
    # `module` and `exports` make the client's UMD wrapper hand itself over instead of
    # setting window.io (or calling a host page's AMD `define`).
    config_json = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    source = "\n".join(
        [
            "/*! Vägvisaren chat widget. Includes the Socket.IO client 4.8.4 (MIT License). */",
            "(function () {",
            "var module = { exports: {} }; var exports = module.exports;",
            SOCKET_IO_CLIENT.read_text(encoding="utf-8"),
            "var io = module.exports;",
            f"var CONFIG = {config_json};",
            "(function () {",
            (STATIC / "widget.js").read_text(encoding="utf-8"),
            "})();",
            "})();",
            "",
        ]
    )
    return Asset(source.encode("utf-8"), "application/javascript; charset=utf-8")


def build_stylesheet() -> Asset:
    return Asset((STATIC / "widget.css").read_bytes(), "text/css; charset=utf-8")


@cache
def assets(settings: Settings, channel_items: tuple[tuple[str, str], ...]) -> dict[str, Asset]:
    """Built once per process: the files do not change while the server runs."""
    config = widget_config(settings, dict(channel_items))
    return {"widget.js": build_script(config), "widget.css": build_stylesheet()}
