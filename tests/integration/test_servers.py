"""The assistant end to end: Rasa server + action server + SQLite, over HTTP on loopback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid

import pytest

from bot.settings import PROJECT_ROOT
from tests.support.servers import admin_token

pytestmark = pytest.mark.slow


def new_sender() -> str:
    return uuid.uuid4().hex


def texts(messages) -> str:
    return "\n".join(message.get("text", "") for message in messages)


def test_first_message_gets_the_greeting_with_the_privacy_notice_then_the_menu(bot):
    sender = new_sender()
    messages = bot.say(sender, "hej")
    # One opening (issue 16): the greeting and the privacy notice in one message.
    assert bot.bot_responses(sender)[:3] == [
        "utter_greet",
        "utter_privacy_notice_web",
        "utter_main_menu",
    ]
    assert len(messages) == 2
    assert "112" in texts(messages) and "{" not in texts(messages)
    menu = [message for message in messages if message.get("buttons")]
    assert len(menu) == 1 and len(menu[0]["buttons"]) == 7
    assert menu[0]["buttons"][-1] == {"title": "Fler ämnen", "payload": "/show_more_topics"}


@pytest.mark.parametrize(
    ("story", "expected"),
    [
        ("min son är 16 och har börjat umgås med nazister", "utter_social_services_minor"),
        (
            "min bror är 22 och har konverterat, han pratar bara om kalifatet",
            "utter_social_services_adult",
        ),
    ],
)
def test_social_services_answer_is_tailored_to_the_persons_age(bot, story, expected):
    sender = new_sender()
    bot.say(sender, story)
    bot.say(sender, "vad händer om socialtjänsten kopplas in")
    assert bot.bot_responses(sender)[-1] == expected


def test_without_age_the_general_answer_asks_for_it(bot):
    sender = new_sender()
    bot.say(sender, "vad hander om soc kommer")
    assert bot.bot_responses(sender)[-1] == "utter_social_services"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("han är 16", "utter_social_services_minor"), ("hon är vuxen", "utter_social_services_adult")],
)
def test_answering_the_age_question_gives_the_tailored_answer(bot, reply, expected):
    sender = new_sender()
    bot.say(sender, "vad gör socialtjänsten om jag ringer dem")
    assert bot.bot_responses(sender)[-1] == "utter_social_services"
    bot.say(sender, reply)
    assert bot.bot_responses(sender)[-1] == expected


def test_two_questions_in_one_message_are_both_answered(bot):
    sender = new_sender()
    bot.say(sender, "vad händer om soc kopplas in? och får han veta att det var jag som ringde?")
    responses = bot.bot_responses(sender)
    assert "utter_social_services" in responses and "utter_confidentiality" in responses


def test_the_rasa_server_classifies_each_question_while_parsing_the_message(bot):
    """Issue 21: the questions' intents come with the message's parse data (intent and
    confidence only, no text), so the action server does not call back into Rasa."""
    sender = new_sender()
    bot.say(sender, "vad händer om soc kopplas in? och får han veta att det var jag som ringde?")
    tracker = bot.request(f"/conversations/{sender}/tracker", token=admin_token()).body
    parsed = [event for event in tracker["events"] if event["event"] == "user"][-1]["parse_data"]
    intents = [intent for intent, _ in parsed["clause_intents"]]
    assert intents == ["ask_social_services", "ask_confidentiality"]
    assert all(isinstance(confidence, float) for _, confidence in parsed["clause_intents"])


def test_contacts_come_from_configuration(bot):
    sender = new_sender()
    messages = bot.say(sender, "vilka telefonnummer kan jag ringa")
    assert "utter_contact_list" in bot.bot_responses(sender)
    listing = texts(messages)
    for number in ("112", "114 14", "1177", "116 111", "90101", "020-50 50 50"):
        assert number in listing
    # Not verified, so not offered: Orostelefonen and Mind Föräldralinjen ship disabled.
    assert "020-100 200" not in listing and "020-85 20 00" not in listing


def test_gibberish_is_answered_politely(bot):
    sender = new_sender()
    messages = bot.say(sender, "xqzv blorp fnaskig")
    assert messages and bot.bot_responses(sender)[-1] in {
        "utter_main_menu",  # after utter_out_of_scope
        "utter_ask_rephrase",
    }


def test_two_stage_fallback_asks_to_rephrase_then_answers(bot):
    # "/nlu_fallback" is how Rasa's FallbackClassifier labels an unclear message; sending
    # it as a payload makes the dialogue part of the test independent of the model.
    sender = new_sender()
    bot.say(sender, "/nlu_fallback")
    assert bot.bot_responses(sender)[-1] == "utter_ask_rephrase"
    bot.say(sender, "vad gör säpo med ett tips")
    assert bot.bot_responses(sender)[-1] == "utter_police"


def test_parse_endpoint_needs_a_jwt(bot):
    assert bot.request("/model/parse", {"text": "hej"}).status == 401
    assert bot.request("/model/parse?token=x", {"text": "hej"}).status == 401
    wrong = admin_token("another-secret-that-is-long-enough-for-hs256-signing")
    assert bot.request("/model/parse", {"text": "hej"}, token=wrong).status == 401
    reply = bot.request("/model/parse", {"text": "kan soc ta mina barn"}, token=admin_token())
    assert reply.status == 200
    assert reply.body["intent"]["name"] == "ask_child_custody"


@pytest.mark.parametrize(
    "message",
    [
        "a" * 10_000,
        "😢😢😢🙏",
        "hej\x00\x01\x07 jag \x1b[31m undrar",
        "my son wants to go to Syria, vad gör jag, ayuda",
        "",
        "   ",
    ],
)
def test_bad_input_gets_a_polite_answer_and_keeps_the_conversation(bot, message):
    sender = new_sender()
    bot.say(sender, "min son är 16")
    before = bot.bot_responses(sender)
    reply = bot.request("/webhooks/rest/webhook", {"sender": sender, "message": message})
    assert reply.status == 200
    assert bot.bot_responses(sender)[: len(before)] == before
    assert bot.say(sender, "tack")[-1]["text"]


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[]",
        b'"hej"',
        b'{"sender": 5, "message": "hej"}',
        b'{"sender": "x", "message": ["hej"]}',
        b'{"sender": "' + b"x" * 500 + b'", "message": "hej"}',
    ],
)
def test_malformed_requests_get_a_400_not_a_crash(bot, raw):
    reply = bot.request("/webhooks/rest/webhook", raw=raw)
    assert reply.status == 400, reply
    assert bot.say(new_sender(), "hej")  # the server is still up


def test_conversations_are_stored_in_sqlite(bot):
    sender = new_sender()
    bot.say(sender, "är det här anonymt")
    with sqlite3.connect(bot.database) as connection:
        rows = connection.execute("SELECT count(*) FROM events WHERE sender_id = ?", (sender,))
        assert rows.fetchone()[0] > 3


def test_startup_refuses_an_enabled_contact_nobody_verified(tmp_path):
    """`make run` stops before starting any server, and says which entry and why."""
    contacts = tmp_path / "contacts.yml"
    contacts.write_text(
        "contacts:\n- {id: line, name: L, phone: '020-1', description: d, topics: [contacts],"
        " source: s, source_url: 'https://example.org', verified_on: null}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "CONTACTS_FILE": str(contacts), "RASA_JWT_SECRET": "x" * 40}
    finished = subprocess.run(
        [sys.executable, "-m", "bot.launcher"],
        env=env, capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT,
    )  # fmt: skip
    assert finished.returncode != 0
    assert "'line' is enabled but was never verified" in finished.stderr


def test_message_text_is_not_logged_at_info_level(bot):
    marker = "unikmarkortext" + uuid.uuid4().hex[:8]
    bot.say(new_sender(), f"min son pratar om {marker}")
    assert marker not in bot.logs()
