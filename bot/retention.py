"""Deletes conversations that have been inactive for too long.

Rasa's SQL tracker store keeps every event of a conversation in the `events` table. A
conversation whose newest event is older than CONVERSATION_RETENTION_DAYS is deleted as a
whole. The launcher runs this at start-up and then every hour; it is also a command:

    python -m bot.retention        (make purge)
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from sqlalchemy import Column, Float, MetaData, String, Table, create_engine, delete, func, select
from sqlalchemy.engine import Engine

logger = logging.getLogger(__name__)

SECONDS_PER_DAY = 86_400

# Only the two columns we need; the rest of Rasa's table is left alone.
_events = Table(
    "events",
    MetaData(),
    Column("sender_id", String(255)),
    Column("timestamp", Float),
)


def sqlite_engine(path: Path) -> Engine:
    return create_engine(f"sqlite:///{path}", future=True)


def purge_inactive_conversations(
    engine: Engine, retention_days: int, now: float | None = None
) -> int:
    """Deletes every conversation whose latest event is older than the retention period.
    Returns how many conversations were deleted."""
    cutoff = (now if now is not None else time.time()) - retention_days * SECONDS_PER_DAY
    expired = (
        select(_events.c.sender_id)
        .group_by(_events.c.sender_id)
        .having(func.max(_events.c.timestamp) < cutoff)
    )
    with engine.begin() as connection:
        if not engine.dialect.has_table(connection, "events"):
            return 0
        senders = connection.execute(expired).scalars().all()
        if senders:
            connection.execute(delete(_events).where(_events.c.sender_id.in_(senders)))
    if senders:
        logger.info("Retention: deleted %d inactive conversations", len(senders))
    return len(senders)


def main() -> int:
    from bot.settings import settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if not settings.tracker_sqlite_path.exists():
        print("No conversation database yet: nothing to delete.")
        return 0
    deleted = purge_inactive_conversations(
        sqlite_engine(settings.tracker_sqlite_path), settings.conversation_retention_days
    )
    print(
        f"Deleted {deleted} conversations inactive for more than "
        f"{settings.conversation_retention_days} days."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
