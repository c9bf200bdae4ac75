"""Real servers on loopback ports of their own, with fresh SQLite databases; the databases
of tests/support/databases.py (SQLite and PostgreSQL), which only these tests use."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.launcher import free_port
from tests.support.databases import (  # noqa: F401 (fixtures for every integration test)
    empty_url,
    escalation_store_url,
    migrated_url,
)
from tests.support.messaging_apis import (
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    TWILIO_WEBHOOK_URL,
    start_messaging_apis,
)
from tests.support.servers import (
    TEST_WEBHOOK_SECRET,
    WIDGET_ORIGIN,
    Bot,
    private_bot,
)
from tests.support.settings import settings
from tests.support.staff_receivers import Inbox, smtp_inbox, webhook_receiver


@dataclass
class Staff:
    """What staff receive from the running servers: webhook calls and e-mails."""

    webhook_calls: list
    inbox: Inbox


@pytest.fixture(scope="session")
def staff():
    with webhook_receiver() as (server, handler), smtp_inbox() as (smtp, inbox):
        yield Staff(handler.calls, inbox), server.server_port, smtp.port


@pytest.fixture(scope="session")
def messaging_apis():
    """The Telegram Bot API and Twilio stand-ins the bot's messaging channels talk to."""
    apis, servers = start_messaging_apis()
    yield apis
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="session")
def bot(tmp_path_factory, staff, messaging_apis) -> Bot:
    assert settings.model_path.exists(), "run `make test`, which trains the model first"
    _, webhook_port, smtp_port = staff
    rasa_port = free_port()
    overrides = {
        "RASA_PORT": str(rasa_port),
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
        # Every test's escalations share this bot: no digest (tested on its own in
        # test_notifications.py), so each test sees its own notifications.
        "NOTIFY_DIGEST_AFTER": "100000",
    }
    with private_bot(tmp_path_factory.mktemp("servers"), overrides) as running:
        yield running


@pytest.fixture(scope="module")
def dashboard(bot, tmp_path_factory):
    """The staff dashboard on the test bot's stores, one per test module."""
    from tests.support.staff_server import staff_server_for

    with staff_server_for(bot, tmp_path_factory.mktemp("dashboard")) as server:
        yield server
