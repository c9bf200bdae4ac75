"""Risk messages in real conversations over the REST channel (both servers running):
whatever the conversation was doing, the safety answer comes first in that turn, the
slots hold the level and categories, one escalation is stored and staff are notified."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from bot.channels.input_limits import too_long_answer
from bot.launcher import free_port
from bot.notify import SIGNATURE_HEADER, verify
from tests.support.servers import TEST_WEBHOOK_SECRET, private_bot
from tests.support.settings import settings

ACUTE = "min son har köpt biljett och ska åka till syrien ikväll"
ELEVATED = "min bror pratar mer och mer om att resa till syrien"


def new_sender() -> str:
    return f"risk-{uuid.uuid4().hex}"


def test_an_acute_first_message_gets_112_first_then_the_privacy_notice(bot):
    sender = new_sender()
    messages = bot.say(sender, ACUTE)
    responses = bot.bot_responses(sender)
    assert responses == ["utter_risk_acute", "utter_privacy_notice_web", "utter_risk_offer_human"]
    assert messages[0]["text"].startswith("Ring 112 nu") and len(messages) == 2
    assert bot.slots(sender)["risk_level"] == "acute"
    assert bot.slots(sender)["risk_signals"] == ["travel"]


@pytest.mark.parametrize(
    "flow",
    [
        ["hej"],  # after the greeting and menu
        ["vad gör socialtjänsten om jag ringer"],  # after an answer that asked for the age
        ["vad gör polisen med ett tips", "tack"],  # mid-conversation, after an answer
        ["jkjkjk qwpoe zzxv"],  # inside the two-stage fallback
        ["jag vill prata med en människa"],  # after asking for a person
    ],
    ids=["greeting", "age-question", "answer", "fallback", "human"],
)
def test_an_acute_message_interrupts_every_flow_and_comes_first(bot, flow):
    sender = new_sender()
    for message in flow:
        bot.turn(sender, message)
    responses = bot.turn(sender, ACUTE)
    assert responses[:2] == ["utter_risk_acute", "utter_risk_offer_human"], responses


def test_suicide_risk_gets_the_suicide_line_first(bot):
    sender = new_sender()
    bot.turn(sender, "hej")
    assert (
        bot.turn(sender, "min dotter har tagit en massa tabletter nu och vill dö")[0]
        == "utter_risk_acute_suicide"
    )


def test_a_question_in_the_acute_message_is_still_answered_after_112(bot):
    sender = new_sender()
    bot.turn(sender, "hej")
    responses = bot.turn(sender, "han ska åka till syrien ikväll. vad gör polisen om jag ringer?")
    assert responses[0] == "utter_risk_acute"
    assert "utter_police" in responses


def test_elevated_is_acknowledged_and_the_conversation_goes_on(bot):
    sender = new_sender()
    bot.turn(sender, "hej")
    responses = bot.turn(sender, ELEVATED)
    assert responses[:2] == ["utter_risk_elevated", "utter_risk_why_travel"]
    assert bot.slots(sender)["risk_level"] == "elevated"
    # The same signal again is not explained again; the next question is just answered.
    assert "utter_risk_elevated" not in bot.turn(sender, ELEVATED)
    assert "utter_how_to_talk" in bot.turn(sender, "hur pratar jag med honom om det")


def test_one_escalation_per_conversation_upgraded_and_notified(bot, staff):
    received, _, _ = staff
    sender = new_sender()
    calls_before = len(received.webhook_calls)
    bot.turn(sender, "hej")
    bot.turn(sender, ELEVATED)
    bot.turn(sender, ELEVATED)  # nothing new
    bot.turn(sender, ACUTE)  # upgrade
    deadline = time.monotonic() + 15
    while len(received.webhook_calls) < calls_before + 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    rows = [
        row
        for row in bot.escalations()
        if row["level"] == "acute" and row["categories"] == "travel"
    ]
    assert len(rows) >= 1
    new_calls = received.webhook_calls[calls_before:]
    events = [json.loads(body)["event"] for _, body in new_calls]
    assert events == ["escalation.created", "escalation.upgraded"]
    for headers, body in new_calls:
        assert verify(TEST_WEBHOOK_SECRET, headers[SIGNATURE_HEADER], body)
        assert sender not in body.decode() and "syrien" not in body.decode().lower()
    assert received.inbox.messages, "an e-mail reaches staff too"


def test_the_escalation_store_holds_no_sender_id_and_no_full_message(bot):
    sender = new_sender()
    bot.turn(
        sender, "Hej, jag heter Lena Svensson, 0701234567. Min son ska åka till Syrien ikväll."
    )
    time.sleep(1)
    rows = bot.escalations()
    dump = json.dumps(rows, default=str)
    assert sender not in dump and "Lena" not in dump and "0701234567" not in dump


def test_risk_messages_are_not_written_to_the_logs(bot):
    sender = new_sender()
    bot.turn(sender, "min kusin har skaffat en pistol och ska hämnas på killen imorgon")
    logs = bot.logs()
    assert "pistol" not in logs and "hämnas" not in logs
    assert "Escalation" in logs  # the event itself is logged, without content


@pytest.mark.parametrize(
    "message",
    [
        "a" * 10_000,
        "😀🙏🔥" * 20,
        "\x00\x07\x1b[2J hej",
        "hello, I need help, je ne sais pas, hjälp",
    ],
    ids=["10000-chars", "emoji", "control-chars", "mixed-languages"],
)
def test_bad_input_after_an_escalation_is_answered_and_changes_nothing(bot, message):
    sender = new_sender()
    bot.turn(sender, ACUTE)
    before = [row for row in bot.escalations()]
    if len(message) > settings.max_message_chars:
        # Over the limit (issue 17): answered before Rasa, so no response of the domain.
        reply = bot.say(sender, message)
        assert [m.get("text") for m in reply] == [too_long_answer(settings.max_message_chars)]
    else:
        responses = bot.turn(sender, message)
        assert responses, "a polite answer"
        assert "utter_risk_acute" not in responses
    assert bot.slots(sender)["risk_level"] == "acute"
    assert len(bot.escalations()) == len(before)


@pytest.fixture(scope="module")
def bot_without_database(tmp_path_factory):
    """Both servers, with the escalation store pointing at a PostgreSQL port nobody serves."""
    base = tmp_path_factory.mktemp("no-database")
    overrides = {
        "ESCALATION_DATABASE_URL": f"postgresql+psycopg2://nobody@127.0.0.1:{free_port()}/none",
        "ESCALATION_RETRY_FILE": str(base / "retry.jsonl"),
    }
    with private_bot(base, overrides) as bot:
        yield bot, base


def test_with_the_database_down_112_still_comes_first_and_the_escalation_waits(
    bot_without_database,
):
    bot, base = bot_without_database
    sender = new_sender()
    bot.turn(sender, "hej")
    assert bot.turn(sender, ACUTE)[:2] == ["utter_risk_acute", "utter_risk_offer_human"]
    retry_file = base / "retry.jsonl"
    deadline = time.monotonic() + 15
    while not retry_file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    [line] = retry_file.read_text().splitlines()
    waiting = json.loads(line)
    assert waiting["level"] == "acute" and waiting["categories"] == ["travel"]
    assert sender not in line
    logs = bot.logs()
    assert "Escalation store not reachable at start-up (OperationalError)" in logs
    assert "Escalation could not be stored (OperationalError): queued for retry" in logs


def test_the_safety_check_asks_and_a_yes_is_answered_as_acute_and_nothing_else(bot):
    sender = new_sender()
    bot.turn(sender, "hej")
    assert bot.turn(sender, "jag orkar inte mer") == ["utter_risk_check_suicide_self"]
    assert bot.slots(sender)["risk_check"] == "suicide"
    # The button sends the word itself: a typed "ja" works the same.
    responses = bot.turn(sender, "Ja")
    assert responses == ["utter_risk_acute_suicide_self", "utter_risk_offer_human_self"]
    slots = bot.slots(sender)
    assert slots["risk_check"] is None and slots["risk_confirmed"] is True
    assert (slots["risk_level"], slots["risk_subjects"]) == ("acute", ["self"])


def test_no_to_the_safety_check_goes_back_to_the_conversation(bot):
    sender = new_sender()
    bot.turn(sender, "hej")
    bot.turn(sender, "jag orkar inte mer")
    after_no = bot.turn(sender, "nej")
    # Asked about their own thoughts: warmth and where to talk, not "let us go on".
    assert after_no[0] == "utter_risk_check_no_suicide_self"
    # No more risk answers; what "jag orkar inte mer" asked for (support for the relative)
    # may follow, now that the question is answered.
    assert not any(name.startswith("utter_risk_") for name in after_no[1:])
    # Nothing is added: no acute level and no confirmation (a signal the trained model saw
    # in "jag orkar inte mer" may already be escalated, quietly, for staff to judge).
    slots = bot.slots(sender)
    assert slots["risk_level"] != "acute" and slots["risk_confirmed"] is False
    assert slots["risk_check_answer"] == "no"
    assert "utter_how_to_talk" in bot.turn(sender, "hur pratar jag med honom om det")


def test_a_signal_and_a_later_step_add_up_to_acute(bot):
    sender = new_sender()
    bot.turn(sender, "hej")
    bot.turn(sender, ELEVATED)
    assert bot.turn(sender, "nu har han köpt en biljett")[0] == "utter_risk_acute"


def test_the_relatives_own_suicide_plan_gets_the_crisis_answer_alone(bot):
    sender = new_sender()
    bot.turn(sender, "hej")
    responses = bot.turn(sender, "orkar inte mer, i kväll tar jag alla tabletter")
    assert responses == ["utter_risk_acute_suicide_self", "utter_risk_offer_human_self"]
    assert bot.slots(sender)["risk_subjects"] == ["self"]
