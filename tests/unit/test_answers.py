"""ActionAnswerTopic: the right response for the topic, tailored by age group."""

from __future__ import annotations

import pytest

from actions.answers import ActionAnswerTopic, response_for
from bot.topics import TOPIC_INTENTS, topic_for_intent
from tests.conftest import response_names


async def never_called(clause: str):
    raise AssertionError("a one-question message needs no clause classification")


async def run_answer(make_tracker, dispatcher, domain, **tracker_args):
    action = ActionAnswerTopic(never_called)
    await action.run(dispatcher, make_tracker(**tracker_args), domain)
    return response_names(dispatcher)


@pytest.mark.parametrize("intent", TOPIC_INTENTS)
async def test_every_topic_intent_has_an_answer(make_tracker, dispatcher, domain, intent):
    names = await run_answer(make_tracker, dispatcher, domain, text="fråga", intent=intent)
    topic = topic_for_intent(intent)
    expected = "utter_anonymity_web" if topic == "anonymity" else f"utter_{topic}"
    assert names[0] == expected
    assert names[0] in domain["responses"]


@pytest.mark.parametrize(
    ("age_group", "expected"),
    [
        ("minor", "utter_social_services_minor"),
        ("adult", "utter_social_services_adult"),
        (None, "utter_social_services"),
    ],
)
async def test_social_services_answer_depends_on_age_group(
    make_tracker, dispatcher, domain, age_group, expected
):
    names = await run_answer(
        make_tracker,
        dispatcher,
        domain,
        text="vad gör soc",
        intent="ask_social_services",
        slots={"person_age_group": age_group},
    )
    assert names == [expected]


@pytest.mark.parametrize("age_group", ["minor", "adult"])
async def test_child_custody_answer_depends_on_age_group(
    make_tracker, dispatcher, domain, age_group
):
    names = await run_answer(
        make_tracker,
        dispatcher,
        domain,
        text="kan de ta honom",
        intent="ask_child_custody",
        slots={"person_age_group": age_group},
    )
    assert names == [f"utter_child_custody_{age_group}"]


async def test_topic_without_age_variants_ignores_age_group(make_tracker, dispatcher, domain):
    names = await run_answer(
        make_tracker,
        dispatcher,
        domain,
        text="vad gör säpo",
        intent="ask_police",
        slots={"person_age_group": "minor"},
    )
    assert names == ["utter_police"]


def test_response_for_falls_back_when_variant_missing(domain):
    assert response_for("police", "adult", domain) == "utter_police"
    assert response_for("how_to_report", "adult", domain) == "utter_how_to_report_adult"


async def test_contacts_are_listed_after_the_topic_answer(make_tracker, dispatcher, domain):
    names = await run_answer(
        make_tracker, dispatcher, domain, text="nummer?", intent="ask_contacts"
    )
    assert names[:2] == ["utter_contacts", "utter_contact_list"]
    listing = dispatcher.messages[1]["contact_lines"]
    assert "112" in listing and "114 14" in listing and "90101" in listing
    # The municipality has not filled in its own entries in the shipped file.
    assert names[2] == "utter_municipality_switchboard"


async def test_answers_carry_the_configured_phone_numbers(make_tracker, dispatcher, domain):
    await run_answer(make_tracker, dispatcher, domain, text="polisen", intent="ask_police")
    message = dispatcher.messages[0]
    assert message["phone_emergency"] == "112"
    assert message["phone_police"] == "114 14"


def clause_classifier(answers: dict[str, tuple[str, float]]):
    """Stands in for Rasa's /model/parse: clause keyword -> (intent, confidence)."""

    async def classify(clause: str):
        for keyword, result in answers.items():
            if keyword in clause:
                return result
        return "nlu_fallback", 0.3

    return classify


TWO_QUESTIONS = "vad händer om soc kopplas in? och får han veta att det var jag som ringde?"


async def test_two_questions_in_one_message_get_two_answers(make_tracker, dispatcher, domain):
    classify = clause_classifier(
        {"soc": ("ask_social_services", 0.97), "veta": ("ask_confidentiality", 0.92)}
    )
    tracker = make_tracker(text=TWO_QUESTIONS, intent="ask_confidentiality")
    await ActionAnswerTopic(classify).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_social_services", "utter_confidentiality"]


async def test_unsure_clause_is_not_answered(make_tracker, dispatcher, domain):
    classify = clause_classifier(
        {"soc": ("ask_social_services", 0.97), "veta": ("ask_confidentiality", 0.4)}
    )
    tracker = make_tracker(text=TWO_QUESTIONS, intent="ask_social_services")
    await ActionAnswerTopic(classify).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_social_services"]


async def test_story_and_question_answer_the_question(make_tracker, dispatcher, domain):
    classify = clause_classifier(
        {"nazister": ("share_worry", 0.95), "soc": ("ask_social_services", 0.9)}
    )
    tracker = make_tracker(
        text="min son umgås med nazister. vad händer om jag ringer soc?", intent="share_worry"
    )
    await ActionAnswerTopic(classify).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_social_services"]


