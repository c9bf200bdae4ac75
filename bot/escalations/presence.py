"""Whether a relative's web chat is open, so a handler in the conversation knows if they
have left. The socket.io channel (bot/channels.py) counts the sockets of a conversation;
the dashboard reads the count. Stored under the conversation's keyed hash, like the
escalation, with the time of the last change: nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.escalations.model import as_utc, conversation_presence, utcnow


@dataclass(frozen=True)
class Presence:
    connected: bool
    since: datetime


def joined(engine: Engine, reference: str, now: datetime | None = None) -> None:
    _change(engine, reference, +1, now or utcnow())


def left(engine: Engine, reference: str, now: datetime | None = None) -> None:
    _change(engine, reference, -1, now or utcnow())


def _change(engine: Engine, reference: str, delta: int, now: datetime) -> None:
    table = conversation_presence
    for _attempt in range(2):  # a concurrent first insert: the second try updates
        with engine.begin() as connection:
            current = connection.execute(
                select(table.c.sockets).where(table.c.conversation_ref == reference)
            ).scalar()
            if current is not None:
                connection.execute(
                    update(table)
                    .where(table.c.conversation_ref == reference)
                    .values(sockets=max(0, current + delta), updated_at=now)
                )
                return
            try:
                connection.execute(
                    insert(table).values(
                        conversation_ref=reference, sockets=max(0, delta), updated_at=now
                    )
                )
                return
            except IntegrityError:
                continue


def presence(engine: Engine, reference: str) -> Presence | None:
    """None when the conversation never had a web socket (REST, or not seen yet)."""
    table = conversation_presence
    with engine.connect() as connection:
        row = connection.execute(
            select(table.c.sockets, table.c.updated_at).where(table.c.conversation_ref == reference)
        ).first()
    if row is None:
        return None
    return Presence(connected=row.sockets > 0, since=as_utc(row.updated_at))
