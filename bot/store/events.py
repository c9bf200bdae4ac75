"""The one view of Rasa's conversations that the rest of Vägvisaren uses: the dashboard
reads transcripts through it, the retention job deletes conversations past their time
through it. Rasa's tracker store alone writes them; nothing else knows how it stores them.

Two stores, one interface (`conversation_events(url)` picks by TRACKER_DATABASE_URL):
- SQL (SQLite, PostgreSQL): Rasa's `events` table, one row per event.
- Redis: one key per conversation holding the whole tracker as JSON, with a time-to-live
  that is the conversation's retention (bot/privacy/tracker_store.py); an event's id is
  its place in the conversation.

The tracker store holds redacted text only (bot/privacy/tracker_store.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, delete, func, select
from sqlalchemy.engine import Engine

SECONDS_PER_DAY = 86_400

# The columns read here; the rest of Rasa's table is left alone.
_events = Table(
    "events",
    MetaData(),
    Column("id", Integer),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("data", Text),
)


@dataclass(frozen=True)
class Event:
    id: int
    type_name: str
    timestamp: float
    data: str | None  # the event as Rasa serialised it (JSON)


class Conversations(Protocol):
    def conversation_ids(self) -> Iterator[str]: ...

    def exists(self, conversation_id: str) -> bool: ...

    def read(
        self, conversation_id: str, types: tuple[str, ...], after_id: int = 0, limit: int = 2000
    ) -> list[Event]: ...

    def last_of_type(self, conversation_id: str, type_name: str, up_to_id: int) -> Event | None: ...

    def delete_inactive(self, retention_days: int, now: float | None = None) -> int: ...


def conversation_events(url: str) -> Conversations:
    """The view of the tracker store at TRACKER_DATABASE_URL."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisConversationEvents(url)
    from bot.store.engine import make_engine

    return ConversationEvents(make_engine(url))


class ConversationEvents:
    """Rasa's SQL tracker store (SQLite or PostgreSQL), read-only but for retention."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _has_events(self, connection) -> bool:
        # Before the first conversation Rasa has not created its table yet.
        return self.engine.dialect.has_table(connection, "events")

    def conversation_ids(self) -> Iterator[str]:
        with self.engine.connect() as connection:
            if not self._has_events(connection):
                return iter(())
            return iter(connection.execute(select(_events.c.sender_id).distinct()).scalars().all())

    def exists(self, conversation_id: str) -> bool:
        with self.engine.connect() as connection:
            if not self._has_events(connection):
                return False
            statement = select(_events.c.id).where(_events.c.sender_id == conversation_id)
            return connection.execute(statement.limit(1)).first() is not None

    def read(
        self, conversation_id: str, types: tuple[str, ...], after_id: int = 0, limit: int = 2000
    ) -> list[Event]:
        """The conversation's events of these types after `after_id`, oldest first."""
        statement = (
            select(_events.c.id, _events.c.type_name, _events.c.timestamp, _events.c.data)
            .where(_events.c.sender_id == conversation_id)
            .where(_events.c.type_name.in_(types))
            .where(_events.c.id > after_id)
            .order_by(_events.c.id)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [Event(*row) for row in connection.execute(statement).all()]

    def last_of_type(self, conversation_id: str, type_name: str, up_to_id: int) -> Event | None:
        """The newest event of this type with an id of at most `up_to_id`."""
        statement = (
            select(_events.c.id, _events.c.type_name, _events.c.timestamp, _events.c.data)
            .where(_events.c.sender_id == conversation_id)
            .where(_events.c.type_name == type_name)
            .where(_events.c.id <= up_to_id)
            .order_by(_events.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        return Event(*row) if row else None

    def delete_inactive(self, retention_days: int, now: float | None = None) -> int:
        """Deletes every conversation whose latest event is older than the retention
        period (the retention job). Returns how many conversations were deleted."""
        cutoff = (now if now is not None else time.time()) - retention_days * SECONDS_PER_DAY
        expired = (
            select(_events.c.sender_id)
            .group_by(_events.c.sender_id)
            .having(func.max(_events.c.timestamp) < cutoff)
        )
        with self.engine.begin() as connection:
            if not self._has_events(connection):
                return 0
            senders = connection.execute(expired).scalars().all()
            if senders:
                connection.execute(delete(_events).where(_events.c.sender_id.in_(senders)))
        return len(senders)


# Rasa's RedisTrackerStore keeps a conversation under this prefix (with a `key_prefix`
# of its own configured, under "<key_prefix>:tracker:").
RASA_REDIS_PREFIX = "tracker:"


class RedisConversationEvents:
    """Rasa's Redis tracker store, read-only: conversations expire on their own."""

    def __init__(self, url: str, key_prefix: str = RASA_REDIS_PREFIX) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.prefix = key_prefix

    def conversation_ids(self) -> Iterator[str]:
        start = len(self.prefix)
        keys = self.client.scan_iter(match=f"{self.prefix}*", count=500)
        return (key.decode("utf-8", "replace")[start:] for key in keys)

    def exists(self, conversation_id: str) -> bool:
        return bool(self.client.exists(self.prefix + conversation_id))

    def _events(self, conversation_id: str) -> list[Event]:
        stored = self.client.get(self.prefix + conversation_id)
        if not stored:
            return []
        events = json.loads(stored).get("events") or []
        return [
            Event(number, event.get("event", ""), event.get("timestamp") or 0.0, json.dumps(event))
            for number, event in enumerate(events, start=1)
        ]

    def read(
        self, conversation_id: str, types: tuple[str, ...], after_id: int = 0, limit: int = 2000
    ) -> list[Event]:
        events = self._events(conversation_id)
        return [e for e in events if e.id > after_id and e.type_name in types][:limit]

    def last_of_type(self, conversation_id: str, type_name: str, up_to_id: int) -> Event | None:
        events = self._events(conversation_id)
        return next(
            (e for e in reversed(events) if e.id <= up_to_id and e.type_name == type_name), None
        )

    def delete_inactive(self, retention_days: int, now: float | None = None) -> int:
        """Nothing to do: each conversation's time-to-live is its retention."""
        return 0
