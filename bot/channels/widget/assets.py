"""The widget's files, as the Rasa server serves them.

The chat runs in a frame of the bot's own origin, so no script of the host page (the
municipality's site, with whatever third-party scripts it carries) can read the
conversation or its id: the browser keeps another origin's document and storage out of
its reach.

- `widget.js`, the loader, is the one script tag on the host page. It makes the chat
  button and the frame, and on the frame's word closes it or takes the page away (quick
  exit). Its configuration: the button's texts, the quick-exit address, the paths.
- `chat.html` is the frame's page; `chat.js` runs there: the Socket.IO client (vendored
  from npm, see static/vendor/README.md, wrapped so it never becomes a global), the chat's
  configuration (interface texts from data/texts/widget.yml, the sites allowed to embed it) and
  static/chat.js. The conversation and its id live only there.
- `widget.css` styles both: the button and the frame on the host page (inside the loader's
  shadow root), the chat in the frame.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bot.conversation import DELETE_PAYLOAD, START_PAYLOAD
from bot.settings import PROJECT_ROOT, Settings

STATIC = Path(__file__).parent / "static"
SOCKET_IO_CLIENT = STATIC / "vendor/socket.io-4.8.4.min.js"
TEXTS_FILE = PROJECT_ROOT / "data/texts/widget.yml"

# Where the channel's blueprint serves the files (Rasa mounts it at /webhooks/socketio).
URL_PREFIX = "/webhooks/socketio"
SCRIPT_PATH = f"{URL_PREFIX}/widget.js"
STYLESHEET_PATH = f"{URL_PREFIX}/widget.css"
CHAT_PAGE_PATH = f"{URL_PREFIX}/chat.html"

# The loader's texts: the button, the landmark around it and the frame's title. The
# rest stays in the frame.
LOADER_TEXTS = ("launcher", "title", "frame_title")

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


def loader_config(settings: Settings) -> dict:
    texts = load_texts()
    return {
        "texts": {name: texts[name] for name in LOADER_TEXTS},
        "exitUrl": settings.widget_exit_url,
        "cssPath": STYLESHEET_PATH,
        "chatPath": CHAT_PAGE_PATH,
    }


def chat_config(settings: Settings, channel: dict[str, str]) -> dict:
    return {
        "texts": load_texts(),
        # The frame talks only to a page of these origins (empty: any), as the
        # frame-ancestors policy of chat.html lets only them show it.
        "hostOrigins": list(settings.widget_origins),
        "socketPath": channel.get("socketio_path", "/socket.io"),
        "userMessageEvent": channel.get("user_message_evt", "user_uttered"),
        "botMessageEvent": channel.get("bot_message_evt", "bot_uttered"),
        "startPayload": START_PAYLOAD,
        "deletePayload": DELETE_PAYLOAD,
        "maxMessageChars": MAX_MESSAGE_CHARS,
    }


def _config_json(config: dict) -> str:
    # Nothing in a text can end the script element it may be inlined in.
    return json.dumps(config, ensure_ascii=False).replace("</", "<\\/")


def _script(banner: str, config: dict, file: str, prelude: tuple[str, ...] = ()) -> Asset:
    """A static script wrapped with its CONFIG and the DOM helpers it shares (dom.js), in a
    scope of its own."""
    source = "\n".join(
        [
            banner,
            "(function () {",
            *prelude,
            (STATIC / "dom.js").read_text(encoding="utf-8"),
            f"var CONFIG = {_config_json(config)};",
            "(function () {",
            (STATIC / file).read_text(encoding="utf-8"),
            "})();",
            "})();",
            "",
        ]
    )
    return Asset(source.encode("utf-8"), "application/javascript; charset=utf-8")


def build_loader(config: dict) -> Asset:
    banner = "/*! Vägvisaren chat widget: the button and the frame the chat runs in. */"
    return _script(banner, config, "widget.js")


def build_chat_script(config: dict) -> Asset:
    # `module` and `exports` make the client's UMD wrapper hand itself over instead of
    # setting window.io (or calling an AMD `define`).
    prelude = (
        "var module = { exports: {} }; var exports = module.exports;",
        SOCKET_IO_CLIENT.read_text(encoding="utf-8"),
        "var io = module.exports;",
    )
    banner = "/*! Vägvisaren chat. Includes the Socket.IO client 4.8.4 (MIT License). */"
    return _script(banner, config, "chat.js", prelude)


def build_chat_page(texts: dict[str, str]) -> Asset:
    page = (STATIC / "chat.html").read_text(encoding="utf-8")
    page = page.replace("{title}", html.escape(texts["frame_title"]))
    return Asset(page.encode("utf-8"), "text/html; charset=utf-8")


def build_stylesheet() -> Asset:
    return Asset((STATIC / "widget.css").read_bytes(), "text/css; charset=utf-8")


@cache
def assets(settings: Settings, channel_items: tuple[tuple[str, str], ...]) -> dict[str, Asset]:
    """Built once per process: the files do not change while the server runs."""
    return {
        "widget.js": build_loader(loader_config(settings)),
        "widget.css": build_stylesheet(),
        "chat.html": build_chat_page(load_texts()),
        "chat.js": build_chat_script(chat_config(settings, dict(channel_items))),
    }
