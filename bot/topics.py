"""Which topics a message asks about.

A topic is the part of a question intent after `ask_` ("ask_police" -> "police"); the
intents `request_human` and `share_worry` are topics of their own.

Relatives often ask two or three things at once ("vad händer om soc kopplas in? och får
han veta att det var jag?"). The classifier gives one intent per message, so a message that
holds several questions is split into clauses, each clause is classified on its own, and
every confidently recognised topic is answered, in the order asked.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable

from bot.text import fold

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
    "ask_gangs",
    "ask_honour",
    "ask_own_safety",
    "ask_school",
    "ask_online",
    "ask_legal",
    "request_human",
    "share_worry",
)

# A clause's topic is answered only when the classifier is this sure of it.
CLAUSE_MIN_CONFIDENCE = 0.6
MAX_TOPICS = 3
MAX_CLAUSES_CLASSIFIED = 6
MIN_CLAUSE_WORDS = 3

# A conjunction starts a new question when a question word follows ("... och vad gör
# polisen") or a verb before its subject ("... och får han veta"), but not in a statement
# ("min son och hans kompisar", "... och har börjat umgås").
_WH_WORD = r"vad|hur|vem|vilk\w*|nar|vart|varfor"
_INVERTED_QUESTION = (
    r"(?:kan|kommer|far|ska|skulle|maste|blir|ar|har|tar|gor|finns|vet)\s+"
    r"(?:jag|du|han|hon|hen|de|dom|vi|man|det|soc|socialen|socialtjansten|polisen|sapo|nan|nagon)"
)
_CLAUSE_BREAK = re.compile(
    rf"[?!.;\n]+|\s(?:och|samt|men|plus|eller)\s+(?=(?:{_WH_WORD})\b|{_INVERTED_QUESTION}\b)"
)

Classifier = Callable[[str], Awaitable[tuple[str | None, float]]]
# In a message's parse data: [intent, confidence] of each of its question clauses, set by
# the Rasa server while it parses the message (bot/nlu/clauses.py).
CLAUSE_INTENTS_KEY = "clause_intents"


def topic_for_intent(intent: str | None) -> str | None:
    if intent not in TOPIC_INTENTS:
        return None
    return intent.removeprefix("ask_")


def split_questions(text: str) -> list[str]:
    """Clauses of at least three words, in order. One clause means one question."""
    folded = fold(text or "")
    clauses, start = [], 0
    for match in _CLAUSE_BREAK.finditer(folded):
        clauses.append(text[start : match.start()])
        start = match.end()
    clauses.append(text[start:])
    return [clause.strip() for clause in clauses if len(clause.split()) >= MIN_CLAUSE_WORDS]


def _ordered_unique(topics: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for topic in topics:
        if topic not in seen:
            seen.append(topic)
    return seen


async def answer_topics(latest_message: dict, classify: Classifier | None = None) -> list[str]:
    """The topics to answer for a parsed message, in the order asked, at most three.

    `classify` maps a clause to (intent, confidence); without it, or for a one-question
    message, only the message's own intent counts.
    """
    primary = topic_for_intent((latest_message.get("intent") or {}).get("name"))
    if primary is None:
        return []
    results = _clause_intents(latest_message)
    if results is None:
        # Parsed without them (before issue 21, or outside the Rasa server): asked now.
        clauses = question_clauses(latest_message.get("text", ""))
        if classify is None or not clauses:
            return [primary]
        # All clauses at once: the relative waits for one classification, not one per clause.
        results = await asyncio.gather(*(classify(clause) for clause in clauses))
    if len(results) < 2:
        return [primary]
    found = [
        topic
        for intent, confidence in results
        if (topic := topic_for_intent(intent)) and confidence >= CLAUSE_MIN_CONFIDENCE
    ]
    if primary in found:
        topics = _ordered_unique([*found, primary])
    elif found and _confidence_of(latest_message) < CLAUSE_MIN_CONFIDENCE:
        # The whole message is a guess (a story and a question: 0.42) while a clause is a
        # clear question: the clear questions are answered, the guess is not.
        topics = _ordered_unique(found)
    else:
        topics = _ordered_unique([primary, *found])
    # Telling the story and asking in the same message: the questions get the answers.
    if len(topics) > 1 and "share_worry" in topics:
        topics.remove("share_worry")
    return topics[:MAX_TOPICS]


# "Kan jag anmäla anonymt?" is a question about a report, not about this chat: the
# classifier often files both under ask_anonymity, whose answer is the chat's own.
_ABOUT_A_REPORT = re.compile(r"\b(?:\w*anmal\w*|tips\w*|soc\w*|polis\w*|sapo)\b")
_ABOUT_THIS_CHAT = re.compile(
    r"\b(?:anonym\w* har|chatt\w*|sms\w*|telegram|whatsapp|ip\w*"
    r"|sparar ni|hos er|med dig|skriver har|att jag skriver|det har anonymt)\b"
)


# "Är det säkert att skriva här på Telegram?": this chat's anonymity, not advice on a
# child's phone (blind round 2 filed it under ask_online).
_PRIVACY_WORDS = re.compile(
    r"\b(?:saker\w*|sparas|sparar ni|anonym\w*|avlyss\w*"
    r"|(?:se|ser|lasa|laser) (?:det|vad) jag (?:skriver|skrivit)"
    r"|(?:kan|ser|laser) (?:nagon|han|hon|min \w+) (?:se |lasa )?(?:det|vad|mina))\b"
)
_CHANNEL_WORDS = re.compile(r"\b(?:telegram|whatsapp|sms\w*|chatt\w*|skriva har|skriver har)\b")


def question_clauses(text: str) -> list[str]:
    """The clauses to classify one by one: none for a one-question message; of a long
    story, the last MAX_CLAUSES_CLASSIFIED, where its questions are (a message of hundreds
    of clauses must not become hundreds of classifications: issue 17)."""
    clauses = split_questions(text)
    return clauses[-MAX_CLAUSES_CLASSIFIED:] if len(clauses) >= 2 else []


def _confidence_of(latest_message: dict) -> float:
    """The classifier's confidence in the whole message (1 when not given)."""
    confidence = (latest_message.get("intent") or {}).get("confidence", 1.0)
    return float(confidence) if isinstance(confidence, int | float) else 1.0


