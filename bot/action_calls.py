"""The action server's answers to what is not an action call (issue 17).

rasa_sdk runs whatever reaches POST /webhook and answers every exception with a 500 that
echoes the request body (what a relative wrote, in the tracker) and the exception's text.
Here, on the action server's Sanic app:

- a body that is not an action call of the shape Rasa sends (`ACTION_CALL_SCHEMA`), or
  holds a lone surrogate, gets a 400 before any action runs, and a deflated body that
  inflates past the request limit a 413 (rasa_sdk inflates without a limit);
- Sanic's own errors (404, 405, 413, ...) keep their status, with a generic JSON body;
- anything else is a 500 with a generic body; only the exception's type is logged.
"""

from __future__ import annotations

import copy
import json
import logging
import zlib
from typing import Any

from jsonschema import Draft7Validator
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request

logger = logging.getLogger(__name__)

_STRING_OR_NULL = {"type": ["string", "null"]}
_OBJECT_OR_NULL = {"type": ["object", "null"]}

# What Rasa 3.6 sends (RemoteAction._action_call_format, DialogueStateTracker.current_state),
# as far as rasa_sdk and the actions read it.
ACTION_CALL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["next_action", "tracker"],
    "properties": {
        "next_action": {"type": "string"},
        "sender_id": {"type": "string"},
        "version": {"type": "string"},
        "domain": {"type": "object"},
        "tracker": {
            "type": "object",
            "required": ["sender_id"],
            "properties": {
                "sender_id": {"type": "string"},
                "slots": {"type": "object"},
                "latest_message": {
                    "type": ["object", "null"],
                    "properties": {
                        "text": _STRING_OR_NULL,
                        "intent": {
                            "type": ["object", "null"],
                            "properties": {
                                "name": _STRING_OR_NULL,
                                "confidence": {"type": ["number", "null"]},
                            },
                        },
                        "intent_ranking": {"type": ["array", "null"], "items": {"type": "object"}},
                        "entities": {"type": ["array", "null"], "items": {"type": "object"}},
                        "metadata": _OBJECT_OR_NULL,
                    },
                },
                "events": {
                    "type": ["array", "null"],
                    "items": {
                        "type": "object",
                        "required": ["event"],
                        "properties": {
                            "event": {"type": "string"},
                            "timestamp": {"type": ["number", "null"]},
                            "text": _STRING_OR_NULL,
                            "name": _STRING_OR_NULL,
                            "parse_data": _OBJECT_OR_NULL,
                            "metadata": _OBJECT_OR_NULL,
                        },
                    },
                },
                "paused": {"type": "boolean"},
                "followup_action": _STRING_OR_NULL,
                "active_loop": _OBJECT_OR_NULL,
                "latest_action_name": _STRING_OR_NULL,
                "latest_input_channel": _STRING_OR_NULL,
                "latest_event_time": {"type": ["number", "null"]},
                "latest_action": _OBJECT_OR_NULL,
            },
        },
    },
}
_EVENTS_SCHEMA = ACTION_CALL_SCHEMA["properties"]["tracker"]["properties"]["events"]
_JSON_TYPES = {"string": (str,), "number": (int, float), "object": (dict,), "null": (type(None),)}


