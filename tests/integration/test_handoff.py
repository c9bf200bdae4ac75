"""Live handoff end to end: a relative in the web chat (socket.io), the real Rasa and action
servers, and the staff dashboard. With several Rasa servers, a handler's message reaches
the browser through Redis whichever server sends it.
"""

from __future__ import annotations

import asyncio
import time

import redis
from sqlalchemy import text

from bot.launcher import free_port
from bot.settings import PROJECT_ROOT
from bot.staff.model import Role
from bot.store.engine import make_engine
from tests.support.servers import (
    TEST_JWT_SECRET,
    TEST_PSEUDONYM_KEY,
    private_bot,
    running_servers,
    server_environment,
)
from tests.support.staff_server import (
    escalation_for,
    first_line,
    staff_server,
)
from tests.support.web_chat import close, session

REPLY_SECONDS = 60


async def next_reply(replies: asyncio.Queue, seconds: float = REPLY_SECONDS) -> dict:
    return await asyncio.wait_for(replies.get(), seconds)


async def replies_until(replies: asyncio.Queue, opening: str) -> list[dict]:
    """Messages up to and including the one that starts with `opening`."""
    seen = []
    while True:
        message = await next_reply(replies)
        seen.append(message)
        if (message.get("text") or "").startswith(opening):
            return seen


async def quiet(replies: asyncio.Queue, seconds: float = 4) -> bool:
    await asyncio.sleep(seconds)
    return replies.empty()


def live(handler, escalation_id: int, after: int = 0) -> dict:
    return handler.get(f"/escalations/{escalation_id}/live.json?after={after}").json()


def send_as_handler(handler, escalation_id: int, message: str):
    return handler.http.post(
        f"{handler.url}/escalations/{escalation_id}/handoff/message",
        json={"text": message},
        headers={"X-CSRF-Token": handler.csrf, "Accept": "application/json"},
        timeout=30,
    )


async def test_a_handler_joins_talks_and_hands_back(bot, dashboard):
    client, session_id, replies = await session(bot)
    try:
        await client.emit(
            "user_uttered",
            {
                "session_id": session_id,
                "message": "min bror har skaffat en pistol och pratar om hämnd",
            },
        )
        await replies_until(replies, first_line("utter_risk_elevated"))
        escalation = escalation_for(f"sqlite:///{bot.escalation_database}", session_id)
        handler = dashboard.client()
        handler.get(f"/escalations/{escalation['id']}")
        assert live(handler, escalation["id"])["relative_connected"] is True

        joined = handler.post(f"/escalations/{escalation['id']}/handoff/join")
        assert joined.status_code == 303 and "problem" not in joined.headers["location"]
        notice = await replies_until(replies, first_line("utter_handoff_joined"))
        assert notice[-1].get("sender") != "staff"  # the notice comes from Vägvisaren

        reply = send_as_handler(
            handler, escalation["id"], "Hej, jag heter Sara. Ring mig på 070-123 45 67."
        )
        assert reply.status_code == 200, reply.text
        staff_message = await next_reply(replies)
        assert staff_message == {
            "text": "Hej, jag heter Sara. Ring mig på 070-123 45 67.",
            "sender": "staff",
        }

        await client.emit(
            "user_uttered", {"session_id": session_id, "message": "tack, vad gör jag nu?"}
        )
        assert await quiet(replies), "the bot answered while a person was in the conversation"
        lines = live(handler, escalation["id"])["lines"]
        assert lines[-1]["speaker"] == "relative" and lines[-1]["text"] == "tack, vad gör jag nu?"
        staff_lines = [line for line in lines if line["speaker"] == "staff"]
        assert staff_lines and "070-123 45 67" not in staff_lines[-1]["text"]  # stored redacted

        handler.post(f"/escalations/{escalation['id']}/handoff/return")
        await replies_until(replies, first_line("utter_handoff_returned"))
        await client.emit(
            "user_uttered", {"session_id": session_id, "message": "vad är en orosanmälan?"}
        )
        assert (await next_reply(replies)).get("text")  # the bot answers again
    finally:
        await close(client)

    actions = audit_actions(dashboard, escalation["id"])
    assert {"handoff_join", "handoff_message", "handoff_return"} <= set(actions)


def audit_actions(dashboard, escalation_id: int) -> list[str]:
    with make_engine(dashboard.escalation_url).connect() as connection:
        rows = connection.execute(
            text("select action, detail from staff_audit where escalation_id = :id"),
            {"id": escalation_id},
        ).all()
    assert not any("070" in (detail or "") or "Sara" in (detail or "") for _, detail in rows)
    return [action for action, _ in rows]