async def test_failed_clause_classification_still_answers_the_message(
    make_tracker, dispatcher, domain
):
    async def unreachable(clause: str):
        return None, 0.0

    tracker = make_tracker(text=TWO_QUESTIONS, intent="ask_confidentiality")
    await ActionAnswerTopic(unreachable).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_confidentiality"]


async def test_non_topic_intent_sends_nothing(make_tracker, dispatcher, domain):
    assert await run_answer(make_tracker, dispatcher, domain, text="hej", intent="greet") == []


async def test_age_reply_after_general_answer_gets_the_tailored_answer(dispatcher, domain):
    from rasa_sdk import Tracker

    message = {"text": "han är 16", "intent": {"name": "share_worry", "confidence": 0.9}}
    tracker = Tracker(
        sender_id="t",
        slots={
            "person_age_group": None,
            "person_relation": None,
            "current_topic": "social_services",
        },
        latest_message=message,
        events=[
            {"event": "user", "text": "vad gör soc"},
            {"event": "bot", "text": "...", "metadata": {"utter_action": "utter_social_services"}},
            {"event": "user", "text": "han är 16", "parse_data": message},
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_social_services_minor"]


async def test_story_without_pending_question_is_acknowledged(make_tracker, dispatcher, domain):
    names = await run_answer(
        make_tracker,
        dispatcher,
        domain,
        text="min son är 16",
        intent="share_worry",
        slots={"person_age_group": "minor"},
    )
    assert names == ["utter_share_worry_child"]


def profile_events(events):
    return [event for event in events if event["name"].startswith("person_")]


def conversation(*user_texts: str, latest_intent: str, slots=None):
    from rasa_sdk import Tracker

    message = {"text": user_texts[-1], "intent": {"name": latest_intent, "confidence": 0.9}}
    return Tracker(
        sender_id="t",
        slots={"person_age_group": None, "person_relation": None, **(slots or {})},
        latest_message=message,
        events=[{"event": "user", "text": text} for text in user_texts],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def test_what_was_told_earlier_tailors_a_later_answer(dispatcher, domain):
    from rasa_sdk.events import SlotSet

    tracker = conversation(
        "hej, min dotter är 22 och har konverterat",
        "vad gör soc",
        latest_intent="ask_social_services",
    )
    events = await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_social_services_adult"]
    assert profile_events(events) == [
        SlotSet("person_relation", "child"),
        SlotSet("person_age_group", "adult"),
    ]


async def test_newest_statement_wins(dispatcher, domain):
    tracker = conversation(
        "min son är 17", "förlåt, han fyllde 18 i somras", "vad gör soc",
        latest_intent="ask_social_services",
    )  # fmt: skip
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_social_services_young_adult"]


async def test_slots_from_an_earlier_session_are_used(dispatcher, domain):
    tracker = conversation("vad gör soc", latest_intent="ask_social_services",
                           slots={"person_age_group": "minor"})  # fmt: skip
    events = await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_social_services_minor"]
    assert profile_events(events) == []


async def test_the_anonymity_answer_gives_the_configured_retention(
    configure, dispatcher, make_tracker, domain
):
    configure(conversation_retention_days=7, escalation_retention_days=90)
    tracker = make_tracker("vad sparas om mig och hur länge", "ask_anonymity")
    await ActionAnswerTopic().run(dispatcher, tracker, domain)
    # One message: what is stored on this channel, then who reads.
    [message] = dispatcher.messages
    assert message["parts"] == ["utter_anonymity_web", "utter_who_reads"]
    text = message["text"]
    assert "raderas 7 dagar efter ditt senaste meddelande" in text
    assert "radera mitt samtal" in text
    assert "sparas i 90 dagar efter att ärendet har avslutats" in text
    assert text.index("radera mitt samtal") < text.index("Vem läser?")


@pytest.mark.parametrize(
    ("sender_id", "channel"),
    [
        ("3f2a9c0d1e", "web"),
        ("sms-3f2a9c0d1e", "sms"),
        ("whatsapp-3f2a9c0d1e", "whatsapp"),
        ("telegram-3f2a9c0d1e", "telegram"),
    ],
)
async def test_anonymity_is_promised_only_as_far_as_it_holds_for_the_channel(
    dispatcher, make_tracker, domain, sender_id, channel
):
    tracker = make_tracker("är jag anonym här", "ask_anonymity", sender_id=sender_id)
    await ActionAnswerTopic().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == [f"utter_anonymity_{channel}", "utter_who_reads"]
    text = domain["responses"][f"utter_anonymity_{channel}"][0]["text"]
    if channel == "web":
        assert "IP-adress" in text and "historiken" in text
    else:
        assert "Helt anonym är du inte" in text and "IP-adress" not in text


def test_who_reads_says_staff_see_the_whole_conversation_and_may_call_112(domain):
    text = domain["responses"]["utter_who_reads"][0]["text"]
    assert "hela samtalet" in text and "gå in i chatten" in text and "{phone_emergency}" in text
    assert "utdrag" not in text


async def test_after_no_to_the_safety_question_the_set_aside_question_is_answered(
    dispatcher, domain
):
    from rasa_sdk import Tracker

    question = {"intent": {"name": "ask_online", "confidence": 0.9}, "entities": []}
    no = {"intent": {"name": "deny", "confidence": 0.9}, "entities": []}
    tracker = Tracker(
        sender_id="3f2a9c0d1e",
        slots={"person_relation": None, "person_age_group": None, "risk_check_answered": True},
        latest_message={**no, "text": "nej"},
        events=[
            {"event": "user", "text": "ska jag kolla hans mobil", "parse_data": question},
            {"event": "bot", "text": "?", "metadata": {"utter_action": "utter_risk_check_danger"}},
            {"event": "user", "text": "nej", "parse_data": no},
            {"event": "bot", "text": "Tack", "metadata": {"utter_action": "utter_risk_check_no"}},
        ],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert response_names(dispatcher)[0] == "utter_online"


async def test_the_switchboard_pointer_comes_once_a_turn(dispatcher, make_tracker, domain):
    action = ActionAnswerTopic(never_called)
    action.utter_contacts(dispatcher, domain, "gangs")
    action.utter_contacts(dispatcher, domain, "school")
    assert response_names(dispatcher).count("utter_municipality_switchboard") == 1

    # The risk screening already pointed to the switchboard in this turn.
    tracker = make_tracker("min son säljer knark åt ett gäng", "ask_gangs")
    tracker.events.append(
        {
            "event": "bot",
            "text": "…",
            "metadata": {"utter_action": "utter_municipality_switchboard"},
        }
    )
    later = type(dispatcher)()
    await action.run(later, tracker, domain)
    assert response_names(later)[0] == "utter_gangs"
    assert "utter_municipality_switchboard" not in response_names(later)


# -- issue 16: the question asked, and the story heard ----------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Kan jag anmäla anonymt till soc?", "kan man vara anonym när man gör en orosanmälan"],
)
async def test_anonymity_of_a_report_is_not_answered_with_the_chats(
    make_tracker, dispatcher, domain, text
):
    names = await run_answer(make_tracker, dispatcher, domain, text=text, intent="ask_anonymity")
    assert names[0] == "utter_anonymity_report"


async def test_anonymity_here_is_the_chats_own(make_tracker, dispatcher, domain):
    text = "är jag anonym här i chatten?"
    names = await run_answer(make_tracker, dispatcher, domain, text=text, intent="ask_anonymity")
    assert names[0] == "utter_anonymity_web"


@pytest.mark.parametrize(
    ("story", "expected"),
    [
        ("min son har börjat umgås med nazister", "utter_share_worry_child"),
        ("min bror har blivit så konstig", "utter_share_worry_sibling"),
        ("min man sitter på forum hela nätterna", "utter_share_worry_partner"),
        ("jag är orolig, allt har förändrats", "utter_share_worry"),
    ],
)
async def test_a_story_is_acknowledged_for_who_it_is_about(
    make_tracker, dispatcher, domain, story, expected
):
    names = await run_answer(make_tracker, dispatcher, domain, text=story, intent="share_worry")
    assert names == [expected]


def test_a_long_contact_list_is_cut_short_with_the_rest_behind_a_quick_reply(dispatcher, domain):
    action = ActionAnswerTopic(never_called)
    action.utter_contacts(dispatcher, domain, ["support_for_me", "own_safety"], limit=3)
    [message] = dispatcher.messages
    assert len(message["contact_lines"].splitlines()) == 3
    assert [button["payload"] for button in message["buttons"]] == ["/ask_contacts"]


def test_a_short_contact_list_has_no_quick_reply_for_more(dispatcher, domain):
    ActionAnswerTopic(never_called).utter_contacts(dispatcher, domain, ["own_safety"], limit=3)
    [message] = dispatcher.messages
    assert len(message["contact_lines"].splitlines()) == 3
    assert not message.get("buttons")


@pytest.mark.parametrize(
    ("story", "exit_listed"),
    [
        ("min son har börjat umgås med nazister, var får jag själv stöd?", True),
        ("min son vill åka till Syrien och ansluta sig till IS, var får jag själv stöd?", False),
        ("min son är med i ett gäng, var får jag själv stöd?", False),
        ("var får jag själv stöd?", True),  # milieu unknown: the description says what it is for
    ],
)
async def test_exit_is_offered_only_in_conversations_about_white_power_milieus(
    make_tracker, dispatcher, domain, story, exit_listed
):
    action = ActionAnswerTopic(never_called)
    await action.run(dispatcher, make_tracker(story, "ask_support_for_me"), domain)
    contacts = next(m for m in dispatcher.messages if "contact_lines" in m)["contact_lines"]
    assert ("Exit (Fryshuset)" in contacts) is exit_listed
