"""Situations: a question about one concrete situation gets that situation's answer,
whatever topic the classifier chose (bot/dialogue/situations.py, actions/answers.py)."""

from __future__ import annotations

import pytest

from actions.answers import ActionAnswerOutOfScope, ActionAnswerTopic
from actions.fallback import ActionDefaultAskAffirmation
from bot.dialogue.next_steps import load_next_steps
from bot.dialogue.situations import (
    ACUTE_TRACK,
    SITUATIONS,
    on_the_acute_track,
    situation_of,
    with_situation,
)
from bot.dialogue.writer import writer_is_minor
from tests.conftest import response_names


async def never_called(clause: str):
    raise AssertionError("a one-question message needs no clause classification")


@pytest.mark.parametrize(
    ("text", "situation"),
    [
        ("jag har ringt polisen nu, vad händer med honom", "after_police_contact"),
        ("polisen har varit här och hämtade honom", "after_police_contact"),
        ("kan jag skriva här om något händer i natt?", "chat_in_emergency"),
        ("svarar ni på natten?", "chat_in_emergency"),
        ("om något händer ikväll, kan jag skriva här då?", "chat_in_emergency"),
        ("kan soc hjalpa oss att flytta?", "protected_housing"),
        ("måste vi flytta? dom vet var vi bor", "protected_housing"),
        ("dom sa att om han inte betalar så vet dom var vi bor", "protected_housing"),
        ("hennes pappa slog henne igår", "child_violence"),
        ("han slog min son i ansiktet", "child_violence"),
        ("de ska åka till hemlandet i sommar och jag tror hon ska giftas bort", "travel_ban"),
        ("kan man få utreseförbud", "travel_ban"),
        ("dom vill ta med henne till pakistan", "travel_ban"),
        ("maste jag beratta allt for polisen?", "witness_exemption"),
        ("kan jag tvingas vittna mot min son", "witness_exemption"),
        ("behöver jag tolk hos soc", "interpreter"),
        ("vad är ett särskilt ungdomshem?", "youth_home"),
        ("ok jag har ringt. vad händer med henne nu?", "after_police_contact"),
        ("ok jag ringde mamma hon ringer polisen", "after_police_contact"),
        ("de kollar min telegram ibland", "phone_seen"),
        ("om han märker att jag pratat med nån blir han galen", "phone_seen"),
        ("jag vill inte förstöra hennes liv", "loyalty"),
        ("kan jag prata med soc på mitt språk? arabiska", "interpreter"),
        ("hej jag skriv dålig svenska förlåt. min dotter 19 ska gifta", "limited_swedish"),
        ("bror jag e ingen golare. han e min bästa vän", "loyalty"),
        ("jag har ringt. dom kommer hit. han sitter i sitt rum", "after_police_contact"),
        ("dom sa i sommar ta lilla systern 14 år hem till landet", "travel_ban"),
        ("dom vet inte jag skriv här. om min man ser telefon blir problem", "phone_seen"),
        ("men om han anmäler blir han ju själv utredd för langning", "gang_child_suspected"),
        ("finns det nån som har varit med om sånt själv", "own_experience"),
        ("får jag läsa vad skolan skrev?", "read_report"),
        ("finns det någon som själv har varit med i ett gäng", "own_experience"),
        ("det känns som att jag förråder honom", "loyalty"),
    ],
)
def test_the_words_name_the_situation(text, situation):
    assert situation_of(text) == situation


@pytest.mark.parametrize(
    "text",
    [
        "om jag ringer polisen, vad händer då?",
        "min man slår mig",
        "han har slutat med fotbollen och har nya kompisar",
        "vi ska resa utomlands i sommar",
        "jag är gift med honom",
        "vad gör socialtjänsten",
        "/ask_police",
        "jag ringde min syster igår",
        "vi ska åka hem till landet på semester",
        "blir han gripen direkt?",
    ],
)
def test_ordinary_questions_name_no_situation(text):
    assert situation_of(text) is None


