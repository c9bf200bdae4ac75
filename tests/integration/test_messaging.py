"""Telegram, and SMS and WhatsApp through Twilio, against the real Rasa and action servers
and local stand-ins of both providers' APIs (messaging_apis.py): authentication of every
webhook call, pseudonymous ids, buttons, SMS parts, a conversation with an escalation and
a handoff, and deletion over each channel."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

import pytest
from twilio.request_validator import RequestValidator

from bot.channels.deliveries import delivery_key
from bot.channels.rendering import split_for_sms, texts
from bot.channels.telegram import set_webhook
from bot.pseudonym import channel_sender_id
from bot.rasa_client import HandoffError, RasaConversations
from bot.settings import Settings
from tests.support.messaging_apis import (
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_SMS_NUMBER,
    TWILIO_TOKEN,
    TWILIO_WEBHOOK_URL,
    TWILIO_WHATSAPP_NUMBER,
)
from tests.support.servers import TEST_JWT_SECRET, TEST_PSEUDONYM_KEY, admin_token
from tests.support.staff_server import escalation_for, first_line


@pytest.fixture
def handler_available(dashboard):
    """A handler is available in the dashboard: the bot may offer a person now."""
    handler = dashboard.client()
    handler.post("/availability", {"available": "on"})
    yield handler
    handler.post("/availability", {})


RISK_MESSAGE = "min son har köpt flygbiljett till syrien och åker i morgon bitti"
STAFF_MESSAGE = "Hej, jag heter Sara och arbetar på kommunen. Jag läser det du skrev."
_numbers = itertools.count(1)


def run(coroutine):
    return asyncio.run(coroutine)


# ---------------------------------------------------------------- Telegram


def new_chat(messaging_apis) -> int:
    chat_id = 700_000_000 + next(_numbers) * 7919
    messaging_apis.telegram_chats.add(chat_id)
    return chat_id


def telegram_update(chat_id: int, text: str | None = None, button: str | None = None) -> dict:
    update_id = next(_numbers) + 10_000
    chat = {"id": chat_id, "type": "private", "first_name": "Anna"}
    if button is not None:
        return {
            "update_id": update_id,
            "callback_query": {
                "id": f"cb{update_id}",
                "from": {"id": chat_id, "is_bot": False, "first_name": "Anna"},
                "message": {"message_id": 1, "chat": chat, "date": 0, "text": "…"},
                "data": button,
            },
        }
    message = {
        "message_id": update_id,
        "date": 0,
        "chat": chat,
        "from": {"id": chat_id, "is_bot": False, "first_name": "Anna"},
    }
    if text is not None:
        message["text"] = text
    return {"update_id": update_id, "message": message}


def post_telegram(bot, update: dict, secret: str | None = TELEGRAM_SECRET):
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    return bot.request("/webhooks/telegram/webhook", update, headers=headers)


def telegram_turn(bot, apis, chat_id: int, text: str | None = None, button: str | None = None):
    """What the bot sent to the chat for one update (the webhook answers once it is done)."""
    start = apis.telegram.count()
    reply = post_telegram(bot, telegram_update(chat_id, text, button))
    assert reply.status == 200, reply
    return [
        call for call in apis.telegram.since(start, "sendMessage") if call["chat_id"] == chat_id
    ]


def test_telegram_calls_without_the_secret_token_are_rejected(bot, messaging_apis):
    chat_id = new_chat(messaging_apis)
    start = messaging_apis.telegram.count()
    for secret in (None, "", "wrong-secret", TELEGRAM_SECRET + "x"):
        assert post_telegram(bot, telegram_update(chat_id, "hej"), secret).status == 401
    assert messaging_apis.telegram.since(start) == []
    conversation = channel_sender_id("telegram", str(chat_id), TEST_PSEUDONYM_KEY)
    assert user_texts(bot, conversation) == []


def tracker_texts(bot, conversation: str, kind: str) -> list[str]:
    """The texts of the conversation's `kind` ("user" or "bot") events in Rasa's tracker."""
    reply = bot.request(f"/conversations/{conversation}/tracker", token=admin_token())
    return [event["text"] for event in reply.body["events"] if event["event"] == kind]


def user_texts(bot, conversation: str) -> list[str]:
    return tracker_texts(bot, conversation, "user")


def test_a_telegram_conversation_with_an_escalation_a_handoff_and_deletion(
    bot, messaging_apis, handler_available
):
    apis = messaging_apis
    chat_id = new_chat(apis)
    conversation = channel_sender_id("telegram", str(chat_id), TEST_PSEUDONYM_KEY)

    # /start, Telegram's first message: the privacy notice.
    sent = telegram_turn(bot, apis, chat_id, "/start")
    assert sent and sent[0]["text"].startswith(first_line("utter_privacy_notice_telegram"))
    assert bot.bot_responses(conversation) == ["utter_privacy_notice_telegram"]

    # A risk message: 112 first, a button to ask for a person (a handler is available), an
    # escalation for staff.
    sent = telegram_turn(bot, apis, chat_id, RISK_MESSAGE)
    assert sent[0]["text"].startswith("Ring 112"), sent
    keyboards = [call["reply_markup"]["inline_keyboard"] for call in sent if "reply_markup" in call]
    assert [[{"text": "Prata med en människa", "callback_data": "/request_human"}]] in keyboards
    escalation = escalation_for(f"sqlite:///{bot.escalation_database}", conversation)
    assert escalation["level"] == "acute"

    # The button: Telegram sends a callback query; the press is acknowledged and answered.
    start = apis.telegram.count()
    sent = telegram_turn(bot, apis, chat_id, button="/request_human")
    assert apis.telegram.since(start, "answerCallbackQuery")
    assert sent, "no answer to the button"

    # A handler joins through Rasa's API (as the dashboard does) and writes.
    rasa = RasaConversations(bot.url, TEST_JWT_SECRET)
    start = apis.telegram.count()
    run(rasa.execute(conversation, "action_handoff_start"))
    apis.telegram.wait_for(
        start,
        "sendMessage",
        lambda call: call["text"].startswith(first_line("utter_handoff_joined")),
    )
    start = apis.telegram.count()
    run(rasa.send_staff_message(conversation, STAFF_MESSAGE))
    staff_call = apis.telegram.wait_for(
        start, "sendMessage", lambda call: STAFF_MESSAGE in call["text"]
    )[-1]
    assert staff_call["text"] == f"{texts()['staff_label']}\n{STAFF_MESSAGE}"
    assert staff_call["chat_id"] == chat_id
    # The bot keeps quiet while the person is there.
    assert telegram_turn(bot, apis, chat_id, "tack, vad ska jag göra nu?") == []
    run(rasa.execute(conversation, "action_handoff_end"))

    # "radera": the bot asks first (a replayed call must not delete, issue 17) ...
    sent = telegram_turn(bot, apis, chat_id, "radera mitt samtal")
    assert len(sent) == 1 and sent[0]["text"].startswith(first_line("utter_ask_delete_confirm"))
    assert sent[0]["reply_markup"]["inline_keyboard"] == [
        [{"text": "Ja, radera samtalet", "callback_data": "/delete_conversation"}]
    ]
    assert "radera mitt samtal" in user_texts(bot, conversation)
    # ... and the relative's answer with the button deletes the conversation.
    sent = telegram_turn(bot, apis, chat_id, button="/delete_conversation")
    assert any(
        call["text"].startswith(first_line("utter_conversation_deleted_telegram")) for call in sent
    )
    assert user_texts(bot, conversation) == []
    # The chat id is forgotten at once, not kept for MESSAGING_ADDRESS_HOURS.
    assert_forgotten(bot, "telegram", conversation)

    # The chat id was never written down: not in the tracker store, the escalations, the logs.
    assert_nowhere(bot, str(chat_id))


def assert_forgotten(bot, channel: str, conversation: str) -> None:
    """The relative's address is no longer in the Rasa server's memory: a message for the
    conversation through the channel (as the dashboard's handoff sends one) cannot go out.
    (The dashboard's own call asks for the conversation's latest channel, which a deleted
    conversation no longer has, so the channel is named here.)"""
    reply = bot.request(
        f"/conversations/{conversation}/tracker/events"
        f"?output_channel={channel}&execute_side_effects=true",
        [{"event": "bot", "text": STAFF_MESSAGE, "data": {"custom": {"sender": "staff"}}}],
        token=admin_token(),
    )
    assert reply.status >= 400 and "relative_unreachable" in str(reply.body), reply


def test_a_handler_is_told_when_a_messaging_relative_cannot_be_reached(bot, messaging_apis):
    apis = messaging_apis
    chat_id = new_chat(apis)
    conversation = channel_sender_id("telegram", str(chat_id), TEST_PSEUDONYM_KEY)
    telegram_turn(bot, apis, chat_id, "hej")
    rasa = RasaConversations(bot.url, TEST_JWT_SECRET)

    # Telegram refuses (the relative blocked the bot or deleted the chat).
    apis.telegram_chats.discard(chat_id)
    with pytest.raises(HandoffError) as refused:
        run(rasa.send_staff_message(conversation, STAFF_MESSAGE))
    assert refused.value.code == "not_delivered"
    assert STAFF_MESSAGE not in tracker_texts(bot, conversation, "bot")  # not shown as sent
    apis.telegram_chats.add(chat_id)

    # After a restart the address is gone from memory: the handler is told so.
    bot.processes.stop_one("rasa")
    bot.processes.start_one("rasa")
    with pytest.raises(HandoffError) as unreachable:
        run(rasa.send_staff_message(conversation, STAFF_MESSAGE))
    assert unreachable.value.code == "relative_unreachable"

    # Once the relative writes again, the handler reaches them.
    telegram_turn(bot, apis, chat_id, "hallå, är någon där?")
    start = apis.telegram.count()
    run(rasa.send_staff_message(conversation, STAFF_MESSAGE))
    assert apis.telegram.wait_for(start, "sendMessage", lambda call: STAFF_MESSAGE in call["text"])


def test_telegram_odd_updates(bot, messaging_apis):
    apis = messaging_apis
    chat_id = new_chat(apis)
    # A photo: a polite answer in words.
    sent = telegram_turn(bot, apis, chat_id, text=None)
    assert [call["text"] for call in sent] == [texts()["text_only"]]
    # A group chat is not answered.
    update = telegram_update(chat_id, "hej")
    update["message"]["chat"]["type"] = "group"
    start = apis.telegram.count()
    assert post_telegram(bot, update).status == 200
    assert apis.telegram.since(start, "sendMessage") == []
    # The same update twice (Telegram resends when unsure) is answered once.
    update = telegram_update(chat_id, "hej")
    start = apis.telegram.count()
    post_telegram(bot, update)
    answered = len(apis.telegram.since(start, "sendMessage"))
    post_telegram(bot, update)
    assert answered and len(apis.telegram.since(start, "sendMessage")) == answered
    # A body that is not an Update.
    assert (
        bot.request(
            "/webhooks/telegram/webhook",
            raw=b"not json",
            headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        ).status
        == 400
    )


def test_telegram_asks_to_slow_down_and_the_bot_waits(bot, messaging_apis):
    apis = messaging_apis
    chat_id = new_chat(apis)
    apis.telegram_slow_down_once.append(True)
    start = apis.telegram.count()
    sent = telegram_turn(bot, apis, chat_id, "hej")
    assert apis.telegram.since(start, "429") and sent  # refused once, then delivered


def test_set_webhook_registers_the_url_with_the_secret(messaging_apis):
    config = Settings(
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_secret_token=TELEGRAM_SECRET,
        telegram_api_url=messaging_apis.telegram_url,
        telegram_webhook_url="https://chatt.kommun.example/webhooks/telegram/webhook",
    )
    start = messaging_apis.telegram.count()
    assert run(set_webhook(config)) == "vagvisaren_test_bot"
    call = messaging_apis.telegram.since(start, "setWebhook")[0]
    assert call["url"] == "https://chatt.kommun.example/webhooks/telegram/webhook"
    assert call["secret_token"] == TELEGRAM_SECRET
    wrong = Settings(
        telegram_bot_token="1:wrong",
        telegram_secret_token=TELEGRAM_SECRET,
        telegram_api_url=messaging_apis.telegram_url,
        telegram_webhook_url="https://chatt.kommun.example/webhooks/telegram/webhook",
    )
    with pytest.raises(Exception, match="401"):
        run(set_webhook(wrong))


# ---------------------------------------------------------------- Twilio


def new_phone() -> str:
    return f"+4670{next(_numbers) * 104729 % 10_000_000:07d}"


@dataclass
class TwilioReply:
    status: int
    body: str


def post_twilio(bot, fields: dict, signature: str | None = "valid", url: str = TWILIO_WEBHOOK_URL):
    """A webhook call as Twilio makes it: form-encoded, signed over `url` and the fields."""
    if signature == "valid":
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, fields)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Twilio-Signature"] = signature
    request = urllib.request.Request(
        bot.url + "/webhooks/twilio/webhook",
        data=urllib.parse.urlencode(fields).encode(),
        headers=headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return TwilioReply(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        return TwilioReply(error.code, error.read().decode())


def twilio_fields(sender: str, body: str, ours: str = TWILIO_SMS_NUMBER) -> dict:
    return {
        "MessageSid": f"SM{next(_numbers):032d}",
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": ours,
        "Body": body,
        "NumMedia": "0",
    }


def twilio_turn(bot, apis, sender: str, body: str, ours: str = TWILIO_SMS_NUMBER) -> list[str]:
    start = apis.twilio.count()
    reply = post_twilio(bot, twilio_fields(sender, body, ours))
    assert reply.status == 200, reply
    assert "<Response></Response>" in reply.body  # empty TwiML: answers go through the API
    return [call["Body"] for call in apis.twilio.since(start) if call["To"] == sender]


def test_twilio_calls_without_a_valid_signature_are_rejected(bot, messaging_apis):
    phone = new_phone()
    start = messaging_apis.twilio.count()
    fields = twilio_fields(phone, "hej")
    assert post_twilio(bot, fields, signature=None).status == 403
    assert post_twilio(bot, fields, signature="bm90IGEgc2lnbmF0dXJl").status == 403
    # Signed for another address, or signed and then changed on the way.
    assert (
        post_twilio(bot, fields, url="https://evil.example/webhooks/twilio/webhook").status == 403
    )
    signed = RequestValidator(TWILIO_TOKEN).compute_signature(TWILIO_WEBHOOK_URL, fields)
    assert (
        post_twilio(bot, {**fields, "Body": "radera mitt samtal"}, signature=signed).status == 403
    )
    assert messaging_apis.twilio.since(start) == []


def test_an_sms_conversation_with_an_escalation_a_handoff_and_deletion(
    bot, messaging_apis, handler_available
):
    apis = messaging_apis
    phone = new_phone()
    conversation = channel_sender_id("sms", phone, TEST_PSEUDONYM_KEY)

    sent = twilio_turn(bot, apis, phone, RISK_MESSAGE)
    # 112 first, before anything else; a new conversation's privacy notice in the same
    # message right after it (one opening, sent in numbered parts).
    assert sent[0].startswith("Ring 112"), sent
    assert first_line("utter_privacy_notice_sms")[:50] in "".join(sent)
    # The button came as a numbered choice.
    offer = next(body for body in sent if texts()["choices_intro"] in body)
    assert "1. Prata med en människa" in offer
    assert escalation_for(f"sqlite:///{bot.escalation_database}", conversation)["level"] == "acute"

    # Every part fits the SMS limit, and long answers are numbered parts.
    assert all(len(body) <= 459 for body in sent)

    # "1" chooses the first choice: the bot receives its payload.
    twilio_turn(bot, apis, phone, "1")
    assert user_texts(bot, conversation)[-1] == "/request_human"

    rasa = RasaConversations(bot.url, TEST_JWT_SECRET)
    start = apis.twilio.count()
    run(rasa.execute(conversation, "action_handoff_start"))
    apis.twilio.wait_for(
        start, "Messages", lambda call: call["Body"].startswith(first_line("utter_handoff_joined"))
    )
    start = apis.twilio.count()
    run(rasa.send_staff_message(conversation, STAFF_MESSAGE))
    call = apis.twilio.wait_for(start, "Messages", lambda call: STAFF_MESSAGE in call["Body"])[-1]
    assert call == {
        "To": phone,
        "From": TWILIO_SMS_NUMBER,
        "Body": f"{texts()['staff_label']}\n{STAFF_MESSAGE}",
    }
    assert twilio_turn(bot, apis, phone, "okej tack") == []  # the bot keeps quiet
    run(rasa.execute(conversation, "action_handoff_end"))

    # "radera" gets the question with its numbered answer; "1" deletes (issue 17).
    sent = twilio_turn(bot, apis, phone, "radera mitt samtal")
    assert sent[0].startswith(first_line("utter_ask_delete_confirm")), sent
    assert "1. Ja, radera samtalet" in sent[-1]
    assert "radera mitt samtal" in user_texts(bot, conversation)
    sent = twilio_turn(bot, apis, phone, "1")
    assert any(body.startswith(first_line("utter_conversation_deleted_sms")) for body in sent)
    assert user_texts(bot, conversation) == []
    assert_forgotten(bot, "twilio", conversation)
    assert_nowhere(bot, phone, phone.lstrip("+"), phone[3:])


def test_whatsapp_answers_go_back_over_whatsapp(bot, messaging_apis):
    apis = messaging_apis
    sender = "whatsapp:" + new_phone()
    start = apis.twilio.count()
    twilio_turn(bot, apis, sender, "hej", ours=TWILIO_WHATSAPP_NUMBER)
    calls = apis.twilio.since(start)
    assert calls and all(
        call["To"] == sender and call["From"] == TWILIO_WHATSAPP_NUMBER for call in calls
    )
    conversation = channel_sender_id("whatsapp", sender, TEST_PSEUDONYM_KEY)
    assert conversation.startswith("whatsapp-") and bot.bot_responses(conversation)


def test_an_empty_sms_gets_a_polite_answer_and_a_retry_is_answered_once(bot, messaging_apis):
    apis = messaging_apis
    phone = new_phone()
    assert twilio_turn(bot, apis, phone, "") == [texts()["text_only"]]
    fields = twilio_fields(phone, "hej")
    start = apis.twilio.count()
    post_twilio(bot, fields)
    answered = len(apis.twilio.since(start))
    post_twilio(bot, fields)  # Twilio retries with the same MessageSid
    assert answered and len(apis.twilio.since(start)) == answered


# ---------------------------------------------------------------- replays (issue 17)


def expire_delivery(bot, channel: str, delivery_id: str) -> None:
    """As if MESSAGING_DELIVERY_DAYS had passed since the delivery arrived."""
    with sqlite3.connect(bot.escalation_database) as connection:
        changed = connection.execute(
            "UPDATE messaging_deliveries SET expires_at = '2000-01-01 00:00:00.000000' "
            "WHERE delivery_key = ?",
            (delivery_key(channel, delivery_id, TEST_PSEUDONYM_KEY),),
        ).rowcount
    assert changed == 1


def test_a_replayed_webhook_call_is_answered_once_also_after_a_restart(bot, messaging_apis):
    """Twilio signs no time and Telegram's secret never changes, so a captured call stays
    valid; the resend guard was the last 1 000 ids in one process's memory, and a replayed
    "radera mitt samtal" deleted the relative's conversation again after a restart."""
    apis = messaging_apis
    chat_id, phone, relative = new_chat(apis), new_phone(), new_phone()
    update = telegram_update(chat_id, "hej")
    greeting = twilio_fields(phone, "hej")
    assert post_telegram(bot, update).status == 200
    assert post_twilio(bot, greeting).status == 200

    # A relative deletes a conversation over SMS (both calls captured on the way) ...
    conversation = channel_sender_id("sms", relative, TEST_PSEUDONYM_KEY)
    twilio_turn(bot, apis, relative, "vad gör socialtjänsten?")
    request = twilio_fields(relative, "radera mitt samtal")
    assert post_twilio(bot, request).status == 200
    confirmation = twilio_fields(relative, "1")
    assert post_twilio(bot, confirmation).status == 200
    assert user_texts(bot, conversation) == []
    # ... and starts again.
    twilio_turn(bot, apis, relative, "hur pratar jag med min son?")
    assert user_texts(bot, conversation) == ["hur pratar jag med min son?"]

    bot.processes.stop_one("rasa")
    bot.processes.start_one("rasa")

    # Every call again: nothing is answered a second time, nothing is deleted.
    start_telegram, start_twilio = apis.telegram.count(), apis.twilio.count()
    assert post_telegram(bot, update).status == 200
    for fields in (greeting, request, confirmation):
        reply = post_twilio(bot, fields)
        assert reply.status == 200 and "<Response></Response>" in reply.body
    assert apis.telegram.since(start_telegram) == [] and apis.twilio.since(start_twilio) == []
    assert user_texts(bot, conversation) == ["hur pratar jag med min son?"]

    # After MESSAGING_DELIVERY_DAYS a replayed request is a new message: it gets the
    # question, and deletes nothing without the relative's answer.
    expire_delivery(bot, "twilio", request["MessageSid"])
    start = apis.twilio.count()
    assert post_twilio(bot, request).status == 200
    asked = [call["Body"] for call in apis.twilio.since(start) if call["To"] == relative]
    assert asked and asked[0].startswith(first_line("utter_ask_delete_confirm"))
    assert "hur pratar jag med min son?" in user_texts(bot, conversation)

    # Only keyed hashes were stored: no delivery id in the databases or the logs.
    assert_nowhere(bot, greeting["MessageSid"], request["MessageSid"], confirmation["MessageSid"])


def test_long_answers_are_cut_between_sentences():
    text = " ".join(f"Mening nummer {n} handlar om något viktigt." for n in range(40))
    parts = split_for_sms(text, 160)
    assert len(parts) > 1 and all(len(part) <= 160 for part in parts)
    assert all(part.rsplit(" (", 1)[0].endswith(".") for part in parts)
    assert parts[0].endswith(f"(1/{len(parts)})")


# ---------------------------------------------------------------- nothing identifying kept


def assert_nowhere(bot, *identities: str) -> None:
    """None of the identities is in the tracker store, the escalation store or the logs."""
    for database in (bot.database, bot.escalation_database):
        with sqlite3.connect(database) as connection:
            for (dump,) in [("\n".join(connection.iterdump()),)]:
                for identity in identities:
                    assert identity not in dump, f"{identity} stored in {database.name}"
    logs = bot.logs()
    for identity in identities:
        assert identity not in logs, f"{identity} in the logs"


def test_without_a_handler_the_sms_answer_promises_no_person_now(bot, messaging_apis):
    """Issue 16: a person is offered now only while one is available."""
    phone = new_phone()
    sent = twilio_turn(bot, messaging_apis, phone, RISK_MESSAGE)
    assert sent[0].startswith("Ring 112"), sent
    assert not any(texts()["choices_intro"] in body for body in sent)
    assert any("Just nu kan ingen från personalen gå in i chatten" in body for body in sent)


# ---------------------------------------------------------------- bounded input (issue 17)


def test_an_over_long_telegram_message_is_answered_politely_and_not_kept(bot, messaging_apis):
    from bot.channels.input_limits import too_long_answer
    from tests.support.settings import settings

    apis = messaging_apis
    chat_id = new_chat(apis)
    marker = "Överlångmarkör"
    sent = telegram_turn(bot, apis, chat_id, marker + " a" * settings.max_message_chars)
    assert [call["text"] for call in sent] == [too_long_answer(settings.max_message_chars)]
    assert_nowhere(bot, marker)
    # The conversation goes on.
    assert telegram_turn(bot, apis, chat_id, "vad gör socialtjänsten?")


def test_an_over_long_sms_is_answered_politely(bot, messaging_apis):
    from bot.channels.input_limits import too_long_answer
    from tests.support.settings import settings

    phone = "+46701110099"
    said = twilio_turn(bot, messaging_apis, phone, "b " * settings.max_message_chars)
    assert said and said[0].startswith(too_long_answer(settings.max_message_chars)[:40])
