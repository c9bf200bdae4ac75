"""Bounded input over the REST channel (issue 17): a message over MAX_MESSAGE_CHARS gets a
polite answer and is neither read nor stored; the next message is answered as usual.
(socket.io: tests/integration/test_web_sessions.py; Telegram and SMS:
tests/integration/test_messaging.py.)"""

from __future__ import annotations

import uuid

import pytest

from bot.channels.input_limits import too_long_answer
from tests.support.servers import admin_token
from tests.support.settings import settings

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


@pytest.mark.parametrize("server", ["rasa", "actions"])
def test_an_oversized_body_gets_413_from_every_server(bot, server):
    """Sanic's own limit is 100 MB; every server refuses more than MAX_REQUEST_BYTES."""
    import urllib.error
    import urllib.request

    url = {
        "rasa": bot.url + "/webhooks/rest/webhook",
        "actions": bot.processes.action_url + "/webhook",
    }[server]
    body = b'{"sender": "x", "message": "' + b"a" * (settings.max_request_bytes + 1) + b'"}'
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 413
    # ...and both still answer.
    assert bot.say(uuid.uuid4().hex, "hej")


def test_rasas_api_refuses_tokens_without_expiry_or_expired(bot):
    """Issue 17: sanic-jwt checked `exp` only when present, so a token without it worked
    forever."""
    import time

    import jwt

    from tests.support.servers import TEST_JWT_SECRET

    user = {"username": "someone", "role": "admin"}
    forever = jwt.encode({"user": user}, TEST_JWT_SECRET, algorithm="HS256")
    expired = jwt.encode(
        {"user": user, "exp": int(time.time()) - 60}, TEST_JWT_SECRET, algorithm="HS256"
    )
    for token in (forever, expired):
        assert bot.request("/conversations/x/tracker", token=token).status == 401
    assert bot.request("/conversations/x/tracker", token=admin_token()).status == 200


def test_a_long_message_is_classified_by_its_beginning_and_screened_and_kept_whole(bot):
    """Issue 17: Rasa's NLU reads the first NLU_MAX_CHARS characters (DIET on thousands of
    tokens held the event loop); the risk screening and the stored text have all of it."""
    from bot.nlu.long_messages import NLU_MAX_CHARS

    sender = f"long-{uuid.uuid4().hex}"
    story = "jag är så orolig för honom och vet inte vad jag ska göra. " * 40
    danger = "han har en pistol och ska skjuta någon i skolan i morgon"
    message = story + danger
    assert len(story) > NLU_MAX_CHARS and len(message) <= settings.max_message_chars
    assert "utter_risk_acute" in bot.turn(sender, message)
    events = bot.request(f"/conversations/{sender}/tracker", token=admin_token()).body["events"]
    [user] = [event for event in events if event["event"] == "user"]
    assert user["text"].endswith(danger) and user["parse_data"]["text"].endswith(danger)
