"""Rasa classifies the beginning of a long message, and keeps all of it (issue 17).

DIET's transformer layer compares every token with every other: a message of 4 000
characters (the most a relative may send; 4 000 tokens when they are emoji) held Rasa's
event loop for about a second, every conversation waiting. The intent of a message is in
its beginning, so the NLU pipeline reads the first NLU_MAX_CHARS characters, while the
parse result, and so the stored conversation and the risk screening (actions/risk.py),
keep the whole text. Nothing in the trained model changes.
"""

from __future__ import annotations

import functools

NLU_MAX_CHARS = 1000


def classify_the_beginning_of_long_messages() -> None:
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor.parse_message
    if getattr(original, "reads_the_beginning", False):
        return

    @functools.wraps(original)
    async def parse_message(self, message, tracker=None, only_output_properties=True):
        text = message.text
        if not isinstance(text, str) or len(text) <= NLU_MAX_CHARS:
            return await original(self, message, tracker, only_output_properties)
        message.text = text[:NLU_MAX_CHARS]
        try:
            parsed = await original(self, message, tracker, only_output_properties)
        finally:
            message.text = text
        parsed["text"] = text
        return parsed

    parse_message.reads_the_beginning = True
    MessageProcessor.parse_message = parse_message
