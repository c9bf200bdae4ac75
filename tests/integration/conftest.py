"""Real servers on loopback ports of their own, with a fresh SQLite database."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiosmtpd.controller import Controller

from bot.conversation import responses_of
from bot.launcher import NO_TRAFFIC_LIMITS, ServerProcesses, free_port
from tests.integration.messaging_apis import (
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    start_messaging_apis,
)
from tests.support.settings import settings

TEST_JWT_SECRET = "integration-test-secret-that-is-long-enough-for-hs256"
TEST_PSEUDONYM_KEY = "integration-test-pseudonym-key"
TEST_TOTP_KEY = "integration-test-totp-key"
TEST_WEBHOOK_SECRET = "integration-test-webhook-secret"
# The one site allowed to embed the web chat in the integration tests.
WIDGET_ORIGIN = "https://www.kommun.example"


def admin_token(secret: str = TEST_JWT_SECRET) -> str:
    """Short-lived, as every token must be: Rasa refuses tokens without exp (issue 17)."""
    payload = {"user": {"username": "tester", "role": "admin"}, "exp": int(time.time()) + 600}
    return jwt.encode(payload, secret, algorithm="HS256")


@dataclass
class Reply:
    status: int
    body: Any


@dataclass
class Bot:
    url: str
    database: Path
    log_dir: Path
    processes: ServerProcesses
    escalation_database: Path

    def request(
        self,
        path: str,
        payload: Any = None,
        token: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = (
            raw if raw is not None else (None if payload is None else json.dumps(payload).encode())
        )
        headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Reply(response.status, json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                return Reply(error.code, json.loads(body or b"null"))
            except json.JSONDecodeError:
                return Reply(error.code, body.decode(errors="replace"))

    def say(self, sender: str, message: str) -> list[dict[str, Any]]:
        reply = self.request("/webhooks/rest/webhook", {"sender": sender, "message": message})
        assert reply.status == 200, reply
        return reply.body

    def bot_responses(self, sender: str) -> list[str]:
        """Names of the responses the bot sent, in order, from Rasa's tracker."""
        reply = self.request(f"/conversations/{sender}/tracker", token=admin_token())
        assert reply.status == 200, reply
        # A message that carries several responses lists them all (issue 16).
        return [
            name
            for event in reply.body["events"]
            if event["event"] == "bot"
            for name in responses_of(event["metadata"])
        ]

    def turn(self, sender: str, message: str) -> list[str]:
        """Sends one message; the names of the responses of this turn, in order."""
        before = len(self.bot_responses(sender))
        self.say(sender, message)
        return self.bot_responses(sender)[before:]

    def slots(self, sender: str) -> dict[str, Any]:
        reply = self.request(f"/conversations/{sender}/tracker", token=admin_token())
        return reply.body["slots"]

    def escalations(self) -> list[dict[str, Any]]:
        """Rows of the escalation store, waiting briefly for background writes."""
        import sqlite3
        import time

        deadline = time.monotonic() + 10
        while True:
            if self.escalation_database.exists():
                with sqlite3.connect(self.escalation_database) as connection:
                    connection.row_factory = sqlite3.Row
                    try:
                        rows = [
                            dict(row)
                            for row in connection.execute("select * from escalations order by id")
                        ]
                    except sqlite3.OperationalError:
                        rows = []
                if rows or time.monotonic() > deadline:
                    return rows
            if time.monotonic() > deadline:
                return []
            time.sleep(0.2)

    def logs(self) -> str:
        return "".join(path.read_text(errors="replace") for path in self.log_dir.glob("*.log"))


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


@dataclass
class Staff:
    """What staff receive from the running servers: webhook calls and e-mails."""

    webhook_calls: list
    inbox: Inbox


@pytest.fixture(scope="session")
def staff():
    handler = type("Handler", (WebhookReceiver,), {"calls": []})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    yield Staff(handler.calls, inbox), server.server_port, smtp.port
    smtp.stop()
    server.shutdown()


@pytest.fixture(scope="session")
def messaging_apis():
    """The Telegram Bot API and Twilio stand-ins the bot's messaging channels talk to."""
    apis, servers = start_messaging_apis()
    yield apis
    for server in servers:
        server.shutdown()


# The public webhook address Twilio signs (what a municipality sets in Twilio's console).
TWILIO_WEBHOOK_URL = "https://chatt.kommun.example/webhooks/twilio/webhook"


@pytest.fixture(scope="session")
def bot(tmp_path_factory, staff, messaging_apis) -> Bot:
    assert settings.model_path.exists(), "run `make test`, which trains the model first"
    _, webhook_port, smtp_port = staff
    base = tmp_path_factory.mktemp("servers")
    rasa_port, action_port = free_port(), free_port()
    database = base / "tracker.db"
    processes = ServerProcesses(
        {
            "RASA_PORT": str(rasa_port),
            "ACTION_SERVER_PORT": str(action_port),
            "RASA_JWT_SECRET": TEST_JWT_SECRET,
            "TRACKER_DATABASE_URL": f"sqlite:///{database}",
            "ESCALATION_DATABASE_URL": f"sqlite:///{base / 'escalations.db'}",
            "ESCALATION_RETRY_FILE": str(base / "escalation-retry.jsonl"),
            "PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
            "NOTIFY_WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/vagvisaren",
            "NOTIFY_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp_port),
            "NOTIFY_EMAIL_FROM": "vagvisaren@kommun.example",
            "NOTIFY_EMAIL_TO": "jour@kommun.example",
            "DASHBOARD_URL": "https://granskning.kommun.example",
            "WIDGET_ORIGINS": WIDGET_ORIGIN,
            # The chat's frame is served from here, and only its origin may open the socket.
            "BOT_PUBLIC_URL": f"http://127.0.0.1:{rasa_port}",
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
            "TELEGRAM_API_URL": messaging_apis.telegram_url,
            "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
            "TWILIO_API_URL": messaging_apis.twilio_url,
            "TWILIO_WEBHOOK_URL": TWILIO_WEBHOOK_URL,
            "LOG_LEVEL": "INFO",
            **NO_TRAFFIC_LIMITS,
            # Every test's escalations share this bot: no digest (tested on its own in
            # test_notifications.py), so each test sees its own notifications.
            "NOTIFY_DIGEST_AFTER": "100000",
        },
        log_dir=base / "logs",
    )
    processes.start()
    yield Bot(
        f"http://127.0.0.1:{rasa_port}", database, base / "logs", processes, base / "escalations.db"
    )
    processes.stop()


@pytest.fixture(scope="module")
def dashboard(bot, tmp_path_factory):
    """The staff dashboard on the test bot's stores, one per test module."""
    # staff_server imports this module's constants: imported here, not at the top.
    from tests.integration.staff_server import staff_server_for

    with staff_server_for(bot, tmp_path_factory.mktemp("dashboard")) as server:
        yield server
