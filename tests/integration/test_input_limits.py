"""Bounded input over the REST channel (issue 17): a message over MAX_MESSAGE_CHARS gets a
polite answer and is neither read nor stored; the next message is answered as usual.
(socket.io: tests/integration/test_web_sessions.py; Telegram and SMS:
tests/integration/test_messaging.py.)"""

from __future__ import annotations

import uuid

import pytest

from bot.input_limits import too_long_answer
from bot.settings import settings
from tests.integration.conftest import admin_token

pytestmark = pytest.mark.slow


def test_an_over_long_rest_message_is_answered_politely_and_not_stored(bot):
    sender = uuid.uuid4().hex
    marker = "Överlångmarkör"
    reply = bot.say(sender, marker + " a" * settings.max_message_chars)
    assert [message.get("text") for message in reply] == [
        too_long_answer(settings.max_message_chars)
    ]
    tracker = bot.request(f"/conversations/{sender}/tracker", token=admin_token())
    assert marker not in str(tracker.body)
    # The conversation goes on.
    assert bot.say(sender, "Vad gör socialtjänsten?")
