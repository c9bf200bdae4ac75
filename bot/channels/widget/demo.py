"""A demo municipality page with the chat widget on it, as a municipality would embed it:
one script tag pointing at the Rasa server, on a site of its own origin, under a strict
Content Security Policy that allows nothing but that server.

    python -m bot.channels.widget.demo        # `make run` starts it with the bot
"""

from __future__ import annotations

import html
import logging
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from bot.channels.widget.assets import SCRIPT_PATH
from bot.settings import Settings

DEMO_DIR = Path(__file__).parent / "demo"

logger = logging.getLogger(__name__)


def content_security_policy(bot_url: str) -> str:
    """What a careful municipality page allows: its own files, and the chat server for
    the script, the stylesheet and the chat's frame. The page itself connects nowhere:
    the chat's socket belongs to the frame."""
    parts = urlsplit(bot_url)
    bot_origin = f"{parts.scheme}://{parts.netloc}"
    return (
        "default-src 'none'; "
        f"script-src {bot_origin}; "
        f"style-src 'self' {bot_origin}; "
        f"frame-src {bot_origin}; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def render_page(bot_url: str) -> bytes:
    page = (DEMO_DIR / "index.html").read_text(encoding="utf-8")
    return page.replace("{script_url}", html.escape(bot_url + SCRIPT_PATH)).encode("utf-8")


class DemoHandler(BaseHTTPRequestHandler):
    server_version = "demo"
    sys_version = ""

    def __init__(self, *args, config: Settings, **kwargs) -> None:
        self.config = config
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self._send(render_page(self.config.bot_public_url), "text/html; charset=utf-8")
        elif path == "/favicon.ico":
            self._send(b"", "image/x-icon", status=204)
        elif path == "/demo.css":
            self._send((DEMO_DIR / "demo.css").read_bytes(), "text/css; charset=utf-8")
        else:
            self._send(b"Not found", "text/plain; charset=utf-8", status=404)

    def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header(
            "Content-Security-Policy", content_security_policy(self.config.bot_public_url)
        )
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass  # access logs would hold visitors' IP addresses


def serve(config: Settings) -> None:
    handler = partial(DemoHandler, config=config)
    server = ThreadingHTTPServer((config.demo_host, config.demo_port), handler)
    logger.info("Demo page on http://%s:%d/", config.demo_host, config.demo_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    settings = Settings.from_environment()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    serve(settings)
