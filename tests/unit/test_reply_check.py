"""bot.rasa_hot_paths.ReplyCheck judges every action server reply as Rasa's full schema does
(issue 21: the events are checked against the one alternative their name selects)."""

from __future__ import annotations

import itertools

import pytest
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from bot.rasa_hot_paths import ReplyCheck

SCHEMA = RemoteAction.action_response_format_spec()
FULL = validator_for(SCHEMA)(SCHEMA)
CHECK = ReplyCheck(SCHEMA)
# A value of every JSON type, and a few of the shapes the schema looks into.
VALUES = [None, True, 0, 1.5, "", "x", [], [{}], [1], {}, {"name": "x", "confidence": 0.5}]
ALTERNATIVES = SCHEMA["properties"]["events"]["items"]["oneOf"]


def events() -> list:
    real = [
        UserUttered("hej", {"name": "greet", "confidence": 0.9}).as_dict(),
        ActionExecuted("action_answer_topic").as_dict(),
        BotUttered("Hej!", {"buttons": []}, {"utter_action": "utter_greet"}).as_dict(),
        SlotSet("risk_level", "elevated").as_dict(),
    ]
    made = []
    for alternative in ALTERNATIVES:
        name = alternative["properties"]["event"]["const"]
        made.append({"event": name})
        for field, value in itertools.product(alternative["properties"], VALUES):
            if field != "event":
                made.append({"event": name, field: value})
        made.append({"event": name, "timestamp": "yesterday"})
        made.append({"event": name, "metadata": []})
    odd = [None, 1, "user", [], {}, {"event": 7}, {"event": "no_such_event"}, {"name": "x"}]
    return real + made + odd


@pytest.mark.parametrize("event", events())
def test_each_event_is_judged_as_the_full_schema_judges_it(event):
    reply = {"events": [event], "responses": []}
    assert CHECK.is_valid(reply) == FULL.is_valid(reply)


@pytest.mark.parametrize(
    "reply",
    [
        {},
        {"events": []},
        {"events": None},
        {"events": "x"},
        {"events": {}},
        {"responses": [{"text": "hej"}]},
        {"responses": [1]},
        {"responses": "x"},
        [],
        "x",
        None,
        {"events": [SlotSet("a", 1).as_dict(), {"event": "no_such_event"}]},
    ],
)
def test_each_reply_is_judged_as_the_full_schema_judges_it(reply):
    assert CHECK.is_valid(reply) == FULL.is_valid(reply)


def test_valid_and_invalid_replies_are_both_among_those_compared():
    verdicts = {FULL.is_valid({"events": [event]}) for event in events()}
    assert verdicts == {True, False}
