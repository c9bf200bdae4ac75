"""Splitting a message into questions."""

from __future__ import annotations

import pytest

from bot.rasa_client import service_token
from bot.topics import sharpen, split_questions, topic_for_intent, topic_named_in


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        (
            "vad händer om soc kopplas in? och får han veta att det var jag som ringde?",
            ["vad händer om soc kopplas in", "får han veta att det var jag som ringde"],
        ),
        (
            "kan soc ta mina barn och vad gör polisen om jag tipsar",
            ["kan soc ta mina barn", "vad gör polisen om jag tipsar"],
        ),
        ("vad hander om soc kommer", ["vad hander om soc kommer"]),
        # "och" inside one statement does not split it.
        (
            "min son och hans kompisar tränar kampsport",
            ["min son och hans kompisar tränar kampsport"],
        ),
        ("hej! ok", []),
    ],
)
def test_split_questions(text, clauses):
    assert split_questions(text) == clauses


def test_topics_of_intents():
    assert topic_for_intent("ask_police") == "police"
    assert topic_for_intent("share_worry") == "share_worry"
    assert topic_for_intent("greet") is None
    assert topic_for_intent(None) is None


def test_service_token_is_a_short_lived_hs256_jwt():
    import jwt

    token = service_token("a-test-secret-of-at-least-32-bytes-long", now=1000)
    claims = jwt.decode(
        token,
        "a-test-secret-of-at-least-32-bytes-long",
        algorithms=["HS256"],
        options={"verify_exp": False},
    )
    assert claims["exp"] - claims["iat"] == 300


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Kan jag anmäla anonymt till soc?", "anonymity_report"),
        ("kan jag tipsa polisen anonymt om han har vapen", "anonymity_report"),
        ("är jag anonym här?", "anonymity"),
        ("ser soc vem jag är om jag skriver här", "anonymity"),
        ("sparar ni mitt nummer i sms", "anonymity"),
    ],
)
def test_anonymity_of_a_report_is_told_from_anonymity_of_this_chat(text, topic):
    assert sharpen(["anonymity", "police"], text) == [topic, "police"]


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("är det säkert att skriva här på telegram? ser min man det?", "anonymity"),
        ("sparas det jag skriver i chatten?", "anonymity"),
        ("han sitter på telegram hela nätterna och ser konstiga videor", "online"),
        ("vad ska jag göra med det jag ser i hans mobil", "online"),
    ],
)
def test_whether_writing_here_is_safe_is_this_chats_anonymity(text, topic):
    assert sharpen(["online"], text) == [topic]


def test_anonymity_asked_in_a_conversation_about_a_report_is_the_reports():
    assert sharpen(["anonymity"], "kan jag vara anonym?", "social_services") == ["anonymity_report"]
    assert sharpen(["anonymity"], "kan jag vara anonym?", None) == ["anonymity"]
    assert sharpen(["anonymity"], "är jag anonym här i chatten?", "police") == ["anonymity"]


def test_a_reports_anonymity_beside_confidentiality_is_one_answer():
    text = "kan jag vara anonym? vill inte att han vet att det var jag"
    assert sharpen(["anonymity", "confidentiality"], text, "social_services") == ["confidentiality"]


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("men om jag ringer soc, tar dom honom då?", "child_custody"),
        ("och om jag ringer soc då?", "social_services"),
        ("men polisen då?", "police"),
        ("hur då?", None),
        ("vad händer om jag ringer dit?", None),
    ],
)
def test_a_short_message_names_a_topic_by_an_authoritys_word(text, topic):
    assert topic_named_in(text) == topic


async def test_a_message_of_many_clauses_costs_at_most_six_classifications():
    """Issue 17: every clause was classified through Rasa at once; a message of hundreds of
    clauses held Rasa's event loop for seconds. The last six count (questions end a story)."""
    from bot.topics import MAX_CLAUSES_CLASSIFIED, answer_topics

    asked: list[str] = []

    async def classify(clause: str):
        asked.append(clause)
        return ("ask_police" if "polisen" in clause else "share_worry"), 0.9

    story = ". ".join(f"han sa något konstigt dag {n}" for n in range(200))
    message = {"text": f"{story}. vad gör polisen nu?", "intent": {"name": "share_worry"}}
    topics = await answer_topics(message, classify)
    assert len(asked) == MAX_CLAUSES_CLASSIFIED == 6
    assert topics == ["police"]


async def test_the_clause_intents_of_the_parse_data_are_used_without_asking_again():
    """Issue 21: the Rasa server classifies the clauses while parsing (bot/nlu/clauses.py);
    the answer action uses them and asks nothing (a malformed entry is ignored)."""
    from bot.topics import CLAUSE_INTENTS_KEY, answer_topics

    async def classify(clause: str):
        raise AssertionError("no classification may be asked for")

    message = {
        "text": "vad händer om soc kopplas in? och får han veta att det var jag som ringde?",
        "intent": {"name": "ask_social_services"},
        CLAUSE_INTENTS_KEY: [
            ["ask_social_services", 0.97],
            ["ask_confidentiality", 0.91],
            ["ask_police", "not a number"],
        ],
    }
    assert await answer_topics(message, classify) == ["social_services", "confidentiality"]


async def test_low_confidence_clause_intents_are_not_answered():
    from bot.topics import CLAUSE_INTENTS_KEY, answer_topics

    message = {
        "text": "vad händer om soc kopplas in? och vad gör polisen?",
        "intent": {"name": "ask_social_services"},
        CLAUSE_INTENTS_KEY: [["ask_social_services", 0.97], ["ask_police", 0.3]],
    }
    assert await answer_topics(message) == ["social_services"]


async def test_a_clear_question_leads_when_the_whole_message_is_a_guess():
    """Issue 21: a story and a question in one message, the whole filed under ask_online at
    0.42; its question clause is ask_how_to_talk at 1.00. Only the clear question is answered."""
    from bot.topics import CLAUSE_INTENTS_KEY, answer_topics

    message = {
        "text": "han kallar poliser fascister. hur pratar jag med honom utan att han stänger av",
        "intent": {"name": "ask_online", "confidence": 0.42},
        CLAUSE_INTENTS_KEY: [["ask_warning_signs", 0.54], ["ask_how_to_talk", 1.0]],
    }
    assert await answer_topics(message) == ["how_to_talk"]


async def test_a_confident_whole_message_still_leads_before_its_clauses():
    from bot.topics import CLAUSE_INTENTS_KEY, answer_topics

    message = {
        "text": "vad gör polisen? och hur pratar jag med honom?",
        "intent": {"name": "ask_police", "confidence": 0.8},
        CLAUSE_INTENTS_KEY: [["ask_legal", 0.9], ["ask_how_to_talk", 0.95]],
    }
    assert await answer_topics(message) == ["police", "legal", "how_to_talk"]
