"""The privacy notice and a session's first answer are one calm opening (issue 16), not a
message of its own before the answer (in SMS a text message of its own); 112 is never
moved down."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.answers import ActionAnswerShortReply, ActionAnswerTopic
from tests.conftest import response_names


async def never_called(clause: str):
    raise AssertionError("a one-question message needs no clause classification")


@pytest.fixture
def first_message(make_tracker):
    """A session's first message, the privacy notice still due."""

    def build(text: str, intent: str, channel: str = "sms", due: bool = True) -> Tracker:
        sender = "3f2a9c0d1e" if channel == "web" else f"{channel}-3f2a9c0d1e"
        return make_tracker(text, intent, slots={"privacy_notice_due": due}, sender_id=sender)

    return build


def notice_done(events: list[dict[str, Any]]) -> bool:
    return any(
        event.get("name") == "privacy_notice_due" and event.get("value") is False
        for event in events
    )


@pytest.mark.parametrize("channel", ["web", "sms", "whatsapp", "telegram"])
async def test_a_greeting_carries_the_notice_in_the_same_message(
    dispatcher, domain, first_message, channel
):
    tracker = first_message("hej", "greet", channel)
    events = await ActionAnswerShortReply().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["parts"] == ["utter_greet", f"utter_privacy_notice_{channel}"]
    assert response_names(dispatcher)[-1] == "utter_main_menu"
    assert len(dispatcher.messages) == 2
    assert notice_done(events)


async def test_a_first_question_gets_the_notice_in_front_of_the_answer(
    dispatcher, domain, first_message
):
    tracker = first_message("vad gör soc", "ask_social_services")
    events = await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    names = response_names(dispatcher)
    assert names[0] == "utter_privacy_notice_sms"
    assert names[1].startswith("utter_social_services")
    assert dispatcher.messages[0]["text"].startswith("Innan vi börjar")
    assert "30 dagar" in dispatcher.messages[0]["text"]  # the retention period, filled in
    assert notice_done(events)


async def test_once_given_the_notice_is_not_repeated(dispatcher, domain, first_message):
    tracker = first_message("vad gör soc", "ask_social_services", due=False)
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert not any(name.startswith("utter_privacy_notice") for name in response_names(dispatcher))


async def test_the_notice_is_not_repeated_when_a_loop_undid_its_slot(
    dispatcher, domain, first_message
):
    """Rasa collapses the events of the two-stage fallback's first run when it runs
    again, the slot set in that run included: the message already sent still counts."""
    tracker = first_message("vad menar du", "follow_up", channel="web", due=True)
    tracker.events = [
        {"event": "session_started"},
        {"event": "user", "text": "en lång berättelse", "parse_data": {}},
        {
            "event": "bot",
            "metadata": {
                "utter_action": "utter_ask_rephrase",
                "parts": ["utter_privacy_notice_web", "utter_ask_rephrase"],
            },
        },
        *tracker.events,
    ]
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert not any(name.startswith("utter_privacy_notice") for name in response_names(dispatcher))
