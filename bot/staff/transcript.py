"""The redacted transcript of an escalated conversation, read from Rasa's tracker store.

The escalation knows its conversation only by a keyed hash (bot/pseudonym.py). To show
the transcript, the dashboard hashes the conversation ids in the tracker store with
PSEUDONYM_KEY until one matches: the escalation store alone cannot be linked to a
conversation. The tracker store holds redacted text only (bot/privacy/tracker_store.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from bot.conversation import START_PAYLOAD, is_from_staff
from bot.pseudonym import conversation_ref
from bot.store.events import Conversations

MAX_LINES = 2000


@dataclass(frozen=True)
class Line:
    speaker: str  # "relative", "bot" or "staff"
    text: str
    at: datetime


def find_conversation(events: Conversations, reference: str, key: str) -> str | None:
    """The tracker's conversation id whose keyed hash is `reference`, if it still exists."""
    return next(
        (
            sender
            for sender in events.conversation_ids()
            if conversation_ref(sender, key) == reference
        ),
        None,
    )


class ConversationFinder:
    """find_conversation with the answers remembered: the live view asks every 1.5 seconds,
    and hashing every conversation id each time would grow with the tracker store. A
    remembered conversation is checked to still exist (the relative may have deleted it)."""

    def __init__(self, events: Conversations, key: str) -> None:
        self.events, self.key = events, key
        self._found: dict[str, str] = {}

    def __call__(self, reference: str) -> str | None:
        known = self._found.get(reference)
        if known is not None:
            if self.events.exists(known):
                return known
            del self._found[reference]
            return None
        found = find_conversation(self.events, reference, self.key)
        if found is not None:
            self._found[reference] = found
        return found


def transcript(
    events: Conversations, conversation_id: str, after_id: int = 0
) -> list[tuple[int, Line]]:
    """The relative's and the bot's (and staff's) messages, oldest first, with event ids
    so a live view can ask only for what came after the last one it showed.

    Rasa's two-stage fallback reverts a user message ("rewind") and logs the same text
    again once it is understood; the relative wrote it once, so it is shown once."""
    rows = events.read(conversation_id, ("user", "bot", "rewind"), after_id, MAX_LINES)
    last_relative_text = _last_user_text(events, conversation_id, after_id)
    lines, reverted = [], None
    for event in rows:
        if event.type_name == "rewind":
            reverted = last_relative_text
            continue
        line = _line(event.type_name, event.timestamp, event.data)
        if line is None:
            continue
        if line.speaker == "relative":
            if line.text == reverted:
                reverted = None
                continue
            last_relative_text, reverted = line.text, None
        lines.append((event.id, line))
    return lines


def _last_user_text(events: Conversations, conversation_id: str, before_id: int) -> str | None:
    if before_id <= 0:
        return None
    event = events.last_of_type(conversation_id, "user", before_id)
    line = _line("user", 0, event.data) if event and event.data else None
    return line.text if line else None


def _line(type_name: str, timestamp: float, data: str | None) -> Line | None:
    try:
        event = json.loads(data or "{}")
    except ValueError:
        return None
    text = event.get("text")
    if not isinstance(text, str) or not text:
        return None
    at = datetime.fromtimestamp(timestamp or 0, tz=timezone.utc)
    if type_name == "user":
        if text == START_PAYLOAD:
            return None  # sent by the web widget, not written by the relative
        return Line("relative", text, at)
    speaker = "staff" if is_from_staff(event.get("data") or {}) else "bot"
    return Line(speaker, text, at)