def _without_event_items(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the events' item schema left out (checked by `_event_is_valid`)."""
    without = copy.deepcopy(schema)
    del without["properties"]["tracker"]["properties"]["events"]["items"]
    return without


def _kinds(types: str | list[str]) -> tuple[type, ...]:
    names = [types] if isinstance(types, str) else types
    return tuple(kind for name in names for kind in _JSON_TYPES[name])


# Each of a long conversation's events checked by the generic validator was most of the
# action server's time per call (issue 21's profile): the events' item schema above is
# checked by this loop instead, which reads the same schema.
_EVENT_REQUIRED = tuple(_EVENTS_SCHEMA["items"]["required"])
_EVENT_FIELDS = {
    name: _kinds(rule["type"]) for name, rule in _EVENTS_SCHEMA["items"]["properties"].items()
}
_validator = Draft7Validator(_without_event_items(ACTION_CALL_SCHEMA))


def _event_is_valid(event: Any) -> bool:
    if not isinstance(event, dict) or any(name not in event for name in _EVENT_REQUIRED):
        return False
    for name, kinds in _EVENT_FIELDS.items():
        if name in event:
            value = event[name]
            # JSON Schema's "number" is not a boolean, though Python's bool is an int.
            if isinstance(value, bool) or not isinstance(value, kinds):
                return False
    return True


def is_an_action_call(call: Any) -> bool:
    if not _validator.is_valid(call):
        return False
    events = call["tracker"].get("events")
    return events is None or all(_event_is_valid(event) for event in events)


# Where a lone surrogate can come from: a \uD800-\uDFFF escape, or its UTF-8 bytes (json
# decodes bytes with "surrogatepass"). A body with neither needs no encoding check, which
# re-encoded the whole tracker on every call (issue 21's profile). Plain substring tests:
# a regular expression over the whole body cost a millisecond a call.
_SURROGATE_MARKS = (b"\\ud", b"\\uD", b"\xed")


def _may_hold_a_surrogate(body: bytes) -> bool:
    return any(mark in body for mark in _SURROGATE_MARKS)


class NotAnActionCall(ValueError):
    def __init__(self, status: int, problem: str, action_name: str = "") -> None:
        super().__init__(problem)
        self.status = status
        self.problem = problem
        # Rasa reads `action_name` from every 400 an action server answers.
        self.action_name = action_name


def action_call_of(body: bytes, content_encoding: str | None, max_bytes: int) -> dict[str, Any]:
    """The action call in a request body, or NotAnActionCall with the status to answer."""
    if content_encoding == "deflate":
        inflater = zlib.decompressobj()
        try:
            body = inflater.decompress(body, max_bytes)
        except zlib.error:
            raise NotAnActionCall(400, "The body is not deflate-compressed.") from None
        if inflater.unconsumed_tail:
            raise NotAnActionCall(413, "The request body is too large.")
    try:
        call = json.loads(body)
    except (ValueError, RecursionError):
        raise NotAnActionCall(400, "The body is not JSON.") from None
    if not is_an_action_call(call):
        raise NotAnActionCall(400, "The body is not an action call.")
    if _may_hold_a_surrogate(body):
        try:  # a lone surrogate ("\\ud800" in the JSON): hashing or storing it fails later
            json.dumps(call, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            problem = "The body is not valid Unicode."
            raise NotAnActionCall(400, problem, call["next_action"]) from None
    return call


def fully_read(request: Request) -> bool:
    """False when Sanic stopped reading the body (over the size limit): it runs request
    middleware again while answering that error, and the 413 must stand."""
    try:
        declared = int(request.headers.get("content-length") or 0)
    except ValueError:
        return True
    return len(request.body or b"") >= declared


def guard_action_server(app: Sanic, max_bytes: int) -> None:
    """Installs the checks and answers above on rasa_sdk's app."""

    @app.middleware("request")
    async def refuse_what_is_not_an_action_call(request: Request):
        if request.method != "POST" or request.path != "/webhook" or not fully_read(request):
            return None
        encoding = request.headers.get("Content-Encoding")
        try:
            call = action_call_of(request.body, encoding, max_bytes)
        except NotAnActionCall as refused:
            answer = {"error": refused.problem, "action_name": refused.action_name}
            return response.json(answer, status=refused.status)
        if encoding != "deflate":
            # rasa_sdk reads `request.json`: the call parsed here, not parsed a second time.
            request.parsed_json = call
        return None

    # Registered after rasa_sdk's handler for Exception, so it replaces it.
    @app.exception(Exception)
    async def answer_without_the_request(request: Request, error: Exception):
        if isinstance(error, SanicException) and error.status_code < 500:
            status = error.status_code
            return response.json({"error": f"The request was refused ({status})."}, status=status)
        logger.error("Action server error: %s", type(error).__name__)
        return response.json({"error": "The action server could not run the action."}, status=500)
