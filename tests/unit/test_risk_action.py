"""action_validate_slot_mappings: screening, the safety answer, slots and escalation."""

from __future__ import annotations

import asyncio
import re

import pytest

from actions.answers import ActionAnswerOutOfScope, ActionAnswerTopic
from actions.risk import ActionValidateSlotMappings, excerpt
from bot.escalations.escalator import Escalator
from bot.escalations.model import Escalation
from bot.notify import Notifier
from bot.risk import RiskLevel
from bot.risk.screening import RiskScreen
from bot.settings import Settings
from tests.conftest import response_names
from tests.support.fakes import FakeEscalator, FakeUnitOfWork


@pytest.fixture(scope="module")
def screen(detector) -> RiskScreen:
    # Patterns only: these tests are about the action, the model is tested on its own.
    return RiskScreen(detector)


@pytest.fixture
def store() -> FakeUnitOfWork:
    """The escalation store, in memory (tests/support/fakes.py); what the action's signals
    amount to in a real one: tests/integration/test_actions_on_the_store.py."""
    return FakeUnitOfWork()


@pytest.fixture
def escalator(store) -> FakeEscalator:
    return FakeEscalator(store)


CONFIG = Settings(pseudonym_key="unit-test-pseudonym-key")


def nobody_available() -> bool:
    """No handler can join now, as in a store without staff (read from a real one:
    tests/integration/test_actions_on_the_store.py)."""
    return False


@pytest.fixture
def action(screen, escalator) -> ActionValidateSlotMappings:
    return ActionValidateSlotMappings(
        screen=screen, escalator=escalator, config=CONFIG, person_available=nobody_available
    )


def stored(store: FakeUnitOfWork) -> list[Escalation]:
    return store.stored()


def slots_of(events) -> dict:
    return {event["name"]: event["value"] for event in events if event["event"] == "slot"}


async def run(action, dispatcher, tracker, domain):
    events = await action.run(dispatcher, tracker, domain)
    await action.escalator.wait_idle()
    return events


