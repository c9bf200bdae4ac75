"""The two-stage fallback through the running bot: a message that is not understood but
answered after all (the risk screening replied, or a situation) must not leave the
conversation stuck (blind round 4: after two unclear messages in a row, the second with a
suicide signal, the next question got no answer at all)."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.slow


def parsed_intents(bot, sender: str) -> list[str]:
    reply = bot.request(f"/conversations/{sender}/tracker", token=_admin_token())
    return [
        (event.get("parse_data") or {}).get("intent", {}).get("name")
        for event in reply.body["events"]
        if event["event"] == "user"
    ]


def _admin_token() -> str:
    from tests.support.servers import admin_token

    return admin_token()


def test_after_two_unclear_messages_answered_by_the_risk_screening_the_bot_still_answers(bot):
    sender = uuid.uuid4().hex
    bot.say(sender, "hej")
    # Both unclear to the classifier (blind round 4's own words).
    bot.say(sender, "så om jag skriver om saker bara jag vet så fattar dom?")
    bot.say(sender, "en grej till. hon sa igår att hon hellre dör än lever så här. hon skrattade")
    intents = parsed_intents(bot, sender)
    if intents[-2:] != ["nlu_fallback", "nlu_fallback"]:
        # Training repeats exactly on one machine, not across machines: the model trained on
        # the 2026-12-05 machine gives these words ask_anonymity 0.98 and follow_up 0.70
        # (also with the code before issue 21). The flow below needs two unclear messages.
        pytest.skip(f"this machine's model classifies the 'unclear' messages: {intents}")
    assert any(name.startswith("utter_risk_") for name in bot.bot_responses(sender))
    before = len(bot.bot_responses(sender))
    reply = bot.say(sender, "Vad gör socialtjänsten om jag ringer?")
    assert reply, "the question after the fallback got no answer"
    assert len(bot.bot_responses(sender)) > before