def test_every_situation_has_an_answer_and_next_steps(domain):
    steps = load_next_steps()
    for situation in [*(s.name for s in SITUATIONS), ACUTE_TRACK]:
        # One answer, or one per channel where what holds differs (phone_seen).
        base = f"utter_situation_{situation}"
        assert base in domain["responses"] or f"{base}_web" in domain["responses"], base
        assert steps.get(situation), situation


def test_a_situation_replaces_the_main_topic_and_an_interpreter_is_added():
    assert with_situation(["police", "confidentiality"], "witness_exemption") == [
        "witness_exemption",
        "confidentiality",
    ]
    assert with_situation(["social_services"], "limited_swedish") == [
        "social_services",
        "limited_swedish",
    ]
    assert with_situation(["social_services"], "interpreter") == ["interpreter"]
    assert with_situation(["police"], None) == ["police"]
    assert with_situation(["share_worry", "online"], "phone_seen") == ["phone_seen"]


def test_the_acute_track_is_for_plans_weapons_and_trips():
    assert on_the_acute_track("acute", ["attack"])
    assert on_the_acute_track("acute", ["travel", "threat"])
    assert not on_the_acute_track("elevated", ["attack"])
    assert not on_the_acute_track("acute", ["threat"])
    assert not on_the_acute_track("acute", None)


async def test_a_situation_is_answered_instead_of_the_neighbouring_block(
    make_tracker, dispatcher, domain
):
    tracker = make_tracker(text="kan soc hjälpa oss att flytta?", intent="ask_social_services")
    events = await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert response_names(dispatcher)[0] == "utter_situation_protected_housing"
    assert "utter_social_services" not in response_names(dispatcher)
    # "hur då?" afterwards goes deeper in own safety.
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["current_topic"] == "own_safety"


async def test_out_of_scope_and_fallback_answer_a_situation(make_tracker, dispatcher, domain):
    text = "kan jag skriva här om något händer i natt?"
    await ActionAnswerOutOfScope().run(
        dispatcher, make_tracker(text=text, intent="out_of_scope"), domain
    )
    assert response_names(dispatcher) == ["utter_situation_chat_in_emergency"]
    dispatcher.messages.clear()
    tracker = make_tracker(text=text, intent="nlu_fallback", ranking=[("ask_online", 0.3)])
    events = await ActionDefaultAskAffirmation().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_situation_chat_in_emergency"]
    assert not any(e.get("event") == "rewind" for e in events)


ACUTE_PLAN = {"risk_level": "acute", "risk_signals": ["attack"]}


async def test_talking_advice_gives_way_to_the_acute_track(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        text="hur ska jag prata med honom?", intent="ask_how_to_talk", slots=ACUTE_PLAN
    )
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    names = response_names(dispatcher)
    assert "utter_situation_acute_track" in names
    assert not any(name.startswith("utter_how_to_talk") for name in names)


async def test_a_follow_up_on_talking_advice_stays_on_the_acute_track(
    make_tracker, dispatcher, domain
):
    tracker = make_tracker(
        text="hur menar du",
        intent="follow_up",
        slots={**ACUTE_PLAN, "current_topic": "how_to_talk", "topic_step": "answer"},
    )
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert "utter_situation_acute_track" in response_names(dispatcher)


async def test_without_an_acute_plan_talking_advice_is_given(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        text="hur ska jag prata med honom?",
        intent="ask_how_to_talk",
        slots={"risk_level": "acute", "risk_signals": ["child_at_risk"]},
    )
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert response_names(dispatcher)[0].startswith("utter_how_to_talk")


@pytest.mark.parametrize(
    ("texts", "minor"),
    [
        (["jag är 15 och min bror hänger med ett gäng"], True),
        (["jag går i nian"], True),
        (["min son är 15"], False),
        (["jag är 45 och orolig"], False),
    ],
)
def test_the_writer_is_under_18_only_when_they_say_so(texts, minor):
    assert writer_is_minor(texts) is minor


