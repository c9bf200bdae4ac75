"""What the action server takes for an action call (bot/action_calls.py, issue 17)."""

from __future__ import annotations

import json
import zlib

import pytest

from bot.action_calls import NotAnActionCall, action_call_of

LIMIT = 1_000_000
CALL = {
    "next_action": "action_session_start",
    "sender_id": "abc",
    "tracker": {
        "sender_id": "abc",
        "slots": {"age_group": None},
        "latest_message": {"text": "hej", "intent": {"name": "greet", "confidence": 0.9}},
        "events": [{"event": "user", "timestamp": 1.0, "text": "hej", "parse_data": {}}],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    },
    "domain": {},
    "version": "3.6.21",
}


def test_a_call_as_rasa_sends_it_is_taken_plain_or_deflated():
    body = json.dumps(CALL).encode()
    assert action_call_of(body, None, LIMIT) == CALL
    assert action_call_of(zlib.compress(body), "deflate", LIMIT) == CALL


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[" * 100_000,
        b'{"next_action": "x"',
        json.dumps([CALL]).encode(),
        json.dumps({**CALL, "next_action": 5}).encode(),
        json.dumps({**CALL, "version": {}}).encode(),
        json.dumps({key: value for key, value in CALL.items() if key != "tracker"}).encode(),
        json.dumps({**CALL, "tracker": {**CALL["tracker"], "sender_id": 1}}).encode(),
        json.dumps({**CALL, "tracker": {**CALL["tracker"], "events": [1, 2]}}).encode(),
        json.dumps({**CALL, "tracker": {**CALL["tracker"], "latest_message": []}}).encode(),
        json.dumps({**CALL, "tracker": {**CALL["tracker"], "sender_id": "s\ud800"}}).encode(),
    ],
)
def test_anything_else_is_a_400(body):
    with pytest.raises(NotAnActionCall) as refused:
        action_call_of(body, None, LIMIT)
    assert refused.value.status == 400


def test_a_refused_call_names_its_action_as_rasa_expects_of_a_400():
    """Rasa reads `action_name` from an action server's 400; without it, a KeyError."""
    body = json.dumps({**CALL, "tracker": {**CALL["tracker"], "sender_id": "s\ud800"}})
    with pytest.raises(NotAnActionCall) as refused:
        action_call_of(body.encode(), None, LIMIT)
    assert refused.value.action_name == "action_session_start"


def test_a_deflated_body_that_is_not_deflate_is_a_400():
    with pytest.raises(NotAnActionCall) as refused:
        action_call_of(json.dumps(CALL).encode(), "deflate", LIMIT)
    assert refused.value.status == 400


def test_a_deflated_body_that_inflates_past_the_limit_is_a_413_without_inflating_it_all():
    bomb = zlib.compress(b" " * (50 * LIMIT))  # 50 MB of spaces in about 50 kB
    with pytest.raises(NotAnActionCall) as refused:
        action_call_of(bomb, "deflate", LIMIT)
    assert refused.value.status == 413


@pytest.mark.parametrize("field", ["event", "timestamp", "text", "name", "parse_data", "metadata"])
@pytest.mark.parametrize("value", [None, True, 0, 1.5, "x", [], {}, "missing"])
def test_events_are_judged_exactly_as_the_schema_judges_them(field, value):
    """The events' items are checked by a loop instead of the generic validator (issue 21):
    every kind of value in every field is taken or refused as the full schema says."""
    from jsonschema import Draft7Validator

    from bot.action_calls import ACTION_CALL_SCHEMA, is_an_action_call

    event = {"event": "user", "timestamp": 1.0, "text": "hej", "parse_data": {}}
    if value == "missing":
        event.pop(field, None)
    else:
        event[field] = value
    call = {**CALL, "tracker": {**CALL["tracker"], "events": [event, {"event": "action"}]}}
    assert is_an_action_call(call) == Draft7Validator(ACTION_CALL_SCHEMA).is_valid(call)


def test_a_surrogate_escape_in_upper_case_is_found_too():
    body = json.dumps({**CALL, "tracker": {**CALL["tracker"], "sender_id": "s\ud800"}})
    with pytest.raises(NotAnActionCall):
        action_call_of(body.replace("\\ud800", "\\uD800").encode(), None, LIMIT)