async def test_acute_message_gets_112_first_then_the_offer_of_a_human(
    action, dispatcher, make_tracker, domain, store
):
    tracker = make_tracker("min son ska åka till syrien ikväll", "share_worry")
    events = await run(action, dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_risk_acute", "utter_risk_offer_human"]
    assert slots_of(events) == {
        "risk_in_message": "acute",
        "risk_level": "acute",
        "risk_signals": ["travel"],
        "risk_subjects": ["person"],
        "safety_focus": "acute",
    }
    [escalation] = stored(store)
    assert (escalation.level, escalation.categories, escalation.status, escalation.priority) == (
        "acute",
        "travel",
        "new",
        1,
    )


async def test_suicide_risk_names_the_suicide_line_in_the_first_message(
    action, dispatcher, make_tracker, domain
):
    await run(
        action,
        dispatcher,
        make_tracker("hon har tagit en massa tabletter nu", "share_worry"),
        domain,
    )
    assert response_names(dispatcher)[0] == "utter_risk_acute_suicide"
    first = dispatcher.messages[0]
    assert first["phone_emergency"] == "112" and first["phone_mind_suicide"] == "90101"


async def test_elevated_message_is_acknowledged_explained_and_given_contacts(
    action, dispatcher, make_tracker, domain
):
    events = await run(
        action,
        dispatcher,
        make_tracker("min bror pratar om att resa till syrien", "share_worry"),
        domain,
    )
    names = response_names(dispatcher)
    assert names[:2] == ["utter_risk_elevated", "utter_risk_why_travel"]
    assert "utter_contact_list" in names
    assert slots_of(events)["risk_level"] == "elevated"
    # Two messages (issue 16), so a question in the same message still fits in the turn:
    # the acknowledgement with why, then where to turn with who reads.
    first, second, question = dispatcher.messages
    assert first["parts"] == ["utter_risk_elevated", "utter_risk_why_travel"]
    assert second["parts"][0] == "utter_contact_list" and second["parts"][-1] == "utter_risk_marked"
    assert "114 14" in second["text"] and "markerat samtalet" in second["text"]
    # ...and then one question a counsellor would ask: is the trip booked?
    assert question["response"] == "utter_risk_check_travel"
    assert slots_of(events)["risk_check"] == "travel"


async def test_the_same_elevated_signal_is_not_explained_twice(
    action, dispatcher, make_tracker, domain
):
    tracker = make_tracker(
        "han pratar om syrien igen, han vill resa till syrien",
        "share_worry",
        slots={
            "risk_level": "elevated",
            "risk_signals": ["travel"],
            "risk_checked": ["travel:asked"],
        },
    )
    events = await run(action, dispatcher, tracker, domain)
    assert response_names(dispatcher) == []
    assert slots_of(events)["risk_in_message"] == "elevated"


async def test_a_new_category_is_explained(action, dispatcher, make_tracker, domain):
    tracker = make_tracker(
        "han har skaffat en pistol",
        "share_worry",
        slots={"risk_level": "elevated", "risk_signals": ["travel"]},
    )
    events = await run(action, dispatcher, tracker, domain)
    assert "utter_risk_why_weapons" in response_names(dispatcher)
    assert slots_of(events)["risk_signals"] == ["travel", "weapons"]


async def test_acute_is_answered_every_time_and_the_level_never_drops(
    action, dispatcher, make_tracker, domain
):
    tracker = make_tracker(
        "han har skaffat en pistol",
        "share_worry",
        slots={"risk_level": "acute", "risk_signals": ["attack"]},
    )
    events = await run(action, dispatcher, tracker, domain)
    assert slots_of(events)["risk_level"] == "acute"
    tracker = make_tracker(
        "han står utanför med kniven i handen och hotar att döda mig",
        "share_worry",
        slots={"risk_level": "acute"},
    )
    dispatcher.messages.clear()
    await run(action, dispatcher, tracker, domain)
    assert response_names(dispatcher)[0] == "utter_risk_acute_threat_self"


@pytest.mark.parametrize("text", ["vad gör socialtjänsten", "/ask_police", "", "😀😀", "\x00\x1b"])
async def test_messages_without_signals_only_reset_the_message_level(
    action, dispatcher, make_tracker, domain, store, text
):
    events = await run(action, dispatcher, make_tracker(text, "ask_social_services"), domain)
    assert events == [
        {"event": "slot", "timestamp": None, "name": "risk_in_message", "value": "none"}
    ]
    assert dispatcher.messages == [] and stored(store) == []


async def test_one_escalation_per_conversation_upgraded_not_duplicated(
    action, dispatcher, make_tracker, domain, store
):
    await run(
        action,
        dispatcher,
        make_tracker("han pratar om att resa till syrien", "share_worry"),
        domain,
    )
    await run(
        action,
        dispatcher,
        make_tracker("han pratar om att resa till syrien", "share_worry"),
        domain,
    )
    [escalation] = stored(store)
    assert escalation.level == "elevated"
    await run(
        action,
        dispatcher,
        make_tracker("nu har han köpt biljett, han reser till syrien imorgon", "share_worry"),
        domain,
    )
    [escalation] = stored(store)
    assert escalation.level == "acute" and escalation.priority == 1


async def test_stored_escalation_holds_no_identifier_and_a_redacted_excerpt(
    action, dispatcher, make_tracker, domain, store
):
    text = "Min son Ahmed, 0701234567, ska åka till Syrien imorgon"
    await run(action, dispatcher, make_tracker(text, "share_worry"), domain)
    [escalation] = stored(store)
    assert (
        "test-conversation" not in escalation.conversation_ref
        and len(escalation.conversation_ref) == 32
    )
    assert "Ahmed" not in escalation.excerpt and "0701234567" not in escalation.excerpt
    assert "Syrien" in escalation.excerpt


async def test_a_missing_pseudonym_key_never_blocks_the_safety_answer(
    screen, escalator, dispatcher, make_tracker, domain, caplog
):
    action = ActionValidateSlotMappings(
        screen=screen,
        escalator=escalator,
        config=Settings(pseudonym_key=""),
        person_available=nobody_available,
    )
    await run(
        action, dispatcher, make_tracker("han ska åka till syrien ikväll", "share_worry"), domain
    )
    assert response_names(dispatcher)[0] == "utter_risk_acute"
    assert "Escalation could not be started: ValueError" in caplog.text


async def test_the_safety_answer_does_not_wait_for_the_database(
    screen, dispatcher, make_tracker, domain, tmp_path
):
    escalator = Escalator(
        f"sqlite:///{tmp_path / 'x.db'}", Notifier(Settings()), tmp_path / "retry.jsonl"
    )
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow_escalate(signal):
        started.set()
        await release.wait()

    escalator.escalate = slow_escalate
    action = ActionValidateSlotMappings(
        screen=screen, escalator=escalator, config=CONFIG, person_available=nobody_available
    )
    await action.run(
        dispatcher, make_tracker("han ska åka till syrien ikväll", "share_worry"), domain
    )
    assert (
        response_names(dispatcher)[0] == "utter_risk_acute"
    )  # returned while storing is still pending
    await asyncio.wait_for(started.wait(), 1)
    release.set()
    await escalator.wait_idle()


def answered_by_risk(tracker, response="utter_risk_acute"):
    tracker.events.append({"event": "bot", "metadata": {"utter_action": response}})
    return tracker


async def test_a_story_answered_by_the_risk_screening_gets_no_second_acknowledgement(
    dispatcher, make_tracker, domain
):
    async def classify(text):
        return "share_worry", 0.9

    tracker = make_tracker(
        "min son ska åka till syrien ikväll", "share_worry", slots={"risk_in_message": "acute"}
    )
    await ActionAnswerTopic(classify=classify).run(dispatcher, answered_by_risk(tracker), domain)
    assert not any(name.startswith("utter_share_worry") for name in response_names(dispatcher))


async def test_without_a_risk_answer_the_story_is_acknowledged(dispatcher, make_tracker, domain):
    async def classify(text):
        return "share_worry", 0.9

    tracker = make_tracker(
        "han pratar om det igen", "share_worry", slots={"risk_in_message": "elevated"}
    )
    await ActionAnswerTopic(classify=classify).run(dispatcher, tracker, domain)
    assert "utter_share_worry" in response_names(dispatcher)


async def test_out_of_scope_gets_the_polite_answer_and_the_menu(dispatcher, make_tracker, domain):
    tracker = make_tracker(
        "vad blir det för väder", "out_of_scope", slots={"risk_in_message": "none"}
    )
    await ActionAnswerOutOfScope().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_out_of_scope", "utter_main_menu"]


async def test_a_risk_message_is_never_called_out_of_scope(dispatcher, make_tracker, domain):
    tracker = make_tracker(
        "han ska iväg ikväll", "out_of_scope", slots={"risk_in_message": "acute"}
    )
    await ActionAnswerOutOfScope().run(dispatcher, answered_by_risk(tracker), domain)
    assert response_names(dispatcher) == []


async def test_a_repeated_signal_labelled_out_of_scope_gets_the_acknowledgement(
    dispatcher, make_tracker, domain
):
    tracker = make_tracker(
        "han snackar om det igen", "out_of_scope", slots={"risk_in_message": "elevated"}
    )
    await ActionAnswerOutOfScope().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_share_worry"]


def test_excerpt_is_the_redacted_words_around_the_signal(screen, redactor):
    text = (
        "Hej. Jag heter Lena och bor på Storgatan 5. " * 5
        + "Min son Omar ska åka till Syrien imorgon."
    )
    result = excerpt(text, screen.screen(text), redactor)
    assert "Syrien" in result and "Omar" not in result and "Lena" not in result
    assert len(result) < len(text)


def test_levels_are_ordered():
    assert RiskLevel.highest("none", "acute", "elevated") is RiskLevel.ACUTE
    assert RiskLevel.highest() is RiskLevel.NONE


async def test_with_a_person_in_the_conversation_acute_gets_only_112(
    action, dispatcher, make_tracker, domain, store
):
    tracker = make_tracker("min son ska åka till syrien ikväll", "share_worry", {"handoff": True})
    events = await run(action, dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_risk_acute"]
    assert slots_of(events)["risk_level"] == "acute"
    assert stored(store)  # still escalated: the handler sees it in the dashboard


async def test_with_a_person_in_the_conversation_elevated_gets_no_bot_answer(
    action, dispatcher, make_tracker, domain, store
):
    tracker = make_tracker(
        "min bror pratar om att resa till syrien", "share_worry", {"handoff": True}
    )
    events = await run(action, dispatcher, tracker, domain)
    assert response_names(dispatcher) == []
    assert slots_of(events)["risk_level"] == "elevated"
    assert stored(store)


# -- issue 14: the safety check, the conversation's context, who is at risk ----------------


class Conversation:
    """Plays a relative's messages through the action, keeping the slots and events it set,
    as Rasa would between turns."""

    def __init__(self, action, domain) -> None:
        self.action = action
        self.domain = domain
        self.slots: dict = {"risk_level": "none", "risk_signals": []}
        self.events: list[dict] = []

    async def say(self, text: str) -> list[str]:
        from rasa_sdk import Tracker
        from rasa_sdk.executor import CollectingDispatcher

        message = {"text": text, "intent": {"name": "share_worry"}, "entities": []}
        self.events.append({"event": "user", "text": text, "parse_data": message})
        tracker = Tracker(
            "test-conversation",
            dict(self.slots),
            message,
            list(self.events),
            False,
            None,
            {},
            "action_listen",
        )
        dispatcher = CollectingDispatcher()
        events = await run(self.action, dispatcher, tracker, self.domain)
        self.events += events
        self.slots.update(slots_of(events))
        return response_names(dispatcher)


async def test_unsure_words_get_one_direct_question_and_yes_is_acute(action, domain, store):
    chat = Conversation(action, domain)
    assert await chat.say("jag orkar inte mer") == ["utter_risk_check_suicide_self"]
    assert chat.slots["risk_check"] == "suicide" and stored(store) == []
    answer = await chat.say("ja")
    # The crisis line while they wait for a person, spoken to the relative.
    assert answer == ["utter_risk_acute_suicide_self", "utter_risk_offer_human_self"]
    assert chat.slots["risk_check"] is None and chat.slots["risk_check_answered"] is True
    assert chat.slots["risk_confirmed"] is True and chat.slots["risk_subjects"] == ["self"]
    [escalation] = stored(store)
    assert (escalation.level, escalation.subjects, escalation.confirmed) == (
        "acute",
        "self",
        True,
    )


async def test_no_to_the_question_records_nothing(action, domain, store):
    chat = Conversation(action, domain)
    await chat.say("jag orkar inte mer")
    # Asked about their own thoughts of dying: warmth and where to talk, not "let us go on".
    assert await chat.say("nej") == ["utter_risk_check_no_suicide_self"]
    assert chat.slots["risk_level"] == "none" and stored(store) == []
    assert chat.slots.get("safety_focus") is None


# -- issue 16: what stays in view after a serious signal ---------------------------------------


async def test_an_acute_signal_keeps_112_in_view(action, domain):
    chat = Conversation(action, domain)
    await chat.say("han har köpt biljett till Syrien och åker imorgon")
    assert chat.slots["safety_focus"] == "acute"
    await chat.say("vad gör socialtjänsten")  # no signal of its own: the focus stays
    assert chat.slots["safety_focus"] == "acute"


async def test_the_relatives_own_thoughts_outrank_a_later_acute_signal(action, domain):
    chat = Conversation(action, domain)
    await chat.say("ibland vill jag bara dö")
    assert chat.slots["safety_focus"] == "suicide_self"
    await chat.say("han har köpt biljett till Syrien och åker imorgon")
    assert chat.slots["safety_focus"] == "suicide_self"


async def test_an_elevated_signal_of_another_kind_sets_no_focus(action, domain):
    chat = Conversation(action, domain)
    await chat.say("han pratar mycket om att åka till Syrien")
    assert chat.slots["risk_level"] == "elevated"
    assert chat.slots.get("safety_focus") is None


@pytest.mark.parametrize("reply", ["vet inte", "Inte nu"])
async def test_dont_know_and_not_now_are_elevated(action, domain, store, reply):
    chat = Conversation(action, domain)
    await chat.say("jag orkar inte mer")
    answer = await chat.say(reply)
    assert answer[:2] == ["utter_risk_elevated_self", "utter_risk_why_suicide_self"]
    [escalation] = stored(store)
    assert escalation.level == "elevated" and escalation.confirmed is (reply == "Inte nu")


async def test_the_question_is_asked_once_per_category(action, domain):
    chat = Conversation(action, domain)
    await chat.say("jag orkar inte mer")
    await chat.say("hur gör man en orosanmälan?")  # no answer: the question closes
    assert chat.slots["risk_check"] is None
    assert await chat.say("jag orkar inte mer") == []


async def test_a_question_never_replaces_the_112_answer(action, domain):
    chat = Conversation(action, domain)
    names = await chat.say("jag orkar inte mer, ikväll tar jag alla tabletter")
    assert names[0] == "utter_risk_acute_suicide_self"
    assert not any(name.startswith("utter_risk_check") for name in names)


async def test_signals_add_up_over_the_conversation(action, domain):
    chat = Conversation(action, domain)
    await chat.say("min son pratar om att åka till syrien")
    assert chat.slots["risk_level"] == "elevated"
    names = await chat.say("nu har han köpt en biljett")
    assert names[0] == "utter_risk_acute" and chat.slots["risk_level"] == "acute"


async def test_a_later_time_that_is_not_the_danger_is_not_acute(action, domain):
    chat = Conversation(action, domain)
    await chat.say("min son pratar om att åka till syrien")
    assert await chat.say("imorgon ska jag ringa soc") == []
    assert chat.slots["risk_level"] == "elevated"


async def test_a_bare_time_after_a_signal_makes_the_bot_ask(action, domain):
    chat = Conversation(action, domain)
    assert (await chat.say("min son pratar om att åka till syrien"))[-1] == (
        "utter_risk_check_travel"
    )
    # Not an answer to "har hen bokat en resa?": the question closes, and the time is asked
    # about on its own.
    assert await chat.say("han sa något om fredag") == ["utter_risk_check_danger"]
    assert (await chat.say("ja"))[0] == "utter_risk_acute"


async def test_a_question_with_a_time_after_a_signal_is_not_met_with_a_safety_question(
    action, domain
):
    chat = Conversation(action, domain)
    await chat.say("min son pratar om att åka till syrien")
    await chat.say("nej")
    # "nu" is a time, but the relative asks the bot something: the answer comes, not
    # "kan det hända något farligt nu?".
    assert await chat.say("ok jag har ringt soc. vad händer med honom nu?") == []
    assert chat.slots.get("risk_check") is None


async def test_yes_to_the_counsellors_question_is_acute(action, domain):
    chat = Conversation(action, domain)
    await chat.say("min bror pratar om att resa till syrien och ansluta sig")
    assert (await chat.say("ja"))[0] == "utter_risk_acute"


async def test_the_relative_is_asked_whether_they_are_safe_at_home(action, domain):
    chat = Conversation(action, domain)
    said = await chat.say("min man hotar att skada mig om jag går till polisen")
    assert said[-1] == "utter_risk_check_threat_self"
    assert (await chat.say("nej"))[0] == "utter_risk_check_no"


async def test_the_relatives_own_thoughts_are_answered_to_them_with_the_suicide_line_first(
    action, dispatcher, make_tracker, domain
):
    await run(action, dispatcher, make_tracker("ibland vill jag bara dö", "share_worry"), domain)
    names = response_names(dispatcher)
    assert names[:2] == ["utter_risk_elevated_self", "utter_risk_why_suicide_self"]
    # Who reads, and that staff may call 112, comes after Självmordslinjen, not before.
    assert names[-1] == "utter_risk_marked_self"
    contacts = next(m for m in dispatcher.messages if m["response"] == "utter_contact_list")
    lines = contacts["contact_lines"].splitlines()
    assert "90101" in lines[0] and not any("114 14" in line for line in lines)


async def test_threats_against_the_relative_list_kvinnofridslinjen(
    action, dispatcher, make_tracker, domain
):
    await run(
        action, dispatcher, make_tracker("min bror hotar att slå ihjäl mig", "share_worry"), domain
    )
    names = response_names(dispatcher)
    assert "utter_risk_why_threat_self" in names
    contacts = " ".join(
        m["contact_lines"] for m in dispatcher.messages if m["response"] == "utter_contact_list"
    )
    assert "020-50 50 50" in contacts and "112" in contacts


async def test_a_model_signal_on_unsure_words_is_escalated_quietly_and_asked_about(
    detector, escalator, domain, store
):
    from bot.risk.classifier import Prediction
    from bot.risk.levels import RiskLevel as Level

    class SureModel:
        def predict(self, text):
            return Prediction(
                Level.ELEVATED, ("suicide",), {"none": 0.1, "elevated": 0.85, "acute": 0.05}
            )

    screen = RiskScreen(detector, SureModel())
    action = ActionValidateSlotMappings(
        screen=screen, escalator=escalator, config=CONFIG, person_available=nobody_available
    )
    chat = Conversation(action, domain)
    assert await chat.say("jag orkar inte mer") == ["utter_risk_check_suicide_self"]
    assert chat.slots["risk_level"] == "elevated" and len(stored(store)) == 1
    answer = await chat.say("vet inte")
    assert answer[:2] == ["utter_risk_elevated_self", "utter_risk_why_suicide_self"]


async def test_a_plan_that_refers_back_to_pills_gets_the_suicide_line(action, domain):
    chat = Conversation(action, domain)
    await chat.say("jag har lagt fram alla sömntabletter på bordet")
    names = await chat.say("ikväll när min man jobbar natt ska jag ta dem")
    assert names[0] == "utter_risk_acute_suicide_self"


async def test_the_reply_to_the_question_is_about_what_was_asked(detector, escalator, domain):
    from bot.risk.classifier import Prediction
    from bot.risk.levels import RiskLevel as Level

    class NoisyModel:  # takes any short text for a suicide signal
        def predict(self, text):
            probabilities = {"none": 0.1, "elevated": 0.85, "acute": 0.05}
            return Prediction(Level.ELEVATED, ("suicide",), probabilities)

    screen = RiskScreen(detector, NoisyModel())
    action = ActionValidateSlotMappings(
        screen=screen, escalator=escalator, config=CONFIG, person_available=nobody_available
    )
    chat = Conversation(action, domain)
    chat.slots.update({"risk_level": "elevated", "risk_signals": ["travel"]})
    chat.slots.update({"risk_check": "travel", "risk_check_subject": "person"})
    answer = await chat.say("vet inte")
    assert answer[:2] == ["utter_risk_elevated", "utter_risk_why_travel"]
    assert chat.slots["risk_signals"] == ["travel"]


@pytest.mark.parametrize(
    ("categories", "subjects", "topics"),
    [
        (("suicide",), ("person",), ["risk_suicide"]),
        (("suicide",), ("self",), ["risk_suicide_self"]),
        (("threat",), ("self",), ["risk_threat_self"]),
        (("threat",), ("third_party",), ["risk"]),
        (("child_at_risk",), ("child",), ["risk_child"]),
        (("travel", "weapons"), ("person",), ["risk"]),
        (("suicide", "travel"), ("person",), ["risk_suicide", "risk"]),
    ],
)
def test_each_kind_of_risk_gets_its_own_contact_list(categories, subjects, topics):
    from actions.risk import contact_topics
    from bot.risk.detector import Screening
    from bot.risk.levels import RiskLevel as Level

    screening = Screening(level=Level.ELEVATED, categories=categories, subjects=subjects)
    assert contact_topics(screening) == topics


async def test_someone_elses_suicide_risk_lists_the_suicide_line_first_and_no_switchboard(
    action, dispatcher, make_tracker, domain
):
    await run(
        action,
        dispatcher,
        make_tracker("min son har sagt att han vill ta livet av sig", "share_worry"),
        domain,
    )
    names = response_names(dispatcher)
    assert "utter_risk_why_suicide" in names
    contacts = next(m for m in dispatcher.messages if m["response"] == "utter_contact_list")
    lines = contacts["contact_lines"].splitlines()
    assert "90101" in lines[0] and not any("114 14" in line for line in lines)
    assert "utter_municipality_switchboard" not in names


@pytest.mark.parametrize("available", [True, False])
async def test_what_is_promised_about_a_person_follows_staff_availability(
    screen, escalator, dispatcher, make_tracker, domain, available
):
    """Issue 16: a person is offered "now" only while a handler is available."""
    action = ActionValidateSlotMappings(
        screen=screen, escalator=escalator, config=CONFIG, person_available=lambda: available
    )
    await run(
        action,
        dispatcher,
        make_tracker("min son ska åka till syrien ikväll", "share_worry"),
        domain,
    )
    suffix = "_now" if available else ""
    assert response_names(dispatcher) == ["utter_risk_acute", f"utter_risk_offer_human{suffix}"]
    dispatcher.messages.clear()
    await run(
        action,
        dispatcher,
        make_tracker("min bror pratar om att resa till syrien", "share_worry"),
        domain,
    )
    assert f"utter_risk_marked{suffix}" in response_names(dispatcher)
    contacts = next(m for m in dispatcher.messages if m["response"] == "utter_contact_list")
    person = [b for b in contacts.get("buttons") or [] if b["payload"] == "/request_human"]
    assert bool(person) == available


async def test_on_the_first_message_the_question_joins_the_contacts_to_stay_within_three(
    action, dispatcher, domain
):
    """After the privacy notice, the elevated answer (two messages) and the counsellor's
    question would make four: the question goes into the contacts message."""
    from rasa_sdk import Tracker

    text = "min bror pratar om att resa till syrien"
    message = {"text": text, "intent": {"name": "share_worry", "confidence": 0.9}, "entities": []}
    tracker = Tracker(
        sender_id="sms-abc",
        slots={"person_relation": None, "person_age_group": None},
        latest_message=message,
        # As Rasa logs a new conversation: the session start's message comes before the
        # session_started event it returns.
        events=[
            {"event": "action", "name": "action_session_start"},
            {
                "event": "bot",
                "text": "Innan vi börjar",
                "metadata": {"utter_action": "utter_privacy_notice_sms"},
            },
            {"event": "session_started"},
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": text, "parse_data": message},
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    await run(action, dispatcher, tracker, domain)
    assert len(dispatcher.messages) == 2
    last = dispatcher.messages[-1]
    assert last["parts"][-1] == "utter_risk_check_travel"
    assert "har hen bokat en resa" in last["text"]
    assert [b["title"] for b in last["buttons"]][-3:] == ["Ja", "Nej", "Vet inte"]


async def test_in_sms_the_opening_notice_comes_after_112_never_before(
    action, dispatcher, make_tracker, domain
):
    tracker = make_tracker(
        "min son ska åka till syrien ikväll",
        "share_worry",
        slots={"privacy_notice_due": True},
        sender_id="sms-3f2a9c0d1e",
    )
    await run(action, dispatcher, tracker, domain)
    assert dispatcher.messages[0]["parts"] == ["utter_risk_acute", "utter_privacy_notice_sms"]
    assert dispatcher.messages[0]["text"].startswith("Ring 112 nu")


async def test_an_elevated_answer_to_a_story_ends_with_a_choice_of_next_steps(
    action, dispatcher, make_tracker, domain
):
    tracker = make_tracker("gänget rekryterar min lillebror som är 14", "share_worry")
    await run(action, dispatcher, tracker, domain)
    assert response_names(dispatcher)[0] == "utter_risk_elevated"
    payloads = [button["payload"] for button in dispatcher.messages[-1].get("buttons") or []]
    assert '/follow_up{"topic":"share_worry"}' in payloads


async def test_an_elevated_answer_to_a_question_leaves_the_choices_to_the_answer(
    action, dispatcher, make_tracker, domain
):
    tracker = make_tracker("han pratar om att åka till Syrien, vad gör polisen?", "ask_police")
    await run(action, dispatcher, tracker, domain)
    payloads = [
        button["payload"]
        for message in dispatcher.messages
        for button in message.get("buttons") or []
    ]
    assert '/follow_up{"topic":"share_worry"}' not in payloads


async def test_a_reply_in_words_to_the_suicide_question_is_answered(action, domain):
    """Blind round 2: "det vore skönt att bara inte vakna" after "tänker du på att ta ditt
    liv?" is neither ja nor nej; it says it in words and must get the answer, not silence,
    also when the trained model had already signalled it quietly with the question."""
    chat = Conversation(action, domain)
    chat.slots.update(
        {
            "risk_level": "elevated",
            "risk_signals": ["suicide"],
            "risk_subjects": ["self"],
            "risk_check": "suicide",
            "risk_check_subject": "self",
            "risk_checked": ["suicide"],
        }
    )
    said = await chat.say("ärligt talat tänker jag ibland att det vore skönt att bara inte vakna")
    assert said[:2] == ["utter_risk_elevated_self", "utter_risk_why_suicide_self"]


async def test_the_same_signal_after_a_counsellors_question_is_not_answered_again(action, domain):
    chat = Conversation(action, domain)
    chat.slots.update(
        {
            "risk_level": "elevated",
            "risk_signals": ["travel"],
            "risk_subjects": ["person"],
            "risk_check": "travel",
            "risk_check_subject": "person",
            "risk_checked": ["travel:asked"],
        }
    )
    said = await chat.say("min bror pratar mer och mer om att resa till syrien")
    assert "utter_risk_elevated" not in said


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("hennes pappa slog henne igår, hon har blåmärken", "utter_situation_child_violence"),
        ("min systerdotter ska giftas bort i hemlandet i sommar", "utter_situation_travel_ban"),
        ("de hotar oss, måste vi flytta? de vet var vi bor", "utter_situation_protected_housing"),
    ],
)
async def test_a_situation_with_its_own_route_replaces_the_general_contact_list(
    action, dispatcher, make_tracker, domain, text, route
):
    await run(action, dispatcher, make_tracker(text, "share_worry"), domain)
    second = dispatcher.messages[1]
    assert second["parts"][0] == route and second["parts"][-1].startswith("utter_risk_marked")
    assert "utter_contact_list" not in response_names(dispatcher)
    # The topic answer that follows does not say it again.
    dispatcher.messages.clear()
    tracker = make_tracker(text, "ask_social_services", bot_this_turn=(route,))
    await ActionAnswerTopic(lambda clause: None).run(dispatcher, tracker, domain)
    assert route not in response_names(dispatcher)


class _ModelUnsureOfSuicide(RiskScreen):
    """The trained model's doubt on a first message (blind round 2: a mother's worry about
    her son read as her own thoughts of dying): elevated, and the question asked."""

    def screen(self, text: str):
        from bot.risk.detector import Screening

        if text.startswith("min son"):
            return Screening(
                level=RiskLevel.ELEVATED,
                categories=("suicide",),
                subjects=("self",),
                check=("suicide", "self"),
                by_model=True,
            )
        return super().screen(text)


async def test_an_unsure_signal_asked_about_sets_no_focus_until_confirmed(
    screen, escalator, domain
):
    unsure = _ModelUnsureOfSuicide(screen.detector)
    action = ActionValidateSlotMappings(
        screen=unsure, escalator=escalator, config=CONFIG, person_available=nobody_available
    )
    chat = Conversation(action, domain)
    assert await chat.say("min son har förändrats och jag skäms") == [
        "utter_risk_check_suicide_self"
    ]
    assert chat.slots.get("safety_focus") is None
    await chat.say("nej inget sånt")
    assert chat.slots.get("safety_focus") is None


async def test_the_risk_answer_is_not_repeated_for_a_message_uttered_again(
    action, dispatcher, make_tracker, domain
):
    text = "min son ska åka till syrien ikväll"
    tracker = make_tracker(text, "nlu_fallback")
    message = tracker.events[-1]
    tracker.events = [
        {**message},
        {"event": "bot", "metadata": {"utter_action": "utter_risk_acute"}},
        {"event": "bot", "metadata": {"utter_action": "utter_risk_offer_human"}},
        {"event": "rewind"},
        message,
    ]
    events = await run(action, dispatcher, tracker, domain)
    assert response_names(dispatcher) == []
    # Rasa reverted the first pass's slots: they are set again.
    assert slots_of(events)["risk_level"] == "acute"


class _Doubt(RiskScreen):
    """A doubt with no signal of its own, as the model's hunch or a bare time gives."""

    def __init__(self, detector, category: str) -> None:
        super().__init__(detector)
        self.category = category

    def screen(self, text: str):
        from bot.risk.detector import Screening

        return Screening(level=RiskLevel.NONE, categories=(), check=(self.category, "person"))


@pytest.mark.parametrize(
    ("category", "text", "asked"),
    [
        ("travel", "dit? han vill inte ha med polisen att göra", False),
        ("travel", "vad händer med henne nu", False),
        ("travel", "han har varit borta hela dagen", True),
        ("suicide", "vad ska jag göra nu?", True),
    ],
)
async def test_a_doubt_beside_a_question_lets_the_question_be_answered(
    screen, escalator, domain, category, text, asked
):
    doubt = _Doubt(screen.detector, category)
    action = ActionValidateSlotMappings(
        screen=doubt, escalator=escalator, config=CONFIG, person_available=nobody_available
    )
    chat = Conversation(action, domain)
    said = await chat.say(text)
    assert bool(said) is asked, said


def test_no_part_of_an_identifier_survives_at_the_edges_of_an_excerpt(screen, redactor):
    """Issue 17: the window was cut before redaction, so the tails of names and numbers
    that straddle its edges were stored unmasked."""
    text = (
        "Min kompis heter Peter Qendrim Berisha och han ringer från 070-123 45 67 ibland. "
        "Min son ska åka till Syrien imorgon."
    )
    screening = screen.screen(text)
    [match] = screening.matches[:1]
    for context_chars in range(1, match.start + 1):
        result = excerpt(text, screening, redactor, context_chars)
        # "Peter" cut to "eter" (not the "eter" of "heter"), and the other tails.
        assert not re.search(r"(?<!h)eter\b", result), (context_chars, result)
        for tail in ("endrim", "erisha", "123", "45 67", " 67"):
            assert tail not in result, (context_chars, result)
