"""Conversations started per hour (table conversation_counts): the only code that writes it.

A conversation is counted when Rasa starts a session (actions/session.py): a new
conversation, or a relative who comes back after the session expired. The row is the UTC
hour and a number; nothing points at the conversation.

The increment must not lose a count when two servers start conversations in the same
hour: `conversations = conversations + 1` is one statement, which both SQLite (one writer
at a time) and PostgreSQL (a row lock; READ COMMITTED re-reads the row after waiting)
apply in turn. Only the hour's first conversation inserts; two first ones at once: the
primary key refuses one, which then updates the row the other made.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.escalations.facts import hour_of
from bot.escalations.model import utcnow
from bot.store.tables import conversation_counts

ATTEMPTS = 3  # an insert refused by a concurrent first insert is tried again as an update


def count_conversation(engine: Engine, now: datetime | None = None) -> None:
    """One more conversation started in the hour of `now` (UTC)."""
    hour = hour_of(now or utcnow())
    for _attempt in range(ATTEMPTS):
        if _add_one(engine, hour):
            return
        try:
            with engine.begin() as connection:
                connection.execute(insert(conversation_counts).values(hour=hour, conversations=1))
            return
        except IntegrityError:
            continue  # another server inserted the hour's row meanwhile: update it
    raise RuntimeError("conversation count not stored")


def _add_one(engine: Engine, hour: datetime) -> bool:
    """Adds one to the hour's row; False when the hour has no row yet."""
    table = conversation_counts
    with engine.begin() as connection:
        changed = connection.execute(
            update(table)
            .where(table.c.hour == hour)
            .values(conversations=table.c.conversations + 1)
        ).rowcount
    return changed > 0
