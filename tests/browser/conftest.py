"""A real headless Chromium (Debian's, at /usr/bin/chromium) driven by Playwright, which
never downloads a browser of its own; and the real bot servers for the pages to talk to."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from bot.launcher import free_port
from tests.integration.conftest import (  # noqa: F401 (bot, staff: the running servers)
    bot,
    messaging_apis,
    staff,
)
from tests.support.servers import Bot, private_bot
from tests.support.settings import settings

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium tries to reach Google's servers at start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Per module: Playwright's sync API keeps an event loop running while it is open, and the
# asynchronous tests that follow need their own.
@pytest.fixture(scope="module")
def browser() -> Browser:
    assert CHROMIUM.exists(), "install Chromium: apt-get install chromium (make test does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


# A desktop browser in Swedish, and a page in it that records its requests and errors.
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def context(browser) -> BrowserContext:
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm", viewport=DESKTOP)
    yield context
    context.close()


@pytest.fixture
def page(context) -> Page:
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


# ---------------------------------------------------------------- the web chat widget


class NeutralSite(BaseHTTPRequestHandler):
    """Another site: the page a relative came from, and the neutral page quick exit opens
    (standing in for WIDGET_EXIT_URL, so no test reaches the internet)."""

    PAGES = {
        "/before": "<title>Nyheter</title><h1>Dagens nyheter</h1>",
        "/weather": "<title>Väder</title><h1>Väder i dag</h1>",
        "/": "<title>Annan sida</title><h1>En annan sida</h1>",
    }

    def do_GET(self):  # noqa: N802
        path = self.path.split("?")[0]
        body = self.PAGES.get(path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        if path == "/" and "embed" in self.path:  # a site that is not allowed to embed it
            body += f'<script src="{self.server.script_url}"></script>'
        data = f'<!doctype html><html lang="sv">{body}</html>'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@dataclass
class ChatSite:
    """The bot with the demo municipality page (as `make run` starts them) and another site."""

    bot: Bot
    demo_url: str
    other_url: str

    @property
    def exit_url(self) -> str:
        return f"{self.other_url}/weather"


@pytest.fixture(scope="session")
def chat_site(tmp_path_factory) -> ChatSite:
    assert settings.model_path.exists(), "run `make test`, which trains the model first"
    base = tmp_path_factory.mktemp("widget")
    rasa_port, demo_port = free_port(), free_port()
    other = ThreadingHTTPServer(("127.0.0.1", free_port()), NeutralSite)
    other_url = f"http://127.0.0.1:{other.server_port}"
    other.script_url = f"http://127.0.0.1:{rasa_port}/webhooks/socketio/widget.js"
    threading.Thread(target=other.serve_forever, daemon=True).start()
    demo_url = f"http://127.0.0.1:{demo_port}"
    overrides = {
        "RASA_PORT": str(rasa_port),
        "DEMO_PORT": str(demo_port),
        "BOT_PUBLIC_URL": f"http://127.0.0.1:{rasa_port}",
        "WIDGET_ORIGINS": demo_url,
        "WIDGET_EXIT_URL": f"{other_url}/weather",
        "SOCKET_REDIS_URL": "",
    }
    with private_bot(base, overrides, with_demo=True) as site_bot:
        yield ChatSite(site_bot, demo_url, other_url)
    other.shutdown()