async def handler_joined(bot, dashboard, client, session_id, replies, first_message: str):
    """The relative says something risky; a handler joins. Returns (handler, escalation)."""
    await client.emit("user_uttered", {"session_id": session_id, "message": first_message})
    await next_reply(replies)
    escalation = escalation_for(f"sqlite:///{bot.escalation_database}", session_id)
    handler = dashboard.client()
    handler.post(f"/escalations/{escalation['id']}/handoff/join")
    await replies_until(replies, first_line("utter_handoff_joined"))
    return handler, escalation


async def test_an_acute_message_during_handoff_still_gets_112_first(bot, dashboard):
    client, session_id, replies = await session(bot)
    try:
        handler, escalation = await handler_joined(
            bot, dashboard, client, session_id, replies, "min son pratar om vapen"
        )
        await client.emit(
            "user_uttered",
            {"session_id": session_id, "message": "han står utanför skolan med pistolen nu"},
        )
        urgent = await next_reply(replies)
        assert urgent["text"].startswith(first_line("utter_risk_acute"))
        assert await quiet(replies, 3)  # no offer of a human: one is here
        handler.post(f"/escalations/{escalation['id']}/handoff/end")
        await replies_until(replies, first_line("utter_handoff_ended"))
    finally:
        await close(client)


async def test_the_handler_sees_that_the_relative_has_left(bot, dashboard):
    client, session_id, replies = await session(bot)
    await client.emit(
        "user_uttered", {"session_id": session_id, "message": "min dotter vill åka till syrien"}
    )
    await next_reply(replies)
    escalation = escalation_for(f"sqlite:///{bot.escalation_database}", session_id)
    handler = dashboard.client()
    assert live(handler, escalation["id"])["relative_connected"] is True
    try:
        await asyncio.wait_for(client.disconnect(), 5)
    except TimeoutError:
        await close(client)
    deadline = time.monotonic() + 60
    while live(handler, escalation["id"])["relative_connected"] and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert live(handler, escalation["id"])["relative_connected"] is False
    assert "lämnat chatten" in (PROJECT_ROOT / "bot/staff/static/live.js").read_text()


async def test_asking_for_a_person_queues_the_relative_when_a_handler_is_available(bot, dashboard):
    handler = dashboard.client()
    handler.post("/availability", {"available": "on"})
    client, session_id, replies = await session(bot)
    try:
        await client.emit(
            "user_uttered",
            {"session_id": session_id, "message": "kan jag få prata med en riktig människa"},
        )
        await replies_until(replies, first_line("utter_request_human_queued"))
        escalation = escalation_for(f"sqlite:///{bot.escalation_database}", session_id)
        assert escalation["wants_person"] and escalation["level"] == "none"
        queued = handler.get("/queue.json").json()["items"]
        assert any(item["id"] == escalation["id"] and item["wants_person"] for item in queued)
    finally:
        handler.post("/availability", {})
        await close(client)


async def test_deleting_the_conversation_during_handoff_still_works(bot, dashboard):
    client, session_id, replies = await session(bot)
    try:
        handler, escalation = await handler_joined(
            bot, dashboard, client, session_id, replies, "min bror har en kniv och hotar oss"
        )
        await client.emit(
            "user_uttered", {"session_id": session_id, "message": "radera mitt samtal"}
        )
        await replies_until(replies, first_line("utter_conversation_deleted_web"))
    finally:
        await close(client)
    # Rasa saves (and so deletes) the conversation just after sending the answer.
    deadline = time.monotonic() + 15
    while live(handler, escalation["id"])["conversation"] != "gone":
        assert time.monotonic() < deadline, "the conversation was not deleted"
        await asyncio.sleep(0.3)
    assert live(handler, escalation["id"])["in_handoff"] is False


# -- the lifecycle with a relative in the chat (bot/escalations/lifecycle.py) -------------------


def as_json(handler, path: str, form: dict | None = None):
    return handler.post(path, form or {}, headers={"Accept": "application/json"})


async def test_release_ends_the_handoff_and_the_next_handler_can_join_and_resolve(bot, dashboard):
    client, session_id, replies = await session(bot)
    try:
        first, escalation = await handler_joined(
            bot, dashboard, client, session_id, replies, "min bror har skaffat ett vapen"
        )
        path = f"/escalations/{escalation['id']}"
        assert as_json(first, f"{path}/release").status_code == 200
        await replies_until(replies, first_line("utter_handoff_returned"))
        refused = send_as_handler(first, escalation["id"], "Hej igen, det är jag.")
        assert refused.status_code == 409 and refused.json()["problem"] == "not_in_conversation"
        assert await quiet(replies, 2), "a handler who released still reached the relative"

        second = dashboard.client()
        assert as_json(second, f"{path}/handoff/join").status_code == 200
        await replies_until(replies, first_line("utter_handoff_joined"))
        assert send_as_handler(second, escalation["id"], "Hej, jag heter Bo.").status_code == 200
        assert (await next_reply(replies)).get("sender") == "staff"

        resolved = as_json(second, f"{path}/resolve", {"outcome": "advice_given"})
        assert resolved.status_code == 200
        await replies_until(replies, first_line("utter_handoff_ended"))
        assert live(second, escalation["id"])["in_handoff"] is False
        assert send_as_handler(second, escalation["id"], "En sak till").status_code == 409
        await client.emit(
            "user_uttered", {"session_id": session_id, "message": "vad är en orosanmälan?"}
        )
        assert (await next_reply(replies)).get("sender") != "staff"  # the bot answers again
    finally:
        await close(client)


