"""The questions relatives really ask (issue 15), through the running bot: each gets an
answer on its topic. None of these sentences is in the training data."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.slow


def texts(messages) -> str:
    return "\n".join(message.get("text", "") for message in messages)


# Each question, the answers that are relevant to it (at least one must come), and words
# the whole reply must hold.
QUESTIONS = [
    (
        "Min son är 15 och säljer knark åt ett gäng. Är han ett offer eller blir han straffad?",
        {"utter_gangs", "utter_situation_gang_child_suspected"},
        ["15"],
    ),
    (
        "Min dotter är skyldig gänget pengar och de hotar henne. Vad gör vi?",
        {"utter_gangs", "utter_risk_why_threat", "utter_risk_acute", "utter_risk_check_danger"},
        ["112"],
    ),
    (
        "Jag är själv rädd för min bror. Hur skyddar jag mig och barnen?",
        {"utter_own_safety", "utter_risk_why_threat_self"},
        ["Kvinnofridslinjen", "skyddat boende"],
    ),
    (
        "Min syster ska kanske giftas bort i sommar. Kan man stoppa resan?",
        {"utter_honour", "utter_risk_why_child_at_risk"},
        ["utreseförbud"],
    ),
    ("Ska jag berätta för skolan?", {"utter_school"}, ["anmäla"]),
    (
        "Han sitter på Discord och delar nazistmemes. Ska jag kolla hans mobil?",
        {"utter_online"},
        ["114 14"],
    ),
    (
        "Är det olagligt att vara med i NMR?",
        {"utter_legal", "utter_situation_opinions_and_crime"},
        ["terroristorganisation"],
    ),
    (
        "Måste jag vittna mot min egen son?",
        {"utter_legal", "utter_confidentiality", "utter_situation_witness_exemption"},
        ["vittna"],
    ),
    (
        "Kommer soc hem till oss efter en orosanmälan?",
        {"utter_social_services", "utter_how_to_report"},
        ["socialtjänsten"],
    ),
    (
        "Kan soc ta lillebror för att storebror är med i ett gäng?",
        {"utter_child_custody", "utter_child_custody_minor", "utter_gangs"},
        ["LVU"],
    ),
    (
        "Han är 19 och med i ett gäng. Finns det inget tvång alls?",
        {"utter_child_custody_young_adult", "utter_social_services_young_adult", "utter_gangs"},
        ["18 eller 19", "21"],
    ),
    (
        "Jag är 15 och orolig för min bror, vem kan jag prata med?",
        {"utter_support_for_me", "utter_contacts", "utter_request_human"},
        ["116 111"],
    ),
    (
        "Jag hittade ett vapen i hans rum, vad gör jag nu?",
        {"utter_risk_why_weapons", "utter_risk_acute", "utter_risk_check_danger"},
        ["112"],
    ),
    ("Vad gör avhopparverksamheten konkret?", {"utter_leaving_support"}, ["avhopparsamordning"]),
    (
        "Vad är ett särskilt ungdomshem?",
        {"utter_child_custody", "utter_gangs", "utter_situation_youth_home"},
        ["SiS"],
    ),
]


@pytest.mark.parametrize(("question", "relevant", "words"), QUESTIONS)
def test_every_question_gets_a_relevant_answer(bot, question, relevant, words):
    sender = uuid.uuid4().hex
    bot.say(sender, "hej")
    messages = bot.say(sender, question)
    if any(name.startswith("utter_risk_check_") for name in bot.bot_responses(sender)):
        # The risk screening asked first ("kan det hända något farligt nu?"); after "nej"
        # the question it set aside is answered.
        messages += bot.say(sender, "nej")
    answered = set(bot.bot_responses(sender))
    assert answered & relevant, (question, sorted(answered))
    reply = texts(messages)
    assert all(word in reply for word in words), (question, reply)
    assert "{" not in reply


@pytest.mark.parametrize(
    "message",
    [
        "My son wants to travel to Syria and join a group, what should I do?",
        "ابني يريد السفر إلى سوريا للانضمام إلى جماعة",
        "Wiilkayga ayaa raba inuu u safro Suuriya, maxaan sameeyaa?",
        "ወደይ ናብ ሶርያ ክኸይድ ይደሊ እዩ",
    ],
)
def test_a_message_in_another_language_is_told_the_chat_is_swedish_with_112(bot, message):
    sender = uuid.uuid4().hex
    messages = bot.say(sender, message)
    assert "utter_other_language" in bot.bot_responses(sender)
    reply = texts(messages)
    assert "This chat is in Swedish" in reply and "112" in reply


def test_a_swedish_message_with_english_words_is_answered_in_swedish(bot):
    sender = uuid.uuid4().hex
    bot.say(sender, "min son kollar på memes och videos på discord hela nätterna, vad gör jag")
    assert "utter_other_language" not in bot.bot_responses(sender)
