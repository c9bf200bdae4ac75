"""Web sessions over the real socket.io channel: ids are issued by the server (128 random
bits and a keyed tag); a browser can resume its own but cannot choose one."""

from __future__ import annotations

import asyncio

from bot.pseudonym import is_web_session_id
from tests.support.servers import TEST_PSEUDONYM_KEY
from tests.support.web_chat import close, session


async def test_the_server_issues_a_private_id_and_the_bot_answers_on_it(bot):
    client, session_id, replies = await session(bot)
    try:
        assert is_web_session_id(session_id, TEST_PSEUDONYM_KEY)
        assert len(session_id) == 48  # 32 hex = 128 random bits, 16 hex tag
        await client.emit("user_uttered", {"session_id": session_id, "message": "hej"})
        first = await asyncio.wait_for(replies.get(), 60)
        assert first.get("text")
        # The conversation lives under that id: Rasa stores it once the turn is over,
        # after the first message went out.
        for _ in range(100):
            if bot.bot_responses(session_id):
                break
            await asyncio.sleep(0.1)
        assert bot.bot_responses(session_id)
    finally:
        await close(client)


async def test_a_browser_resumes_its_own_session(bot):
    client, session_id, _ = await session(bot)
    await close(client)
    again, resumed, _ = await session(bot, proposed=session_id)
    await close(again)
    assert resumed == session_id


async def test_a_chosen_or_forged_id_is_replaced(bot):
    for proposed in ["test", "0" * 48, "a" * 32 + "0" * 16, 12345]:
        client, session_id, _ = await session(bot, proposed=proposed)
        await close(client)
        assert session_id != proposed and is_web_session_id(session_id, TEST_PSEUDONYM_KEY)


async def test_a_message_without_a_valid_session_id_is_ignored(bot):
    client, session_id, replies = await session(bot)
    try:
        await client.emit("user_uttered", {"session_id": "guessed", "message": "hej"})
        await client.emit("user_uttered", {"session_id": session_id, "message": 42})
        await asyncio.sleep(1)
        assert replies.empty()
    finally:
        await close(client)


async def test_an_over_long_message_is_answered_politely_and_not_kept(bot):
    """Issue 17: the widget's limit is the browser's; the server enforces its own."""
    from bot.channels.input_limits import too_long_answer
    from tests.support.settings import settings

    client, session_id, replies = await session(bot)
    try:
        long = "Överlångmarkör " + "a" * settings.max_message_chars
        await client.emit("user_uttered", {"session_id": session_id, "message": long})
        answer = await asyncio.wait_for(replies.get(), 60)
        assert answer.get("text") == too_long_answer(settings.max_message_chars)
        assert bot.bot_responses(session_id) == []  # nothing reached Rasa
    finally:
        await close(client)
