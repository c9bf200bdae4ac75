"""The Rasa server classifies each question of a several-question message while it parses
the message (issue 21).

"Hur gör jag en orosanmälan och får han veta att det var jag?" asks two things. The
answer action (bot/topics.py) answers every question it finds, and used to classify each
clause by calling the Rasa server's /model/parse from the action server. Under load that
call queued behind every other relative's message on the same server, so such messages
waited twice: they made the slowest twentieth of all answers. Now the Rasa server
classifies the clauses in the same turn, with the same pipeline as /model/parse (no
conversation), and puts only [intent, confidence] per clause, no text, into the message's
parse data under CLAUSE_INTENTS_KEY.
"""

from __future__ import annotations

import functools

from bot.topics import CLAUSE_INTENTS_KEY, question_clauses


def classify_each_question_with_the_message() -> None:
    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor

    parse = MessageProcessor.parse_message
    if getattr(parse, "classifies_clauses", False):
        return

    @functools.wraps(parse)
    async def parse_message(self, message, tracker=None, only_output_properties=True):
        parsed = await parse(self, message, tracker, only_output_properties)
        clauses = question_clauses(parsed.get("text") or "")
        if clauses:
            parsed[CLAUSE_INTENTS_KEY] = [
                _intent_of(await parse(self, UserMessage(clause), None, True)) for clause in clauses
            ]
        return parsed

    parse_message.classifies_clauses = True
    MessageProcessor.parse_message = parse_message


def _intent_of(parsed: dict) -> list:
    intent = parsed.get("intent") or {}
    return [intent.get("name"), float(intent.get("confidence") or 0.0)]
