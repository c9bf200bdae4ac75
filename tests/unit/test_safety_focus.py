"""After a serious signal, 112 or Självmordslinjen stays in view on every later answer
(issue 16): the focus, and the reminder in front of the answering actions' first message."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.answers import ActionAnswerOutOfScope, ActionAnswerShortReply, ActionAnswerTopic
from bot.dialogue.safety_focus import focus_of, most_serious, reminder_response
from bot.risk.levels import RiskLevel
from tests.conftest import response_names


async def never_called(clause: str):
    raise AssertionError("a one-question message needs no clause classification")


@pytest.fixture
def tracker_with(make_tracker):
    def build(
        text: str, intent: str, slots: dict[str, Any], bot_this_turn: tuple[str, ...] = ()
    ) -> Tracker:
        return make_tracker(text, intent, slots=slots, bot_this_turn=bot_this_turn)

    return build


@pytest.mark.parametrize(
    ("level", "categories", "own", "focus"),
    [
        (RiskLevel.ELEVATED, ["suicide"], True, "suicide_self"),
        (RiskLevel.ELEVATED, ["suicide"], False, "suicide"),
        (RiskLevel.ELEVATED, ["threat"], True, "threat_self"),
        (RiskLevel.ELEVATED, ["threat"], False, None),
        (RiskLevel.ACUTE, ["travel"], False, "acute"),
        (RiskLevel.ELEVATED, ["travel"], False, None),
        (RiskLevel.NONE, [], False, None),
    ],
)
def test_which_signals_stay_in_view(level, categories, own, focus):
    assert focus_of(level, categories, own) == focus


def test_a_less_serious_focus_never_replaces_a_more_serious_one():
    assert most_serious("suicide_self", "acute") == "suicide_self"
    assert most_serious(None, "acute") == "acute"
    assert most_serious("acute", None) == "acute"
    assert most_serious(None, None) is None


def test_every_focus_has_its_reminder(domain):
    for focus in ("suicide_self", "suicide", "threat_self", "acute"):
        assert reminder_response(focus) in domain["responses"]
    assert reminder_response(None) is None


async def test_a_topic_answer_after_an_acute_signal_starts_with_112(
    dispatcher, domain, tracker_with
):
    tracker = tracker_with(
        "vad gör socialtjänsten", "ask_social_services", {"safety_focus": "acute"}
    )
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    names = response_names(dispatcher)
    assert names[0] == "utter_keep_safe_acute"
    assert names[1].startswith("utter_social_services")
    assert dispatcher.messages[0]["text"].startswith("Kom ihåg")
    assert "112" in dispatcher.messages[0]["text"]


async def test_the_relatives_own_thoughts_keep_the_suicide_line_in_view(
    dispatcher, domain, tracker_with
):
    tracker = tracker_with(
        "hur pratar jag med honom", "ask_how_to_talk", {"safety_focus": "suicide_self"}
    )
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert response_names(dispatcher)[0] == "utter_keep_safe_suicide_self"
    assert "90101" in dispatcher.messages[0]["text"]


async def test_no_reminder_without_a_serious_signal(dispatcher, domain, tracker_with):
    tracker = tracker_with("vad gör socialtjänsten", "ask_social_services", {})
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert not any(name.startswith("utter_keep_safe") for name in response_names(dispatcher))


async def test_no_reminder_when_the_risk_answer_of_this_turn_said_it(
    dispatcher, domain, tracker_with
):
    tracker = tracker_with(
        "vad gör socialtjänsten",
        "ask_social_services",
        {"safety_focus": "acute"},
        bot_this_turn=("utter_risk_acute",),
    )
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert not any(name.startswith("utter_keep_safe") for name in response_names(dispatcher))


async def test_no_reminder_while_a_person_from_staff_is_in_the_chat(
    dispatcher, domain, tracker_with
):
    slots = {"safety_focus": "acute", "handoff": True}
    tracker = tracker_with("vad gör socialtjänsten", "ask_social_services", slots)
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert not any(name.startswith("utter_keep_safe") for name in response_names(dispatcher))


async def test_out_of_scope_after_an_acute_signal_keeps_112_in_view(
    dispatcher, domain, tracker_with
):
    tracker = tracker_with("vad blir det för väder", "out_of_scope", {"safety_focus": "acute"})
    await ActionAnswerOutOfScope().run(dispatcher, tracker, domain)
    assert response_names(dispatcher)[0] == "utter_keep_safe_acute"


@pytest.mark.parametrize("intent", ["deny", "thank", "goodbye"])
async def test_short_replies_are_named_after_the_intent(dispatcher, domain, tracker_with, intent):
    tracker = tracker_with("nej", intent, {"safety_focus": "suicide_self"})
    await ActionAnswerShortReply().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == [f"utter_{intent}"]


@pytest.mark.parametrize("intent", ["deny", "thank", "goodbye"])
def test_short_replies_have_a_variation_for_every_focus(domain, intent):
    conditioned = {
        condition["value"]
        for variation in domain["responses"][f"utter_{intent}"]
        for condition in variation.get("condition") or []
        if condition["name"] == "safety_focus"
    }
    assert conditioned == {"suicide_self", "suicide", "threat_self", "acute"}
