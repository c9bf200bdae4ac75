"""Which topics a message asks about.

A topic is the part of a question intent after `ask_` ("ask_police" -> "police"); the
intents `request_human` and `share_worry` are topics of their own. Relatives often ask two
things at once ("vad händer om soc kopplas in och får han veta att det var jag?"); DIET
then ranks both intents high, so a second topic is answered too when its confidence is
high enough and the message really holds more than one sentence or question.
"""

from __future__ import annotations

import re
from typing import Any

TOPIC_INTENTS = (
    "ask_anonymity",
    "ask_social_services",
    "ask_child_custody",
    "ask_police",
    "ask_how_to_report",
    "ask_confidentiality",
    "ask_warning_signs",
    "ask_how_to_talk",
    "ask_support_for_me",
    "ask_leaving_support",
    "ask_returnee",
    "ask_contacts",
    "request_human",
    "share_worry",
)

# A second topic must reach this confidence to be answered as well.
SECOND_TOPIC_MIN_CONFIDENCE = 0.2
MAX_TOPICS = 2

_CLAUSE_BREAK = re.compile(r"[?.!\n]+|\s(?:och|samt|plus|men)\s")


def topic_for_intent(intent: str | None) -> str | None:
    if intent not in TOPIC_INTENTS:
        return None
    return intent.removeprefix("ask_")


def _looks_like_several_questions(text: str) -> bool:
    clauses = [part for part in _CLAUSE_BREAK.split(text or "") if len(part.split()) >= 3]
    return len(clauses) >= 2


def answer_topics(latest_message: dict[str, Any]) -> list[str]:
    """The topics to answer for a parsed message, best first, at most two."""
    intent = (latest_message.get("intent") or {}).get("name")
    primary = topic_for_intent(intent)
    if primary is None:
        return []
    topics = [primary]
    if not _looks_like_several_questions(latest_message.get("text", "")):
        return topics
    for ranked in latest_message.get("intent_ranking") or []:
        topic = topic_for_intent(ranked.get("name"))
        if len(topics) == MAX_TOPICS:
            break
        if topic and topic not in topics and topic != "share_worry":
            if ranked.get("confidence", 0.0) >= SECOND_TOPIC_MIN_CONFIDENCE:
                topics.append(topic)
    return topics
