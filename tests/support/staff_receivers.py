"""What staff receive from the bot, standing in for a municipality's chat tool and mail
server: a webhook receiver that records signed notifications, and an SMTP inbox (aiosmtpd)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from bot.launcher import free_port


class WebhookReceiver(BaseHTTPRequestHandler):
    """Records signed staff notifications, as a municipality's chat tool would receive them."""

    calls: list

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.calls.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


@contextmanager
def webhook_receiver(
    receiver: type[WebhookReceiver] = WebhookReceiver, **attributes
) -> Iterator[tuple[ThreadingHTTPServer, type[WebhookReceiver]]]:
    """A receiver (a subclass of `receiver` of its own, with `attributes` and an empty
    `calls`) on a free loopback port: (the server, the handler class holding the calls)."""
    handler = type("Handler", (receiver,), {"calls": [], **attributes})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server, handler
    finally:
        server.shutdown()


@contextmanager
def smtp_inbox() -> Iterator[tuple[Controller, Inbox]]:
    """An SMTP server on a free loopback port, and what it received."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()