def tracker_after_the_story(make_tracker, text: str, intent: str):
    """A tracker whose previous turn ended with the story's open question."""
    tracker = make_tracker(text=text, intent=intent)
    earlier = [
        {"event": "user", "text": "min son har förändrats", "parse_data": {}},
        {"event": "bot", "metadata": {"utter_action": "utter_share_worry_child"}},
    ]
    tracker.events = [*earlier, *tracker.events]
    return tracker


@pytest.mark.parametrize(
    ("text", "intent"), [("vet inte", "deny"), ("nej", "deny"), ("allt", "nlu_fallback")]
)
async def test_an_unsure_reply_to_the_open_question_gets_a_choice(
    make_tracker, dispatcher, domain, text, intent
):
    from actions.answers import ActionAnswerShortReply

    tracker = tracker_after_the_story(make_tracker, text, intent)
    action = ActionAnswerShortReply() if intent == "deny" else ActionDefaultAskAffirmation()
    await action.run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == ["utter_share_worry_unsure"]
    assert dispatcher.messages[0]["buttons"]


async def test_no_without_an_open_question_is_a_plain_no(make_tracker, dispatcher, domain):
    from actions.answers import ActionAnswerShortReply

    await ActionAnswerShortReply().run(dispatcher, make_tracker(text="nej", intent="deny"), domain)
    assert response_names(dispatcher) == ["utter_deny"]


async def test_a_topic_asked_again_gets_its_next_layer_not_the_same_block(
    make_tracker, dispatcher, domain
):
    tracker = make_tracker(text="men vad gör polisen egentligen", intent="ask_police")
    earlier = [
        {"event": "user", "text": "vad gör polisen", "parse_data": {}},
        {"event": "bot", "metadata": {"utter_action": "utter_police"}},
    ]
    tracker.events = [*earlier, *tracker.events]
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert response_names(dispatcher)[0] == "utter_police_more"


async def test_the_phone_seen_answer_is_the_channels(make_tracker, dispatcher, domain):
    text = "om min man ser telefonen blir det problem"
    tracker = make_tracker(text=text, intent="ask_online", sender_id="sms-abc123")
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert response_names(dispatcher)[0] == "utter_situation_phone_seen_sms"


async def test_the_acute_track_asked_about_again_meets_the_fear(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        text="men han är bara ett barn, hur ska jag prata med honom",
        intent="ask_how_to_talk",
        slots=ACUTE_PLAN,
    )
    earlier = [
        {
            "event": "user",
            "text": "han har en lapp med skolans namn och ett datum",
            "parse_data": {},
        },
        {"event": "bot", "metadata": {"utter_action": "utter_situation_acute_track"}},
    ]
    tracker.events = [*earlier, *tracker.events]
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert "utter_situation_acute_track_again" in response_names(dispatcher)


async def test_after_a_112_answer_for_a_threat_no_advice_on_the_phone_follows(
    make_tracker, dispatcher, domain
):
    tracker = make_tracker(
        text="nån skrev på snap att han ska betala eller blöda",
        intent="ask_online",
        slots={"risk_level": "acute", "risk_signals": ["threat"]},
        bot_this_turn=("utter_risk_acute", "utter_risk_offer_human"),
    )
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == []


# -- the two-stage fallback and a message answered after all ------------------------------------


async def test_an_answered_fallback_message_ends_the_fallback(make_tracker, dispatcher, domain):
    tracker = make_tracker(text="kan jag skriva här om något händer i natt?", intent="nlu_fallback")
    events = await ActionDefaultAskAffirmation().run(dispatcher, tracker, domain)
    # The next message is a new message, not the rephrasing of this one.
    assert {"event": "active_loop", "name": None} in [
        {"event": e["event"], "name": e.get("name")} for e in events
    ]
    assert any(e["event"] == "followup" and e["name"] == "action_listen" for e in events)


