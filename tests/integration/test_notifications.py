"""Staff notifications against a real SMTP server (aiosmtpd) and a local webhook receiver:
what is sent, that it is signed, and that it holds no message text or identifiers."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from bot.escalations.escalator import Escalator
from bot.escalations.service import Signal
from bot.launcher import free_port
from bot.notify import SIGNATURE_HEADER, Notification, Notifier, verify
from bot.risk.levels import RiskLevel
from bot.settings import Settings
from tests.support.staff_receivers import WebhookReceiver, smtp_inbox, webhook_receiver

SECRET = "webhook-test-secret"
AT = datetime(2026, 11, 21, 12, 30, tzinfo=timezone.utc)


@pytest.fixture
def smtp():
    with smtp_inbox() as (controller, inbox):
        yield controller, inbox


class Receiver(WebhookReceiver):
    """The shared receiver, answering with a status the test chooses."""

    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.calls.append((dict(self.headers), body))
        self.send_response(self.status)
        self.end_headers()


@pytest.fixture
def webhook():
    with webhook_receiver(Receiver, status=200) as (server, handler):
        yield server, handler


def config(smtp_port=None, webhook_port=None) -> Settings:
    return Settings(
        smtp_host="127.0.0.1" if smtp_port else "",
        smtp_port=smtp_port or 25,
        notify_email_from="vagvisaren@kommun.example",
        notify_email_to=("jour@kommun.example", "samordnare@kommun.example"),
        notify_webhook_url=f"http://127.0.0.1:{webhook_port}/hook" if webhook_port else "",
        notify_webhook_secret=SECRET,
        dashboard_url="https://granskning.kommun.example",
        pseudonym_key="k",
    )


NOTIFICATION = Notification("created", 7, "acute", ("travel", "weapons"), AT)


async def test_email_reaches_every_recipient_with_level_categories_time_and_link(smtp):
    controller, inbox = smtp
    results = await Notifier(config(smtp_port=controller.port)).notify(NOTIFICATION)
    assert results == {"email": True}
    [(recipients, message)] = inbox.messages
    assert recipients == ["jour@kommun.example", "samordnare@kommun.example"]
    body = message.get_payload(decode=True).decode()
    assert "AKUT" in message["Subject"]
    assert "resa till konfliktområde" in body and "vapen" in body
    assert "2026-11-21 13:30" in body  # Swedish local time
    assert "https://granskning.kommun.example/escalations/7" in body


async def test_webhook_is_signed_and_carries_only_the_allowed_fields(webhook):
    server, handler = webhook
    results = await Notifier(config(webhook_port=server.server_port)).notify(NOTIFICATION)
    assert results == {"webhook": True}
    [(headers, body)] = handler.calls
    assert verify(SECRET, headers[SIGNATURE_HEADER], body)
    assert not verify("wrong-secret", headers[SIGNATURE_HEADER], body)
    assert not verify(SECRET, headers[SIGNATURE_HEADER], body + b" ")
    assert json.loads(body) == {
        "event": "escalation.created",
        "level": "acute",
        "categories": ["travel", "weapons"],
        "at": "2026-11-21T12:30:00+00:00",
        "link": "https://granskning.kommun.example/escalations/7",
    }


def test_an_old_signature_is_rejected():
    from bot.notify import sign

    header = sign(SECRET, 1_000, b"{}")
    assert verify(SECRET, header, b"{}", now=1_100)
    assert not verify(SECRET, header, b"{}", now=1_000 + 3600)
    assert not verify(SECRET, "garbage", b"{}")


async def test_a_failing_receiver_is_retried_then_given_up_and_logged(webhook, caplog, monkeypatch):
    server, handler = webhook
    handler.status = 500
    monkeypatch.setattr("bot.notify.asyncio.sleep", _no_sleep)
    results = await Notifier(config(webhook_port=server.server_port)).notify(NOTIFICATION)
    assert results == {"webhook": False}
    assert len(handler.calls) == 3
    assert "gave up" in caplog.text


async def test_an_unreachable_smtp_server_does_not_raise(caplog, monkeypatch):
    monkeypatch.setattr("bot.notify.asyncio.sleep", _no_sleep)
    results = await Notifier(config(smtp_port=free_port())).notify(NOTIFICATION)
    assert results == {"email": False}
    assert "ConnectionRefusedError" in caplog.text


async def test_nothing_is_sent_when_nothing_is_configured():
    assert await Notifier(config()).notify(NOTIFICATION) == {}


async def test_escalations_notify_once_per_new_or_upgraded_escalation(
    smtp, webhook, tmp_path, escalation_store_url
):
    controller, inbox = smtp
    server, handler = webhook
    url = escalation_store_url
    escalator = Escalator(
        url, Notifier(config(controller.port, server.server_port)), tmp_path / "retry.jsonl"
    )
    secret_text = "Omar 0701234567 conv-secret"

    def signal(level, key):
        return Signal("ref-1", RiskLevel(level), ("travel",), f"…{secret_text}…", key)

    await escalator.escalate(signal("elevated", "m1"))  # created: notify
    await escalator.escalate(signal("elevated", "m2"))  # same level: no
    await escalator.escalate(signal("elevated", "m2"))  # retry of the same message: no
    await escalator.escalate(signal("acute", "m3"))  # upgraded: notify
    assert [json.loads(body)["event"] for _, body in handler.calls] == [
        "escalation.created",
        "escalation.upgraded",
    ]
    assert len(inbox.messages) == 2
    sent = [body.decode() for _, body in handler.calls] + [m.as_string() for _, m in inbox.messages]
    for text in sent:
        for secret in ("Omar", "0701234567", "conv-secret", "ref-1"):
            assert secret not in text


async def _no_sleep(_seconds):
    return None


async def test_a_flood_of_escalations_sends_a_few_notifications_and_then_one_digest(webhook):
    """Issue 17: every escalation of a flood was an e-mail and a webhook call."""
    server, handler = webhook
    clock = [1000.0]
    notifier = Notifier(
        Settings(
            notify_webhook_url=f"http://127.0.0.1:{server.server_port}/hook",
            notify_webhook_secret=SECRET,
            dashboard_url="https://granskning.kommun.example",
            notify_digest_after=3,
            notify_digest_minutes=0.02,  # 1.2 seconds
        ),
        clock=lambda: clock[0],
    )
    for number in range(1, 11):
        level = "acute" if number in (5, 9) else "elevated"
        await notifier.notify(Notification("created", number, level, ("weapons",), AT))
    assert len(handler.calls) == 3  # the first three, one by one
    clock[0] += 1.2  # the window closes
    await notifier._digest_task
    assert len(handler.calls) == 4
    digest = json.loads(handler.calls[-1][1])
    assert digest["event"] == "escalation.digest"
    assert (digest["count"], digest["acute"]) == (7, 2)
    assert digest["link"] == "https://granskning.kommun.example/"
    # The next window starts afresh.
    await notifier.notify(Notification("created", 11, "elevated", ("weapons",), AT))
    assert len(handler.calls) == 5


def test_the_digest_email_says_how_many_and_how_many_acute():
    from bot.notify import Digest, email_message

    message = email_message(
        Digest(7, 2, 10, AT), Settings(notify_email_to=("jour@kommun.example",))
    )
    assert "7 eskaleringar" in message["Subject"] and "2 akuta" in message["Subject"]
    assert "varav 2 akuta" in message.get_content()
