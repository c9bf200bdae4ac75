"""Limits for anonymous traffic on real servers (bot/channels/abuse_limits.py), with low limits and
one trusted proxy, so each test's "source address" is the X-Forwarded-For it sends: a
flood is refused politely while another relative's conversation goes on."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import socketio
import yaml

from bot.settings import PROJECT_ROOT
from tests.support.servers import Bot, admin_token, private_bot
from tests.support.web_chat import close

PER_CONVERSATION, PER_SOURCE, NEW_CHATS = 4, 8, 2
TEXTS = yaml.safe_load((PROJECT_ROOT / "data/texts/messaging.yml").read_text(encoding="utf-8"))
TOO_FAST = TEXTS["messaging"]["too_fast"].split(".")[0]
TOO_MANY_CHATS = TEXTS["messaging"]["too_many_chats"].split(",")[0]


@pytest.fixture(scope="module")
def limited_bot(tmp_path_factory) -> Bot:
    # The test's own servers (tests/support/servers.py) with the limits back on.
    overrides = {
        "LIMIT_MESSAGES_PER_CONVERSATION": str(PER_CONVERSATION),
        "LIMIT_MESSAGES_PER_SOURCE": str(PER_SOURCE),
        "LIMIT_NEW_CHATS_PER_SOURCE": str(NEW_CHATS),
        "TRUSTED_PROXIES": "1",
    }
    with private_bot(tmp_path_factory.mktemp("limits"), overrides) as bot:
        yield bot


def say_from(bot: Bot, source: str, sender: str, message: str):
    return bot.request(
        "/webhooks/rest/webhook",
        {"sender": sender, "message": message},
        headers={"X-Forwarded-For": source},
    )


def user_messages(bot: Bot, sender: str) -> list[str]:
    events = bot.request(f"/conversations/{sender}/tracker", token=admin_token()).body["events"]
    return [event["text"] for event in events if event["event"] == "user"]


def test_a_conversation_that_floods_is_answered_politely_and_others_go_on(limited_bot):
    flooder, relative = f"flood-{uuid.uuid4().hex}", f"calm-{uuid.uuid4().hex}"
    answers = [
        say_from(limited_bot, "198.51.100.1", flooder, f"meddelande {n}").body
        for n in range(PER_CONVERSATION + 2)
    ]
    texts = [" ".join(message.get("text", "") for message in answer) for answer in answers]
    assert all(TOO_FAST not in text for text in texts[:PER_CONVERSATION])
    assert all(text.startswith(TOO_FAST) and "112" in text for text in texts[PER_CONVERSATION:])
    # What was refused was not read or kept.
    assert f"meddelande {PER_CONVERSATION}" not in user_messages(limited_bot, flooder)

    calm = say_from(limited_bot, "198.51.100.2", relative, "vad är en orosanmälan?")
    assert calm.status == 200 and TOO_FAST not in calm.body[0]["text"]


def test_a_source_that_floods_with_new_conversations_gets_429_and_others_go_on(limited_bot):
    refused = None
    for n in range(PER_SOURCE + 1):
        reply = say_from(limited_bot, "198.51.100.3", f"script-{uuid.uuid4().hex}", f"hej {n}")
        if reply.status == 429:
            refused = (n, reply)
            break
    assert refused is not None and refused[0] == PER_SOURCE
    assert refused[1].body[0]["text"].startswith(TOO_FAST)
    other = say_from(limited_bot, "198.51.100.4", f"other-{uuid.uuid4().hex}", "hej")
    assert other.status == 200 and TOO_FAST not in other.body[0]["text"]


async def web_chat(bot: Bot, source: str, proposed: str | None = None):
    """A web chat from `source`: (client, session id or None, the bot's messages)."""
    client = socketio.AsyncClient()
    confirmed = asyncio.get_running_loop().create_future()
    replies: asyncio.Queue = asyncio.Queue()
    client.on("session_confirm", lambda session_id: confirmed.set_result(session_id))
    client.on("bot_uttered", lambda message: replies.put_nowait(message))
    await client.connect(
        bot.url,
        socketio_path="/socket.io",
        transports=["polling"],
        headers={"X-Forwarded-For": source},
    )
    await client.emit("session_request", {"session_id": proposed})
    try:
        return client, await asyncio.wait_for(asyncio.shield(confirmed), 5), replies
    except TimeoutError:
        return client, None, replies


async def test_a_source_that_opens_chat_after_chat_is_told_to_wait(limited_bot):
    clients = []
    try:
        for _ in range(NEW_CHATS):
            client, session_id, _ = await web_chat(limited_bot, "198.51.100.5")
            clients.append(client)
            assert session_id
        first_session = session_id
        client, refused, replies = await web_chat(limited_bot, "198.51.100.5")
        clients.append(client)
        assert refused is None
        assert (await asyncio.wait_for(replies.get(), 5))["text"].startswith(TOO_MANY_CHATS)
        # An open chat resumed from the same place is not a new one; another place is fine.
        client, resumed, _ = await web_chat(limited_bot, "198.51.100.5", first_session)
        clients.append(client)
        assert resumed == first_session
        client, elsewhere, replies = await web_chat(limited_bot, "198.51.100.6")
        clients.append(client)
        assert elsewhere
        await client.emit("user_uttered", {"session_id": elsewhere, "message": "hej"})
        assert TOO_FAST not in (await asyncio.wait_for(replies.get(), 60))["text"]
    finally:
        for client in clients:
            await close(client)