def _clause_intents(latest_message: dict) -> list[tuple[str | None, float]] | None:
    stored = latest_message.get(CLAUSE_INTENTS_KEY)
    if not isinstance(stored, list):
        return None
    return [
        (intent if isinstance(intent, str) else None, float(confidence))
        for intent, confidence in (item for item in stored if _is_pair(item))
    ]


def _is_pair(item) -> bool:
    return (
        isinstance(item, list | tuple)
        and len(item) == 2
        and isinstance(item[1], int | float)
        and not isinstance(item[1], bool)
    )


# Topics after which "kan jag vara anonym?" means anonymous towards the person, in a
# report or a tip, not in this chat.
_REPORT_TOPICS = frozenset(
    {"social_services", "child_custody", "how_to_report", "police", "confidentiality", "school"}
)


def sharpen(topics: list[str], text: str, current_topic: str | None = None) -> list[str]:
    """The topics with a finer answer where the words ask for one: anonymity of a report
    (`anonymity_report`) rather than of this chat, also when the conversation is about a
    report and the words do not name this chat; this chat's anonymity rather than advice
    on a phone when the question is whether writing here is safe. A report's anonymity
    asked beside "får hen veta att det var jag?" is one answer, confidentiality's."""
    folded = fold(text or "")
    about_this_chat = _ABOUT_THIS_CHAT.search(folded)
    about_a_report = not about_this_chat and (
        _ABOUT_A_REPORT.search(folded) or current_topic in _REPORT_TOPICS
    )
    about_this_channel = _CHANNEL_WORDS.search(folded) and _PRIVACY_WORDS.search(folded)
    sharpened: list[str] = []
    for topic in topics:
        if topic == "anonymity" and about_a_report:
            topic = "anonymity_report"
        elif topic == "online" and about_this_channel:
            topic = "anonymity"
        if topic not in sharpened:
            sharpened.append(topic)
    if "anonymity_report" in sharpened and "confidentiality" in sharpened:
        sharpened.remove("anonymity_report")
    return sharpened


# A follow-up that names another authority is a new question: "men om jag ringer soc, tar
# dom honom då?" after advice on talking to him means social services, not a deeper step of
# the talking advice (blind round 2).
_NAMED_TOPICS = (
    (
        "child_custody",
        re.compile(
            r"\b(?:ta|tar|tas|tog)\s+(?:dom\s+|de\s+|soc\w*\s+)?"
            r"(?:honom|henne|hen|barn\w*|mitt barn|min son|min dotter|ungarna)\b"
            r"|\bomhandert\w*|\blvu\b|\bplacera\w*|\bfosterhem\w*"
        ),
    ),
    ("social_services", re.compile(r"\b(?:soc|socialen|socialtjanst\w*|socialsekreterar\w*)\b")),
    ("police", re.compile(r"\b(?:polis\w*|sapo|tipsa\w*)\b")),
    ("school", re.compile(r"\b(?:skola\w*|skolan|rektor\w*|kurator\w*|mentor\w*)\b")),
)


def topic_named_in(text: str) -> str | None:
    """The topic a short message names by an authority's word ("soc", "polisen"), if any."""
    folded = fold(text or "")
    for topic, pattern in _NAMED_TOPICS:
        if pattern.search(folded):
            return topic
    return None
