"""Topic memory (issue 16): follow-ups are answered within the topic of the conversation,
turns stay within three messages, and every topic answer ends with guided next steps."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.answers import ActionAnswerTopic
from bot.dialogue import MAX_BUBBLES_PER_TURN
from bot.dialogue.follow_up import DEEPER, FIRST_ANSWER, Step, plan_follow_up
from bot.dialogue.next_steps import deeper_payload, load_next_steps
from bot.topics import TOPIC_INTENTS, topic_for_intent
from tests.conftest import response_names


async def never_called(clause: str):
    raise AssertionError("a one-question message needs no clause classification")


def tracker_after(
    *user_texts: str,
    intent: str = "follow_up",
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    bot_this_turn: list[dict[str, Any]] | None = None,
) -> Tracker:
    message = {
        "text": user_texts[-1],
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities or [],
    }
    events = [{"event": "user", "text": text} for text in user_texts[:-1]]
    events.append({"event": "user", "text": user_texts[-1], "parse_data": message})
    events += bot_this_turn or []
    return Tracker(
        sender_id="t",
        slots={"person_relation": None, "person_age_group": None, **(slots or {})},
        latest_message=message,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def answer(dispatcher, domain, tracker):
    events = await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    return response_names(dispatcher), {event["name"]: event["value"] for event in events}


def buttons(dispatcher) -> list[str]:
    return [button["payload"] for button in dispatcher.messages[-1].get("buttons") or []]


# -- the plan ---------------------------------------------------------------------------------


def test_without_a_topic_the_bot_asks_what_is_meant():
    assert plan_follow_up(None, None, False, False, False).step is Step.UNKNOWN


def test_the_first_follow_up_goes_one_layer_deeper_then_ends_honestly():
    assert plan_follow_up("police", FIRST_ANSWER, False, False, True).step is Step.DEEPER
    assert plan_follow_up("police", DEEPER, False, False, True).step is Step.END


def test_a_new_age_gets_the_answer_again_for_that_age():
    plan = plan_follow_up("social_services", DEEPER, True, True, True)
    assert plan.step is Step.ANSWER_FOR_AGE and plan.topic == "social_services"
    # ...but only where the answer depends on the age.
    assert plan_follow_up("police", FIRST_ANSWER, True, False, True).step is Step.DEEPER


# -- the action -------------------------------------------------------------------------------


async def test_dit_after_social_services_means_social_services(dispatcher, domain):
    """The review's failure: "vad händer om jag ringer dit?" answered about the police."""
    tracker = tracker_after(
        "min son är 16 och umgås med nazister",
        "jag vill ringa soc men är rädd att de tar honom",
        "vad händer om jag ringer dit?",
        slots={"current_topic": "social_services", "topic_step": FIRST_ANSWER},
    )
    names, slots = await answer(dispatcher, domain, tracker)
    assert names == ["utter_social_services_more_minor"]
    assert slots["current_topic"] == "social_services" and slots["topic_step"] == DEEPER
    # The deeper step is not offered again; the other next questions are.
    assert deeper_payload("social_services") not in buttons(dispatcher)
    assert "/ask_confidentiality" in buttons(dispatcher)


async def test_a_second_follow_up_ends_honestly_with_directions_and_a_person(dispatcher, domain):
    tracker = tracker_after(
        "vad gör polisen", "konkret?", "och sen?",
        slots={"current_topic": "police", "topic_step": DEEPER},
    )  # fmt: skip
    names, _ = await answer(dispatcher, domain, tracker)
    assert names == ["utter_follow_up_end"]
    assert "/request_human" in buttons(dispatcher)


async def test_a_follow_up_with_no_topic_asks_what_is_meant(dispatcher, domain):
    names, slots = await answer(dispatcher, domain, tracker_after("konkret?"))
    assert names == ["utter_follow_up_unknown"]
    assert "current_topic" not in slots


async def test_an_age_as_follow_up_tailors_the_answer_of_the_topic(dispatcher, domain):
    tracker = tracker_after(
        "min son är 16", "kan soc tvinga honom till något", "och om han är 19?",
        slots={"current_topic": "child_custody", "topic_step": FIRST_ANSWER,
               "person_age_group": "minor"},
    )  # fmt: skip
    names, slots = await answer(dispatcher, domain, tracker)
    assert names == ["utter_child_custody_young_adult"]
    assert slots["person_age_group"] == "young_adult"


