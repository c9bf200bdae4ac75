"""Typing both ways and the relative's place in the queue for a person, against the real
Rasa and action servers, the staff dashboard and the Telegram/Twilio stand-ins:

- the relative types in the web chat: the handler's live view says so, and their message
  clears it; a socket cannot say so for another conversation;
- the handler in the conversation types: the web chat gets `staff_typing`, a Telegram
  relative a sendChatAction, an SMS relative nothing; nobody else may; Rasa's route wants
  the JWT;
- two relatives wait for a person: each learns their place, which moves up when a handler
  joins the one ahead; a Telegram relative is told their place and the usual wait in the
  answer; the usual wait comes from the last 30 days' cases (bot/escalations/waiting.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import timedelta

import jwt
import pytest

from bot.escalations.lifecycle import Actor, Step
from bot.escalations.model import utcnow
from bot.escalations.service import handler_answered, request_person, take_step
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.escalations.waiting import queue_status
from bot.pseudonym import channel_sender_id, conversation_ref
from bot.store.engine import make_engine
from tests.integration.test_messaging import new_chat, new_phone, telegram_turn, twilio_turn
from tests.support.servers import TEST_JWT_SECRET, TEST_PSEUDONYM_KEY, admin_token
from tests.support.staff_server import escalation_for, first_line
from tests.support.web_chat import close, session

REPLY_SECONDS = 60
ASK_FOR_A_PERSON = "kan jag få prata med en riktig människa"
QUEUE_ASKED_AGAIN = 2.1  # a socket that asks again sooner gets the last answer (socketio.py)


async def replies_until(replies: asyncio.Queue, opening: str) -> list[dict]:
    seen = []
    while True:
        message = await asyncio.wait_for(replies.get(), REPLY_SECONDS)
        seen.append(message)
        if (message.get("text") or "").startswith(opening):
            return seen


def live(handler, escalation_id: int) -> dict:
    return handler.get(f"/escalations/{escalation_id}/live.json").json()


def post_typing(handler, escalation_id: int, csrf: str | None = None):
    headers = {"Accept": "application/json"}
    if csrf is not False:
        headers["X-CSRF-Token"] = handler.csrf if csrf is None else csrf
    return handler.http.post(
        f"{handler.url}/escalations/{escalation_id}/handoff/typing", headers=headers, timeout=30
    )


def typing_at(bot, session_id: str):
    with sqlite3.connect(bot.escalation_database) as connection:
        row = connection.execute(
            "SELECT typing_at FROM conversation_presence WHERE conversation_ref = ?",
            (conversation_ref(session_id, TEST_PSEUDONYM_KEY),),
        ).fetchone()
    assert row is not None, "no presence row: the socket was not seen"
    return row[0]


async def eventually(condition, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        await asyncio.sleep(0.2)


async def relative_with_an_escalation(bot, message="min bror har skaffat en pistol och hotar"):
    client, session_id, replies = await session(bot)
    await client.emit("user_uttered", {"session_id": session_id, "message": message})
    await asyncio.wait_for(replies.get(), REPLY_SECONDS)
    escalation = escalation_for(f"sqlite:///{bot.escalation_database}", session_id)
    return client, session_id, replies, escalation["id"]


# ---------------------------------------------------------------- the relative types


async def test_the_relative_typing_shows_in_the_live_view_until_their_message(bot, dashboard):
    client, session_id, replies, number = await relative_with_an_escalation(bot)
    try:
        handler = dashboard.client()
        assert live(handler, number)["relative_typing"] is False
        await client.emit("typing", {"session_id": session_id})
        await eventually(lambda: live(handler, number)["relative_typing"] is True)

        await client.emit("user_uttered", {"session_id": session_id, "message": "hallå?"})
        # Cleared by the message itself (not only by time): the moment is gone.
        await eventually(lambda: typing_at(bot, session_id) is None)
        assert live(handler, number)["relative_typing"] is False
    finally:
        await close(client)


async def test_a_socket_cannot_say_another_conversation_is_typing(bot):
    mine, my_session, _ = await session(bot)
    other, other_session, _ = await session(bot)
    try:
        for data in ({"session_id": other_session}, other_session, None, {"session_id": 5}):
            await mine.emit("typing", data)
        await asyncio.sleep(1.5)
        assert typing_at(bot, other_session) is None
        # The socket still works, and says so for its own conversation.
        await mine.emit("typing", {"session_id": my_session})
        await eventually(lambda: typing_at(bot, my_session) is not None)
    finally:
        await close(mine)
        await close(other)


# ---------------------------------------------------------------- the handler types


async def test_the_handlers_typing_reaches_the_web_chat_and_only_they_may_send_it(bot, dashboard):
    client, session_id, replies, number = await relative_with_an_escalation(bot)
    staff_typing: asyncio.Queue = asyncio.Queue()
    client.on("staff_typing", lambda data: staff_typing.put_nowait(data))
    try:
        handler = dashboard.client()
        handler.post(f"/escalations/{number}/handoff/join")
        await replies_until(replies, first_line("utter_handoff_joined"))

        answer = post_typing(handler, number)
        assert answer.status_code == 204, answer.text
        assert await asyncio.wait_for(staff_typing.get(), 15) == {}

        other = dashboard.client()
        refused = post_typing(other, number)
        assert refused.status_code == 409
        assert refused.json()["problem"] == "not_in_conversation"
        assert post_typing(handler, number, csrf=False).status_code == 403
        assert post_typing(handler, 999_999).status_code == 404
        await asyncio.sleep(1)
        assert staff_typing.empty(), "typing went out for a refused request"
    finally:
        await close(client)


def test_rasas_typing_route_wants_the_jwt(bot):
    path = "/conversations/nobody/staff_typing"
    assert bot.request(path, {}).status == 401
    no_expiry = jwt.encode({"user": {"username": "x", "role": "admin"}}, TEST_JWT_SECRET)
    assert bot.request(path, {}, token=no_expiry).status == 401
    wrong = jwt.encode(
        {"user": {"role": "admin"}, "exp": int(time.time()) + 60}, "another secret", "HS256"
    )
    assert bot.request(path, {}, token=wrong).status == 401
    reply = bot.request(path, {}, token=admin_token())
    assert reply.status == 200 and reply.body == {"shown_in": []}


def test_a_telegram_relative_sees_the_handler_typing_and_an_sms_relative_nothing(
    bot, dashboard, messaging_apis
):
    apis = messaging_apis
    chat_id = new_chat(apis)
    conversation = channel_sender_id("telegram", str(chat_id), TEST_PSEUDONYM_KEY)
    telegram_turn(bot, apis, chat_id, "min son har köpt flygbiljett till syrien och åker i morgon")
    number = escalation_for(f"sqlite:///{bot.escalation_database}", conversation)["id"]
    handler = dashboard.client()
    assert handler.post(f"/escalations/{number}/handoff/join").status_code == 303
    start = apis.telegram.count()
    assert post_typing(handler, number).status_code == 204
    assert apis.telegram.wait_for(start, "sendChatAction", lambda call: True, 15) == [
        {"chat_id": chat_id, "action": "typing"}
    ]
    assert apis.telegram.since(start, "sendMessage") == []  # nothing else went out

    phone = new_phone()
    sms_conversation = channel_sender_id("sms", phone, TEST_PSEUDONYM_KEY)
    twilio_turn(bot, apis, phone, "min son har köpt flygbiljett till syrien och åker i morgon")
    sms_number = escalation_for(f"sqlite:///{bot.escalation_database}", sms_conversation)["id"]
    start_sms = apis.twilio.count()
    assert handler.post(f"/escalations/{sms_number}/handoff/join").status_code == 303
    apis.twilio.wait_for(
        start_sms,
        "Messages",
        lambda call: call["Body"].startswith(first_line("utter_handoff_joined")),
    )
    start_sms, start_telegram = apis.twilio.count(), apis.telegram.count()
    assert post_typing(handler, sms_number).status_code == 204
    time.sleep(1.5)
    assert apis.twilio.since(start_sms) == []
    assert apis.telegram.since(start_telegram) == []


# ---------------------------------------------------------------- the queue for a person


@pytest.fixture
def available_handler(dashboard):
    handler = dashboard.client()
    handler.post("/availability", {"available": "on"})
    yield handler
    handler.post("/availability", {})


async def ask_for_a_person(bot):
    client, session_id, replies = await session(bot)
    changed: asyncio.Queue = asyncio.Queue()
    client.on("queue_changed", lambda data: changed.put_nowait(data))
    await client.emit("user_uttered", {"session_id": session_id, "message": ASK_FOR_A_PERSON})
    await replies_until(replies, first_line("utter_request_human_queued"))
    await asyncio.wait_for(changed.get(), 15)  # the widget is told to ask now
    return client, session_id, replies, changed


async def place(client, session_id: str) -> dict:
    return await client.call("queue_place", {"session_id": session_id}, timeout=15)


async def test_two_waiting_relatives_learn_their_places_and_move_up(
    bot, dashboard, available_handler
):
    first, first_session, first_replies, first_changed = await ask_for_a_person(bot)
    second, second_session, _, _ = await ask_for_a_person(bot)
    try:
        mine = await place(first, first_session)
        theirs = await place(second, second_session)
        assert mine["waiting"] is True and theirs["waiting"] is True
        assert mine["handler_available"] is True
        assert theirs["place"] == mine["place"] + 1  # earlier requests may wait ahead of both
        assert set(theirs) == {"waiting", "place", "typical_minutes", "handler_available"}
        # A socket asks for its own conversation only.
        assert await second.call("queue_place", {"session_id": first_session}, timeout=15) == {
            "waiting": False
        }

        number = escalation_for(f"sqlite:///{bot.escalation_database}", first_session)["id"]
        available_handler.post(f"/escalations/{number}/handoff/join")
        await replies_until(first_replies, first_line("utter_handoff_joined"))
        await asyncio.wait_for(first_changed.get(), 15)
        await asyncio.sleep(QUEUE_ASKED_AGAIN)
        assert await place(first, first_session) == {
            "waiting": False,
            "place": None,
            "typical_minutes": None,
            "handler_available": False,
        }
        await asyncio.sleep(QUEUE_ASKED_AGAIN)
        assert (await place(second, second_session))["place"] == mine["place"]

        available_handler.post("/availability", {})
        await asyncio.sleep(QUEUE_ASKED_AGAIN)
        nobody = await place(second, second_session)
        assert nobody["waiting"] is True and nobody["handler_available"] is False
    finally:
        await close(first)
        await close(second)


def test_a_telegram_relative_is_told_their_place_and_the_usual_wait(
    bot, messaging_apis, available_handler
):
    apis = messaging_apis
    chat_id = new_chat(apis)
    conversation = channel_sender_id("telegram", str(chat_id), TEST_PSEUDONYM_KEY)
    sent = telegram_turn(bot, apis, chat_id, ASK_FOR_A_PERSON)
    assert bot.bot_responses(conversation)[-3:] == [
        "utter_request_human_queued_place",
        _usual_wait(bot, conversation),
        "utter_request_human_queued_meanwhile",
    ]
    status = queue_status(
        make_engine(f"sqlite:///{bot.escalation_database}"),
        conversation_ref(conversation, TEST_PSEUDONYM_KEY),
    )
    answer = sent[-1]["text"]
    assert f"nummer {status.place} i kön" in answer
    assert first_line("utter_request_human_queued_meanwhile") in answer


def _usual_wait(bot, conversation: str) -> str:
    status = queue_status(
        make_engine(f"sqlite:///{bot.escalation_database}"),
        conversation_ref(conversation, TEST_PSEUDONYM_KEY),
    )
    if status.typical_minutes is None:
        return "utter_queue_wait_unknown"
    return (
        "utter_queue_wait_one_minute"
        if status.typical_minutes == 1
        else "utter_queue_wait_estimate"
    )


# ---------------------------------------------------------------- the usual wait


def a_case_claimed_after(engine, name: str, opened, seconds: int) -> None:
    uow = SqlAlchemyUnitOfWork.on(engine)
    number = request_person(uow, name, now=opened).escalation_id
    take_step(uow, number, Step.JOIN, Actor(1), now=opened + timedelta(seconds=seconds))


def test_the_usual_wait_is_the_median_of_the_last_30_days_requests(migrated_url):
    engine = make_engine(migrated_url)
    now = utcnow()
    uow = SqlAlchemyUnitOfWork.on(engine)
    request_person(uow, "waiting", now=now)
    # Four recent cases: too few to say.
    for index, seconds in enumerate((60, 120, 180, 240)):
        a_case_claimed_after(engine, f"recent{index}", now - timedelta(days=index + 1), seconds)
    # Old ones do not count, however many.
    for index in range(5):
        a_case_claimed_after(engine, f"old{index}", now - timedelta(days=31 + index), 3600)
    status = queue_status(engine, "waiting", now=now)
    assert status.waiting and status.place == 1 and status.typical_minutes is None

    a_case_claimed_after(engine, "recent5", now - timedelta(days=2), 7200)
    # Five: the median of 60, 120, 180, 240, 7200 seconds is 3 minutes.
    assert queue_status(engine, "waiting", now=now).typical_minutes == 3


def test_a_relative_with_a_person_or_without_a_request_is_not_waiting(migrated_url):
    engine = make_engine(migrated_url)
    now = utcnow()
    uow = SqlAlchemyUnitOfWork.on(engine)
    assert queue_status(engine, "nobody", now=now).waiting is False
    first = request_person(uow, "first", now=now - timedelta(minutes=2)).escalation_id
    request_person(uow, "second", now=now - timedelta(minutes=1))
    assert queue_status(engine, "second", now=now).place == 2
    take_step(uow, first, Step.JOIN, Actor(1), now=now)
    assert queue_status(engine, "first", now=now).waiting is False
    assert queue_status(engine, "second", now=now).place == 1
    # Answered and handed back to the bot: no longer waiting for a person.
    handler_answered(uow, first)
    take_step(uow, first, Step.HAND_BACK, Actor(1), now=now)
    assert queue_status(engine, "first", now=now).waiting is False
    assert queue_status(engine, "second", now=now).place == 1
