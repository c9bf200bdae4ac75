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

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, select
from sqlalchemy.engine import Engine

from bot.conversation import START_PAYLOAD, is_from_staff
from bot.pseudonym import conversation_ref

_events = Table(
    "events",
    MetaData(),
    Column("id", Integer),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("data", Text),
)

MAX_LINES = 2000


@dataclass(frozen=True)
class Line:
    speaker: str  # "relative", "bot" or "staff"
    text: str
    at: datetime


def find_conversation(engine: Engine, reference: str, key: str) -> str | None:
    """The tracker's conversation id whose keyed hash is `reference`, if it still exists."""
    with engine.connect() as connection:
        if not engine.dialect.has_table(connection, "events"):
            return None
        senders = connection.execute(select(_events.c.sender_id).distinct()).scalars()
        return next(
            (sender for sender in senders if conversation_ref(sender, key) == reference), None
        )


class ConversationFinder:
    """find_conversation with the answers remembered: the live view asks every 1.5 seconds,
    and hashing every conversation id each time would grow with the tracker store. A
    remembered conversation is checked to still exist (the relative may have deleted it)."""

    def __init__(self, engine: Engine, key: str) -> None:
        self.engine, self.key = engine, key
        self._found: dict[str, str] = {}

    def __call__(self, reference: str) -> str | None:
        known = self._found.get(reference)
        if known is not None:
            if _exists(self.engine, known):
                return known
            del self._found[reference]
            return None
        found = find_conversation(self.engine, reference, self.key)
        if found is not None:
            self._found[reference] = found
        return found


def _exists(engine: Engine, conversation_id: str) -> bool:
    with engine.connect() as connection:
        return (
            connection.execute(
                select(_events.c.id).where(_events.c.sender_id == conversation_id).limit(1)
            ).first()
            is not None
        )


def transcript(engine: Engine, conversation_id: str, after_id: int = 0) -> list[tuple[int, Line]]:
    """The relative's and the bot's (and staff's) messages, oldest first, with event ids
    so a live view can ask only for what came after the last one it showed.

    Rasa's two-stage fallback reverts a user message ("rewind") and logs the same text
    again once it is understood; the relative wrote it once, so it is shown once."""
    statement = (
        select(_events.c.id, _events.c.type_name, _events.c.timestamp, _events.c.data)
        .where(_events.c.sender_id == conversation_id)
        .where(_events.c.type_name.in_(("user", "bot", "rewind")))
        .where(_events.c.id > after_id)
        .order_by(_events.c.id)
        .limit(MAX_LINES)
    )
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
        last_relative_text = _last_user_text(connection, conversation_id, after_id)
    lines, reverted = [], None
    for event_id, type_name, timestamp, data in rows:
        if type_name == "rewind":
            reverted = last_relative_text
            continue
        line = _line(type_name, timestamp, data)
        if line is None:
            continue
        if line.speaker == "relative":
            if line.text == reverted:
                reverted = None
                continue
            last_relative_text, reverted = line.text, None
        lines.append((event_id, line))
    return lines


def _last_user_text(connection, conversation_id: str, before_id: int) -> str | None:
    if before_id <= 0:
        return None
    data = connection.execute(
        select(_events.c.data)
        .where(_events.c.sender_id == conversation_id)
        .where(_events.c.type_name == "user")
        .where(_events.c.id <= before_id)
        .order_by(_events.c.id.desc())
        .limit(1)
    ).scalar()
    line = _line("user", 0, data) if data else None
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
