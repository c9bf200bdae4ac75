"""The Swedish two-stage fallback question, and the privacy notice at session start."""

from __future__ import annotations

from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from actions.fallback import ActionDefaultAskAffirmation
from actions.session import ActionSessionStart
from tests.conftest import response_names


async def test_affirmation_asks_about_the_most_likely_topic(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        text="soc?? polis??",
        intent="nlu_fallback",
        ranking=[("nlu_fallback", 0.4), ("ask_police", 0.3), ("ask_social_services", 0.2)],
    )
    await ActionDefaultAskAffirmation().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_ask_affirmation_ask_police"]
    buttons = domain["responses"]["utter_ask_affirmation_ask_police"][0]["buttons"]
    assert [b["payload"] for b in buttons] == ["/affirm", "/deny"]


async def test_affirmation_asks_to_rephrase_without_a_topic_guess(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        text="asdf", intent="nlu_fallback", ranking=[("nlu_fallback", 0.4), ("greet", 0.3)]
    )
    await ActionDefaultAskAffirmation().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_ask_rephrase"]


async def test_session_start_leaves_the_privacy_notice_for_the_first_answer(
    make_tracker, dispatcher, domain
):
    """One opening: the notice joins the first answer (tests/unit/test_opening.py)."""
    events = await ActionSessionStart().run(dispatcher, make_tracker(), domain)
    assert response_names(dispatcher) == []
    assert SlotSet("privacy_notice_due", True) in events
    assert events[0] == SessionStarted()
    assert events[-1] == ActionExecuted("action_listen")


async def test_session_start_carries_over_what_the_relative_told(make_tracker, dispatcher, domain):
    tracker = make_tracker(slots={"person_relation": "child", "person_age_group": "minor"})
    events = await ActionSessionStart().run(dispatcher, tracker, domain)
    assert SlotSet("person_relation", "child") in events
    assert SlotSet("person_age_group", "minor") in events


def opened_by_widget(make_tracker, earlier_messages: list[str]):
    """A tracker as Rasa hands it over when a conversation's first message is the widget's
    "/session_start": Rasa has already run the session start once."""
    tracker = make_tracker(text="/session_start", intent="session_start")
    user = tracker.events[-1]
    tracker.events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "action", "name": "action_listen"},
        *({"event": "user", "text": text} for text in earlier_messages),
        user,
    ]
    return tracker


async def test_the_widgets_opening_shows_the_privacy_notice_before_the_relative_writes(
    make_tracker, dispatcher, domain
):
    tracker = opened_by_widget(make_tracker, [])
    tracker.slots["privacy_notice_due"] = True  # left by the session start's first run
    events = await ActionSessionStart().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_privacy_notice_web"]
    assert dispatcher.messages[0]["retention_days"] == 30
    assert events == [SessionStarted(), ActionExecuted("action_listen")]


async def test_a_second_opening_in_the_same_session_shows_no_second_notice(
    make_tracker, dispatcher, domain
):
    tracker = opened_by_widget(make_tracker, [])
    await ActionSessionStart().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == []


async def test_session_start_after_messages_in_the_session_leaves_the_notice_for_the_answer(
    make_tracker, dispatcher, domain
):
    tracker = opened_by_widget(make_tracker, ["hej"])
    events = await ActionSessionStart().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == []
    assert SlotSet("privacy_notice_due", True) in events


async def test_last_fallback_names_the_emergency_number_and_reverts(
    make_tracker, dispatcher, domain
):
    from rasa_sdk.events import UserUtteranceReverted

    from actions.fallback import ActionDefaultFallback

    events = await ActionDefaultFallback().run(
        dispatcher, make_tracker(intent="nlu_fallback"), domain
    )
    assert response_names(dispatcher) == ["utter_default"]
    assert dispatcher.messages[0]["phone_emergency"] == "112"
    assert events == [UserUtteranceReverted()]


def answered_by_risk(tracker):
    tracker.events.append({"event": "bot", "metadata": {"utter_action": "utter_risk_elevated"}})
    return tracker


async def test_no_did_you_mean_after_the_risk_answer(make_tracker, dispatcher, domain):
    tracker = make_tracker(text="det vore skönt att inte vakna", intent="nlu_fallback")
    await ActionDefaultAskAffirmation().run(dispatcher, answered_by_risk(tracker), domain)
    assert response_names(dispatcher) == []


async def test_the_last_fallback_keeps_a_message_the_risk_answer_replied_to(
    make_tracker, dispatcher, domain
):
    from actions.fallback import ActionDefaultFallback

    tracker = make_tracker(text="det vore skönt att inte vakna", intent="nlu_fallback")
    events = await ActionDefaultFallback().run(dispatcher, answered_by_risk(tracker), domain)
    assert response_names(dispatcher) == []
    # Nothing reverted (the message and its signal stay), and the bot listens: without the
    # forced listen Rasa ran this action again until its limit.
    assert not any(e["event"] == "rewind" for e in events)
    assert any(e["event"] == "followup" and e["name"] == "action_listen" for e in events)


async def test_a_clear_topic_guess_is_answered_not_asked_about(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        text="finns det nåt för sånna som han, jobb och sånt",
        intent="nlu_fallback",
        ranking=[("nlu_fallback", 0.4), ("ask_leaving_support", 0.35), ("share_worry", 0.1)],
    )
    events = await ActionDefaultAskAffirmation().run(dispatcher, tracker, domain)
    assert response_names(dispatcher)[0] == "utter_leaving_support"
    # Answered: the next message is a new one, not the rephrasing of this.
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)


async def test_a_follow_up_guess_without_a_question_for_it_is_answered(
    make_tracker, dispatcher, domain
):
    tracker = make_tracker(
        text="men om han börjar prata om att slå nån?",
        intent="nlu_fallback",
        ranking=[("nlu_fallback", 0.4), ("follow_up", 0.3), ("ask_how_to_talk", 0.25)],
        slots={"current_topic": "how_to_talk", "topic_step": "answer"},
    )
    await ActionDefaultAskAffirmation().run(dispatcher, tracker, domain)
    assert response_names(dispatcher)[0] == "utter_how_to_talk_more"


async def test_a_long_unclear_message_is_heard_as_a_story(make_tracker, dispatcher, domain):
    text = (
        "Hej. Jag är mormor till en pojke på 15 som bor hos oss varannan vecka. Igår hörde "
        "jag honom skrika konstiga saker när han spelade"
    )
    tracker = make_tracker(
        text=text,
        intent="nlu_fallback",
        ranking=[("nlu_fallback", 0.4), ("ask_online", 0.2), ("greet", 0.15)],
    )
    await ActionDefaultAskAffirmation().run(dispatcher, tracker, domain)
    assert response_names(dispatcher)[0].startswith("utter_share_worry")
    assert dispatcher.messages[0]["buttons"]
