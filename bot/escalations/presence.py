"""Whether a relative's web chat is open, so a handler in the conversation knows if they
have left. The socket.io channel (bot/channels/socketio.py) counts the sockets of a conversation;
the dashboard reads the count. Stored under the conversation's keyed hash, like the
escalation, with the time of the last change: nothing else.

While the relative types in the web chat, the widget says so every few seconds (never what
they type) and the channel records the moment (`set_typing`, throttled per conversation there);
the live view shows "Den anhöriga skriver …" while it is recent (`is_typing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.escalations.model import as_utc, utcnow
from bot.store.tables import conversation_presence

# A closed chat's row is kept this long (the handler sees when the relative left), an open
# one's until the conversation's own retention: a server that died never said "left".
CLOSED_CHAT_KEPT = timedelta(days=1)
# The widget says "typing" at most every 3 seconds while the relative types: a moment older
# than twice that means they stopped (or sent it).
TYPING_SHOWN_FOR = timedelta(seconds=6)


@dataclass(frozen=True)
class Presence:
    connected: bool
    since: datetime
    typing_at: datetime | None = None

    def is_typing(self, now: datetime | None = None) -> bool:
        """The relative typed within the last few seconds."""
        if self.typing_at is None:
            return False
        return (now or utcnow()) - self.typing_at <= TYPING_SHOWN_FOR


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
            if delta < 0:
                return  # forgotten ("radera") while the chat was open: it stays forgotten
            try:
                connection.execute(
                    insert(table).values(
                        conversation_ref=reference, sockets=max(0, delta), updated_at=now
                    )
                )
                return
            except IntegrityError:
                continue


def set_typing(engine: Engine, reference: str, at: datetime | None) -> None:
    """The relative typed `at` (None: they stopped, they sent it). One UPDATE; a
    conversation without a row (no open socket) gets none."""
    table = conversation_presence
    with engine.begin() as connection:
        connection.execute(
            update(table).where(table.c.conversation_ref == reference).values(typing_at=at)
        )


def presence(engine: Engine, reference: str) -> Presence | None:
    """None when the conversation never had a web socket (REST, or not seen yet)."""
    table = conversation_presence
    with engine.connect() as connection:
        row = connection.execute(
            select(table.c.sockets, table.c.updated_at, table.c.typing_at).where(
                table.c.conversation_ref == reference
            )
        ).first()
    if row is None:
        return None
    return Presence(
        connected=row.sockets > 0, since=as_utc(row.updated_at), typing_at=as_utc(row.typing_at)
    )


def forget(engine: Engine, reference: str) -> None:
    """The relative deleted the conversation: nothing of it stays, not even that it was open."""
    with engine.begin() as connection:
        connection.execute(
            delete(conversation_presence).where(
                conversation_presence.c.conversation_ref == reference
            )
        )


def purge_stale(engine: Engine, retention: timedelta, now: datetime | None = None) -> int:
    """Deletes rows of chats closed for a day, and every row older than `retention` (the
    conversations' retention). Returns how many."""
    now = now or utcnow()
    table = conversation_presence
    stale = or_(
        (table.c.sockets == 0) & (table.c.updated_at < now - CLOSED_CHAT_KEPT),
        table.c.updated_at < now - retention,
    )
    with engine.begin() as connection:
        return connection.execute(delete(table).where(stale)).rowcount
