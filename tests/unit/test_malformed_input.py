"""Input `make fuzz` found Rasa or the stores could not take (issue 17): lone surrogates and
NUL characters in a message, unusable conversation ids, malformed /model/parse bodies, and
Rasa's structured error logs that carried the relative's message."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest
import structlog

from bot.channels.input_limits import readable, storable, usable_id
from bot.rasa_guards import parse_request_problem


@pytest.mark.parametrize("update_id", ["\ud800", "a\x00", 7, "SM" + "0" * 32])
def test_a_delivery_id_is_remembered_only_when_a_provider_could_have_sent_it(update_id):
    """A Telegram update_id with a lone surrogate could not be hashed: a 500."""
    from bot.channels.deliveries import usable_id as usable_delivery_id

    expected = update_id if isinstance(update_id, int) or update_id.isprintable() else None
    assert usable_delivery_id(update_id) == (None if expected is None else str(update_id))


@pytest.mark.parametrize("metadata", [5, "x", ["a"], {"x": "\ud800"}, {"x": {1, 2}}])
def test_metadata_rasa_cannot_keep_is_dropped(metadata):
    assert storable(metadata) is None


def test_metadata_as_a_channel_sends_it_is_kept():
    assert storable({"locale": "sv", "n": 1}) == {"locale": "sv", "n": 1}


def test_a_message_becomes_valid_unicode_without_nul():
    assert readable("hej \ud800 min son\x00") == "hej \ufffd min son"
    assert readable("emoji \ud83d\ude00 stays") == "emoji \U0001f600 stays"
    assert readable("åäö, rad\nrad") == "åäö, rad\nrad"
    assert readable(None) is None


@pytest.mark.parametrize("sender", ["s\ud800", "a\x00b", "rad\nbrytning"])
def test_conversation_ids_the_stores_cannot_keep_are_unusable(sender):
    assert not usable_id(sender)


@pytest.mark.parametrize("sender", [None, "", "3f0c9a", "telegram-a1b2", "Åsa-123"])
def test_ordinary_conversation_ids_are_usable(sender):
    assert usable_id(sender)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[" * 10_000,
        b"[1]",
        b'{"text": null}',
        b'{"text": 5}',
        b'{"text": ["hej"]}',
        b'{"text": "\\ud800"}',
        b'{"text": "hej", "message_id": 5}',
        json.dumps({"text": "a" * 4001}).encode(),
    ],
)
def test_a_parse_body_rasa_cannot_parse_is_refused(body):
    assert parse_request_problem(body, max_chars=4000)


@pytest.mark.parametrize(
    "body",
    [b'{"text": "kan soc ta mina barn"}', b'{"text": "", "message_id": "m1"}'],
)
def test_a_parse_body_as_the_action_server_sends_it_passes(body):
    assert parse_request_problem(body, max_chars=4000) is None


WRITTEN = "Hemlig text om min son Adam"


@pytest.mark.parametrize("terminal", [False, True], ids=["json", "console"])
def test_rasas_error_logs_carry_no_message_text(monkeypatch, terminal):
    """Rasa's REST channel logs `text=` and, as JSON, every frame's local variables."""
    from rasa.utils.log_utils import configure_structlog

    from bot.privacy.log_filter import keep_rasa_structlog_free_of_message_text

    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal, raising=False)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    try:
        configure_structlog(logging.INFO)
        keep_rasa_structlog_free_of_message_text()

        message = WRITTEN  # a variable, as in Rasa: the traceback's source lines show names

        def fail(text: str) -> None:
            raise ValueError("could not process")

        try:
            fail(message)
        except ValueError:
            structlog.get_logger().exception("rest.message.received.failure", text=message)
    finally:
        logging.getLogger().removeHandler(handler)
        structlog.reset_defaults()
    logged = stream.getvalue()
    assert "rest.message.received.failure" in logged
    assert "ValueError" in logged  # what failed is still there
    assert "Hemlig" not in logged and "Adam" not in logged
