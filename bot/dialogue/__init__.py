"""Dialogue components of the Rasa pipeline (policies)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

Event = TypeVar("Event")

# Slots of the risk screening's safety check (actions/risk.py sets them, SafetyCheckPolicy
# reads them): the category of the question asked in this turn (empty otherwise), and
# whether this message answered it.
CHECK_SLOT = "risk_check"
CHECK_ANSWERED_SLOT = "risk_check_answered"
# The answer given (yes, no, not_now, dont_know), and what every question's response is
# called: the message before it is the one the question set aside.
CHECK_ANSWER_SLOT = "risk_check_answer"
CHECK_RESPONSE_PREFIX = "utter_risk_check_"
CHECK_NO_RESPONSE = "utter_risk_check_no"  # the reply to "nej", not a question
# What answers the topics of a message (actions/answers.py).
TOPIC_ACTION = "action_answer_topic"
# Who is at risk in the signals seen so far (self, person, child, third_party).
SUBJECTS_SLOT = "risk_subjects"
# A turn is at most this many bubbles (a counsellor's rhythm: acknowledge, one piece of
# information, one question or choice); what does not fit is offered as a quick reply.
MAX_BUBBLES_PER_TURN = 3


def set_aside(turns: Iterable[tuple[str, str, Event]]) -> Event | None:
    """The user message the latest safety question was asked about, if that question was
    the bot's last turn before the current message.

    `turns`: the conversation newest first, as (kind, response, event): kind "user" or
    "bot", response the bot's response name. The policy (Rasa's event objects) and the
    topic action (the action server's event dicts) both read the conversation this way."""
    users_seen, asked = 0, False
    for kind, response, event in turns:
        if kind == "user":
            if asked:
                return event
            users_seen += 1
            if users_seen > 1:
                return None  # the question was not the bot's last turn
        elif kind == "bot" and users_seen == 1:
            asked = asked or (
                response.startswith(CHECK_RESPONSE_PREFIX) and response != CHECK_NO_RESPONSE
            )
    return None
