"""NOTIFY_PERSON_REQUESTS: a relative who asks for a person (actions/handoff.py) also sends
the staff's e-mail and webhook notification, against a real SMTP server (aiosmtpd) and a
local webhook receiver; in the background, never holding up the answer; nothing when the
setting is off, nothing for asking again while queued, no text or reference in it."""

from __future__ import annotations

import json
from email.header import decode_header, make_header

import pytest

from actions.handoff import ActionRequestHuman
from bot import bootstrap
from bot.escalations.model import utcnow
from bot.notify import SIGNATURE_HEADER, verify
from bot.pseudonym import conversation_ref
from bot.staff.accounts import Accounts
from bot.staff.model import Role
from bot.store.engine import shared_engine
from bot.store.tables import staff_sessions
from tests.conftest import response_names
from tests.support.databases import escalation_rows
from tests.support.staff_receivers import smtp_inbox, webhook_receiver

KEY = "person-request-pseudonym-key"
SECRET = "person-request-webhook-secret"


@pytest.fixture
def receivers():
    with webhook_receiver() as (server, handler), smtp_inbox() as (controller, inbox):
        yield server.server_port, handler, controller.port, inbox


def configured(configure, url, tmp_path, receivers, notify: bool):
    webhook_port, _, smtp_port, _ = receivers
    return configure(
        escalation_database_url=url,
        escalation_retry_file=tmp_path / "retry.jsonl",
        pseudonym_key=KEY,
        notify_person_requests=notify,
        notify_webhook_url=f"http://127.0.0.1:{webhook_port}/hook",
        notify_webhook_secret=SECRET,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_starttls=False,
        smtp_ssl=False,
        notify_email_from="vagvisaren@kommun.example",
        notify_email_to=("jour@kommun.example",),
        dashboard_url="https://granskning.kommun.example",
        notify_digest_after=100,
    )


def an_available_handler(url: str) -> None:
    accounts = Accounts(shared_engine(url))
    accounts.create_user("anna", Role.HANDLER)
    user = accounts.users()[0]
    accounts.start_session(user)
    accounts.set_available(user.id, True)
    with shared_engine(url).begin() as connection:
        connection.execute(staff_sessions.update().values(last_seen_at=utcnow()))


async def ask_for_a_person(dispatcher, make_tracker, domain, sender="test-conversation"):
    tracker = make_tracker("kan jag prata med en människa", "request_human", sender_id=sender)
    await ActionRequestHuman().run(dispatcher, tracker, domain)
    await bootstrap.services().notifier.wait_idle()


async def test_a_request_for_a_person_notifies_staff_by_mail_and_webhook(
    configure, escalation_store_url, tmp_path, receivers, dispatcher, make_tracker, domain
):
    configured(configure, escalation_store_url, tmp_path, receivers, notify=True)
    an_available_handler(escalation_store_url)
    _, handler, _, inbox = receivers

    await ask_for_a_person(dispatcher, make_tracker, domain)

    assert response_names(dispatcher)[0].startswith("utter_request_human_queued")
    [row] = escalation_rows(escalation_store_url)
    [(headers, body)] = handler.calls
    assert verify(SECRET, headers[SIGNATURE_HEADER], body)
    payload = json.loads(body)
    assert payload["event"] == "escalation.person_requested"
    assert payload["level"] == "none"
    assert payload["link"] == f"https://granskning.kommun.example/escalations/{row.id}"
    [(_, message)] = inbox.messages
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "[Vägvisaren] En anhörig vill prata med en person"
    text = message.get_payload(decode=True).decode()
    assert "bett att få prata med en person" in text and "ingen risksignal" in text
    sent = body.decode() + message.as_string()
    for secret in ("människa", "test-conversation", conversation_ref("test-conversation", KEY)):
        assert secret not in sent


async def test_asking_again_while_queued_sends_nothing_more(
    configure, escalation_store_url, tmp_path, receivers, dispatcher, make_tracker, domain
):
    configured(configure, escalation_store_url, tmp_path, receivers, notify=True)
    an_available_handler(escalation_store_url)
    _, handler, _, inbox = receivers
    await ask_for_a_person(dispatcher, make_tracker, domain)
    await ask_for_a_person(dispatcher, make_tracker, domain)
    assert len(handler.calls) == 1 and len(inbox.messages) == 1


async def test_with_the_setting_off_nothing_is_sent(
    configure, escalation_store_url, tmp_path, receivers, dispatcher, make_tracker, domain
):
    configured(configure, escalation_store_url, tmp_path, receivers, notify=False)
    an_available_handler(escalation_store_url)
    _, handler, _, inbox = receivers
    await ask_for_a_person(dispatcher, make_tracker, domain)
    assert escalation_rows(escalation_store_url)[0].wants_person  # queued all the same
    assert handler.calls == [] and inbox.messages == []


async def test_an_unreachable_receiver_never_holds_up_the_answer(
    configure, escalation_store_url, tmp_path, dispatcher, make_tracker, domain, caplog
):
    from bot.launcher import free_port

    configure(
        escalation_database_url=escalation_store_url,
        escalation_retry_file=tmp_path / "retry.jsonl",
        pseudonym_key=KEY,
        notify_person_requests=True,
        notify_webhook_url=f"http://127.0.0.1:{free_port()}/hook",
        notify_webhook_secret=SECRET,
    )
    an_available_handler(escalation_store_url)
    tracker = make_tracker("kan jag prata med en människa", "request_human")
    await ActionRequestHuman().run(dispatcher, tracker, domain)
    # The answer is there while the notification is still being tried in the background.
    assert response_names(dispatcher)[0].startswith("utter_request_human_queued")
    notifier = bootstrap.services().notifier
    assert notifier._tasks, "the notification runs in the background"
    for task in list(notifier._tasks):
        task.cancel()
    await notifier.wait_idle()
    assert "kan jag prata" not in caplog.text
