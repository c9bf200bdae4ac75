"""Splitting a message into questions."""

from __future__ import annotations

import pytest

from bot.rasa_client import RasaParser, service_token
from bot.topics import sharpen, split_questions, topic_for_intent


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


async def test_unreachable_rasa_counts_as_not_recognised():
    parser = RasaParser(
        "http://127.0.0.1:9", "a-test-secret-of-at-least-32-bytes-long"
    )  # port 9: nothing listens
    assert await parser("vad gör polisen") == (None, 0.0)


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
