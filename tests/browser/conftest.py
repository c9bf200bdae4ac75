"""A real headless Chromium (Debian's, at /usr/bin/chromium) driven by Playwright, which
never downloads a browser of its own; and the real bot servers for the pages to talk to."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.integration.conftest import bot, staff  # noqa: F401 (the running servers)

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