def uttered_again(make_tracker, text: str, intent: str, first_pass: tuple[str, ...]):
    """A tracker as Rasa sends it after the two-stage fallback took `text` for a
    rephrasing: the first pass, the revert, and the same message uttered again."""
    tracker = make_tracker(text=text, intent=intent)
    message = tracker.events[-1]
    tracker.events = [
        {**message},
        *({"event": "bot", "metadata": {"utter_action": name}} for name in first_pass),
        {"event": "action", "name": "action_two_stage_fallback"},
        {"event": "rewind"},
        {"event": "action", "name": "action_listen"},
        message,
    ]
    return tracker


async def test_a_message_uttered_again_is_not_answered_twice(make_tracker, dispatcher, domain):
    from actions.answers import ActionAnswerShortReply
    from actions.base import risk_answered_this_turn

    tracker = uttered_again(
        make_tracker,
        "och nu ringer de hem och säger att han måste jobba för dem",
        "goodbye",
        ("utter_risk_acute", "utter_risk_offer_human"),
    )
    assert risk_answered_this_turn(tracker)
    await ActionAnswerShortReply().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == []


async def test_a_plain_goodbye_still_gets_its_answer(make_tracker, dispatcher, domain):
    from actions.answers import ActionAnswerShortReply

    await ActionAnswerShortReply().run(
        dispatcher, make_tracker(text="hej då", intent="goodbye"), domain
    )
    assert response_names(dispatcher) == ["utter_goodbye"]


async def test_honour_control_of_an_adult_gets_protection_not_lvu(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        text="kan soc göra nåt för henne då",
        intent="ask_social_services",
        slots={"person_relation": "sibling", "person_age_group": "adult"},
    )
    earlier = [
        {
            "event": "user",
            "text": "pappa kontrollerar hennes mobil, det handlar om heder",
            "parse_data": {},
        }
    ]
    tracker.events = [*earlier, *tracker.events]
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert response_names(dispatcher)[0] == "utter_situation_honour_adult"


def test_opinions_are_told_from_crimes():
    assert situation_of("Är det olagligt att vara antifa?") == "opinions_and_crime"
    assert situation_of("är det brottsligt att vara med i NMR") == "opinions_and_crime"
    assert situation_of("är det brottsligt att åka till Syrien och strida") is None


@pytest.mark.parametrize(
    ("text", "intent", "slots", "first"),
    [
        # A follow-up that names another authority is that topic's question...
        (
            "men om jag ringer soc, tar dom honom då?",
            "follow_up",
            {"current_topic": "how_to_talk", "topic_step": "answer"},
            "utter_child_custody",
        ),
        # ...and one naming the current topic goes deeper in it.
        (
            "och om jag ringer soc då?",
            "follow_up",
            {"current_topic": "social_services", "topic_step": "answer"},
            "utter_social_services_more",
        ),
        # A situation gets its age variant...
        (
            "de vill ta med henne till hemlandet och gifta bort henne",
            "ask_honour",
            {"person_age_group": "adult"},
            "utter_situation_travel_ban_adult",
        ),
        # ...and a follow-up that names a situation gets that situation.
        (
            "men måste jag vittna då?",
            "follow_up",
            {"current_topic": "police", "topic_step": "answer"},
            "utter_situation_witness_exemption",
        ),
        # A question about the children is answered for a child, whoever the conversation
        # was about.
        (
            "om jag ringer soc tar de barnen?",
            "ask_child_custody",
            {"person_relation": "partner", "person_age_group": "adult"},
            "utter_child_custody_minor",
        ),
    ],
)
async def test_the_answer_follows_what_the_words_name(
    make_tracker, dispatcher, domain, text, intent, slots, first
):
    tracker = make_tracker(text=text, intent=intent, slots=slots)
    await ActionAnswerTopic(never_called).run(dispatcher, tracker, domain)
    assert response_names(dispatcher)[0] == first