async def test_ending_a_handoff_nobody_is_in_is_a_409_and_tells_the_relative_nothing(
    bot, dashboard
):
    client, session_id, replies = await session(bot)
    try:
        await client.emit(
            "user_uttered", {"session_id": session_id, "message": "min son pratar om att åka"}
        )
        await next_reply(replies)
        escalation = escalation_for(f"sqlite:///{bot.escalation_database}", session_id)
        admin = dashboard.client(Role.ADMIN)
        path = f"/escalations/{escalation['id']}"
        assert as_json(admin, f"{path}/claim").status_code == 200
        await asyncio.sleep(1)
        while not replies.empty():
            replies.get_nowait()
        for how in ("end", "return"):
            answer = as_json(admin, f"{path}/handoff/{how}")
            assert answer.status_code == 409 and answer.json()["problem"] == "not_in_handoff"
        assert await quiet(replies, 3), "the relative was told a person left who was never there"
    finally:
        await close(client)


async def test_an_admin_takes_over_a_conversation_only_by_saying_so(bot, dashboard):
    client, session_id, replies = await session(bot)
    try:
        handler, escalation = await handler_joined(
            bot, dashboard, client, session_id, replies, "min pappa hotar att skada mamma"
        )
        admin = dashboard.client(Role.ADMIN)
        path = f"/escalations/{escalation['id']}"
        joined = as_json(admin, f"{path}/handoff/join")
        assert joined.status_code == 409 and joined.json()["problem"] == "held_by_other"
        assert send_as_handler(admin, escalation["id"], "Hej").status_code == 409
        assert as_json(admin, f"{path}/take_over").status_code == 200
        assert send_as_handler(admin, escalation["id"], "Hej, jag tar över.").status_code == 200
        assert (await next_reply(replies)) == {"text": "Hej, jag tar över.", "sender": "staff"}
        refused = send_as_handler(handler, escalation["id"], "Är du kvar?")
        assert refused.status_code == 409
        assert "take_over" in audit_actions(dashboard, escalation["id"])
        assert as_json(admin, f"{path}/handoff/return").status_code == 200
        await replies_until(replies, first_line("utter_handoff_returned"))
    finally:
        await close(client)


# -- several Rasa servers behind a load balancer ---------------------------------------------------


async def test_a_handler_message_reaches_a_browser_on_another_rasa_server(tmp_path):
    redis_db = 7
    redis.Redis.from_url(f"redis://127.0.0.1:6379/{redis_db}").flushdb()
    environment = {
        **server_environment(tmp_path),
        "SOCKET_REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
    }
    port_b = free_port()
    # Server B: a second Rasa server on the same stores, Redis and action server.
    server_b = {**environment, "RASA_PORT": str(port_b)}
    with (
        private_bot(tmp_path, environment) as server_a,
        running_servers(server_b, tmp_path / "logs-b", ("rasa",)),
    ):
        client, session_id, replies = await session(server_a)
        try:
            await client.emit(
                "user_uttered",
                {"session_id": session_id, "message": "min son pratar om att åka till syrien"},
            )
            await next_reply(replies)
            escalation = escalation_for(environment["ESCALATION_DATABASE_URL"], session_id)
            (tmp_path / "staff").mkdir()
            with staff_server(
                tmp_path / "staff",
                {
                    "RASA_INTERNAL_URL": f"http://127.0.0.1:{port_b}",  # not the relative's server
                    "RASA_JWT_SECRET": TEST_JWT_SECRET,
                    "PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
                },
                escalation_url=environment["ESCALATION_DATABASE_URL"],
                tracker_url=environment["TRACKER_DATABASE_URL"],
            ) as dashboard:
                handler = dashboard.client()
                handler.post(f"/escalations/{escalation['id']}/handoff/join")
                await replies_until(replies, first_line("utter_handoff_joined"))
                send_as_handler(handler, escalation["id"], "Hej från personalen")
                assert await next_reply(replies) == {
                    "text": "Hej från personalen",
                    "sender": "staff",
                }
        finally:
            await close(client)
