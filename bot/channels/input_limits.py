"""Bounded work per message: a message longer than the limit never reaches NLU, redaction
or storage, on any channel. The relative gets a polite answer instead, and nothing of the
message is kept.

Without the limit one long message held the event loop for seconds (redaction and the
NLU pipeline grow with the text), stalling every conversation, acute ones included
(issue 17). Each channel hands its `on_new_message` through `bounded`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage

from bot.bootstrap import services
from bot.channels.rendering import texts
from bot.contacts import load_directory

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[None]]


def too_long(text: str | None, max_chars: int) -> bool:
    return text is not None and len(text) > max_chars


def readable(text: str | None) -> str | None:
    """The text as valid Unicode: a lone surrogate (JSON allows "\\ud800") becomes U+FFFD and
    NUL characters go. Either made spaCy, SQLite or PostgreSQL fail on the message, so the
    relative got no answer (issue 17, `make fuzz`)."""
    if text is None:
        return None
    valid = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return valid.replace("\x00", "")


def storable(metadata: Any) -> dict | None:
    """A channel's metadata as Rasa can keep it: an object of valid Unicode, else nothing.
    A REST body's `"metadata": 5` failed Rasa's tracker, and `{"x": "\\ud800"}` every
    action call of the conversation (issue 17, `make fuzz`)."""
    if not isinstance(metadata, dict):
        return None
    try:
        json.dumps(metadata, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        return None
    return metadata


def usable_id(sender_id: str | None) -> bool:
    """A conversation id the stores can keep: printable, valid Unicode."""
    return sender_id is None or (isinstance(sender_id, str) and sender_id.isprintable())


def channel_answer(kind: str, **values) -> str:
    """An answer the channels give on their own (data/texts/messaging.yml: too_long, too_fast,
    too_many_chats, unavailable), with the deployment's phone numbers filled in."""
    numbers = load_directory(services().settings.contacts_file).phone_placeholders()
    return texts()[kind].format(**values, **numbers)


def too_long_answer(max_chars: int) -> str:
    return channel_answer("too_long", max_chars=max_chars)


def bounded(on_new_message: OnNewMessage, max_chars: int) -> OnNewMessage:
    """`on_new_message`, but a message over `max_chars` is answered with the polite text
    through the message's own output channel and goes no further. What Rasa or the stores
    cannot take (issue 17, `make fuzz`) is made readable (text, metadata) or ignored (an
    unusable conversation id, no text at all)."""

    async def handle(message: UserMessage) -> None:
        if not usable_id(message.sender_id):
            # Only the REST channel lets a caller choose the id; the database cannot store
            # this one (issue 17, `make fuzz`). Nothing of the message is logged.
            logger.warning("A message with an unusable conversation id was ignored.")
            return
        if message.text is None:
            # A REST body without "message": Rasa's NLU failed on it.
            logger.warning("A message without text was ignored.")
            return
        message.text = readable(message.text)
        message.metadata = storable(message.metadata)
        if not too_long(message.text, max_chars):
            message.text = with_breathing_spaces(message.text)
            await answered_even_on_failure(on_new_message, message)
            return
        # Only the length is logged: never the text, never the sender.
        logger.info(
            "A message of %d characters was refused (limit %d).", len(message.text or ""), max_chars
        )
        await message.output_channel.send_text_message(
            message.sender_id, too_long_answer(max_chars)
        )

    return handle


async def answered_even_on_failure(on_new_message: OnNewMessage, message: UserMessage) -> None:
    """A message Rasa cannot handle (its tracker store down, say) is not met with silence:
    the relative is told, with the emergency number, and may try again (issue 17). Rasa's
    channels would only log the exception, and the relative would hear nothing."""
    try:
        await on_new_message(message)
    except asyncio.CancelledError:
        raise
    except Exception as error:  # any failure: the relative must still get an answer
        logger.error("A message could not be handled (%s)", type(error).__name__)
        await message.output_channel.send_text_message(
            message.sender_id, channel_answer("unavailable")
        )


# spaCy's tokenizer peels affixes off a word one at a time, scanning the rest each time:
# a "word" of thousands of emoji or punctuation marks took seconds (quadratic) in Rasa's
# NLU and in the risk screening alike. No real word is this long, so a run without spaces
# gets a space after every so many characters (inserted: nothing of it is lost).
LONGEST_WORD = 100
_LONG_RUN = re.compile(rf"\S{{{LONGEST_WORD + 1},}}")


def with_breathing_spaces(text: str) -> str:
    def broken(run: re.Match) -> str:
        word = run.group()
        return " ".join(word[i : i + LONGEST_WORD] for i in range(0, len(word), LONGEST_WORD))

    return _LONG_RUN.sub(broken, text)