async def test_an_older_quick_reply_follows_up_the_topic_it_names(dispatcher, domain):
    tracker = tracker_after(
        "hur anmäler jag", "kan polisen ta honom", '/follow_up{"topic":"how_to_report"}',
        slots={"current_topic": "police", "topic_step": DEEPER},
        entities=[{"entity": "topic", "value": "how_to_report"}],
    )  # fmt: skip
    names, slots = await answer(dispatcher, domain, tracker)
    assert names == ["utter_how_to_report_more"]
    assert slots["current_topic"] == "how_to_report"


# A person, and the contact list itself, have no deeper layer.
@pytest.mark.parametrize(
    "intent", [i for i in TOPIC_INTENTS if i not in ("request_human", "ask_contacts")]
)
async def test_every_topic_has_a_deeper_step_and_next_steps(intent, domain):
    topic = topic_for_intent(intent)
    assert f"utter_{topic}_more" in domain["responses"]
    steps = load_next_steps()[topic]
    assert 2 <= len(steps) <= 3
    assert deeper_payload(topic) in [button["payload"] for button in steps]
    for button in steps:
        assert len(button["title"]) <= 30, button
        payload = button["payload"]
        assert payload.startswith("/follow_up{") or payload.lstrip("/") in domain["intents"]


async def test_a_topic_answer_ends_with_its_next_steps_and_is_remembered(dispatcher, domain):
    tracker = tracker_after("vad gör soc egentligen", intent="ask_social_services")
    names, slots = await answer(dispatcher, domain, tracker)
    assert names[0] == "utter_social_services"
    assert slots["current_topic"] == "social_services" and slots["topic_step"] == FIRST_ANSWER
    assert buttons(dispatcher)[0] == deeper_payload("social_services")


# -- short turns ------------------------------------------------------------------------------


def risk_bubble(*parts: str) -> dict[str, Any]:
    return {"event": "bot", "text": "...", "metadata": {"utter_action": parts[0], "parts": parts}}


async def test_after_a_two_message_risk_answer_the_question_gets_one_message(dispatcher, domain):
    tracker = tracker_after(
        "min son pratar om att åka till syrien, får han veta om jag ringer polisen?",
        intent="ask_confidentiality",
        bot_this_turn=[
            risk_bubble("utter_risk_elevated", "utter_risk_why_travel"),
            risk_bubble("utter_contact_list", "utter_risk_marked"),
        ],
    )
    names, _ = await answer(dispatcher, domain, tracker)
    assert names == ["utter_confidentiality"]  # no second contact list
    assert len(dispatcher.messages) + 2 <= MAX_BUBBLES_PER_TURN


async def test_a_question_that_does_not_fit_is_offered_as_a_quick_reply(dispatcher, domain):
    async def classify(clause: str):
        if "soc" in clause:
            return "ask_social_services", 0.95
        return "ask_confidentiality", 0.95

    tracker = tracker_after(
        "vad händer om jag ringer soc? och får han veta att det var jag?",
        intent="ask_social_services",
        bot_this_turn=[
            {"event": "bot", "metadata": {"utter_action": "utter_risk_acute"}},
            {"event": "bot", "metadata": {"utter_action": "utter_risk_offer_human"}},
        ],
    )
    await ActionAnswerTopic(classify).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_social_services"]
    assert "/ask_confidentiality" in buttons(dispatcher)


async def test_contacts_and_the_switchboard_pointer_are_one_message(dispatcher, domain):
    tracker = tracker_after("var får jag stöd själv", intent="ask_support_for_me")
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert len(dispatcher.messages) == 2
    assert dispatcher.messages[1]["parts"][0] == "utter_contact_list"


async def test_after_the_risk_screening_answered_the_question_its_topic_is_followed_up(
    dispatcher, domain
):
    """The first message was answered by the risk screening (no topic answer, no slot): a
    follow-up means the topic that message asked about."""
    first = {"text": "mina bröder kontrollerar min syster, vad kan man göra",
             "intent": {"name": "ask_honour", "confidence": 0.9}}  # fmt: skip
    tracker = tracker_after("mina bröder kontrollerar min syster, vad kan man göra", "konkret?")
    tracker.events[0]["parse_data"] = first
    names, slots = await answer(dispatcher, domain, tracker)
    assert names == ["utter_honour_more"]
    assert slots["current_topic"] == "honour"
