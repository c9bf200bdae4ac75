"""Fault injection on the production stores (issue 17): the bot's servers on a PostgreSQL
(tracker and escalation stores) and a Redis (the socket.io queue) of the test's own, which
the tests restart and stop mid-conversation."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import socketio

from bot.pseudonym import conversation_ref
from tests.support.databases import escalation_of
from tests.support.private_services import private_postgres, private_redis
from tests.support.servers import TEST_PSEUDONYM_KEY, Bot, private_bot
from tests.support.web_chat import close

REDIS_DOWN = "Redis for socket.io (SOCKET_REDIS_URL) is unreachable"


@pytest.fixture(scope="module")
def stores():
    with private_postgres() as postgres, private_redis() as redis:
        yield postgres, redis


@pytest.fixture(scope="module")
def bot_on_stores(stores, tmp_path_factory) -> Bot:
    postgres, redis = stores
    overrides = {
        "TRACKER_DATABASE_URL": postgres.url,
        "ESCALATION_DATABASE_URL": postgres.url,
        "ESCALATION_RETRY_SECONDS": "1",
        "SOCKET_REDIS_URL": redis.url,
    }
    with private_bot(tmp_path_factory.mktemp("faults"), overrides) as bot:
        yield bot


def escalation_level(url: str, sender: str, wait: float = 20) -> str | None:
    escalation = escalation_of(url, conversation_ref(sender, TEST_PSEUDONYM_KEY), wait)
    return escalation["level"] if escalation else None


def wait_for_level(url: str, sender: str, level: str, wait: float = 30) -> str | None:
    deadline = time.monotonic() + wait
    while True:
        found = escalation_level(url, sender, wait=2)
        if found == level or time.monotonic() > deadline:
            return found


def test_a_postgres_restart_mid_conversation_loses_no_escalation(stores, bot_on_stores):
    postgres, _ = stores
    sender = f"faults-{uuid.uuid4().hex}"
    assert bot_on_stores.say(sender, "min bror har skaffat ett vapen")
    assert escalation_level(postgres.url, sender) == "elevated"

    postgres.restart()  # every pooled connection of both servers is now dead
    answer = bot_on_stores.turn(sender, "han sa att han ska skjuta någon i skolan i morgon")
    assert answer and answer[0] == "utter_risk_acute", answer
    assert wait_for_level(postgres.url, sender, "acute") == "acute"

    # Down while relatives write: they are still answered (Rasa keeps the turn in memory),
    # with the emergency number; a signal that came then waits in the retry file and is
    # stored once PostgreSQL is back; the conversation goes on.
    newcomer = f"faults-{uuid.uuid4().hex}"
    postgres.stop()
    try:
        during = bot_on_stores.say(newcomer, "min dotter har köpt en biljett till Syrien i kväll")
        assert "112" in " ".join(message.get("text", "") for message in during), during
    finally:
        postgres.start()
    assert wait_for_level(postgres.url, newcomer, "acute") == "acute"
    after = bot_on_stores.turn(sender, "vad ska jag göra nu?")
    assert after, "the conversation did not go on after PostgreSQL came back"
    assert escalation_level(postgres.url, sender) == "acute"


async def test_with_redis_down_the_web_chat_goes_on_and_says_so_once(stores, bot_on_stores):
    _, redis = stores
    client = socketio.AsyncClient()
    confirmed = asyncio.get_running_loop().create_future()
    replies: asyncio.Queue = asyncio.Queue()
    client.on("session_confirm", lambda session_id: confirmed.set_result(session_id))
    client.on("bot_uttered", lambda message: replies.put_nowait(message))
    await client.connect(bot_on_stores.url, socketio_path="/socket.io", transports=["polling"])
    await client.emit("session_request", {"session_id": None})
    session_id = await asyncio.wait_for(confirmed, 10)
    try:
        redis.stop()
        for message in ("hej", "vad är en orosanmälan?", "vad gör socialtjänsten?"):
            started = time.monotonic()
            await client.emit("user_uttered", {"session_id": session_id, "message": message})
            reply = await asyncio.wait_for(replies.get(), 60)
            assert reply.get("text")
            assert time.monotonic() - started < 15
            while not replies.empty():
                replies.get_nowait()
        assert bot_on_stores.logs().count(REDIS_DOWN) == 1  # loudly, and once
        assert "Cannot publish to redis" not in bot_on_stores.logs()  # not per message
        redis.start()
        await client.emit("user_uttered", {"session_id": session_id, "message": "tack"})
        assert (await asyncio.wait_for(replies.get(), 60)).get("text")
        deadline = time.monotonic() + 30
        while "reachable again" not in bot_on_stores.logs():
            assert time.monotonic() < deadline, "Redis coming back was not noticed"
            await asyncio.sleep(0.5)
    finally:
        await close(client)
        if not redis.answers():
            redis.start()
