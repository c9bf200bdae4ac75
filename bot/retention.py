"""Deletes what is kept longer than the configured retention.

- Conversations: Rasa's SQL tracker store keeps every event of a conversation in the
  `events` table. A conversation whose newest event is older than
  CONVERSATION_RETENTION_DAYS is deleted as a whole.
- Escalations: the excerpt (the redacted words around a risk signal) of an escalation that
  was resolved more than ESCALATION_RETENTION_DAYS ago is erased, and so are the staff's
  notes on it; level, categories, status, outcome and times stay, for statistics.
  (Resolution time is `resolved_at`, set by the dashboard; rows resolved before it existed
  use their last update.)
- Statistics: never deleted. case_facts and conversation_counts hold no text and no
  identifier (an hour, codes, durations, counts) and are what the board reports are made
  from; nothing here touches them (tests/integration/test_statistics.py).

- Staff records: sessions past their timeout, login failures outside their one-hour
  window, and audit entries older than AUDIT_RETENTION_DAYS (longer than the cases, to
  answer for how a case was handled; documented in docs/privacy.md).
- Whether a web chat is open: a closed chat's row after a day, any row after
  CONVERSATION_RETENTION_DAYS. Webhook delivery ids once their memory expired.
- SQLite: erased rows are overwritten (secure_delete) and the write-ahead log is
  checkpointed and truncated, so deleted text does not linger in the -wal file.

The Redis tracker store expires conversations itself (a TTL of CONVERSATION_RETENTION_DAYS,
bot/privacy/tracker_store.py).

SQLite and PostgreSQL alike. The launcher runs this at start-up and then every hour; on a
deployment of several servers it runs on its own, from cron or a systemd timer
(deployment/systemd/vagvisaren-retention.timer):

    python -m bot.retention        (make purge)
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import (
    inspect,
)
from sqlalchemy.engine import Engine

from bot.channels.deliveries import purge_expired_deliveries
from bot.escalations import presence
from bot.escalations.service import erase_resolved
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.staff.accounts import Accounts
from bot.staff.review import purge_audit
from bot.store.engine import make_engine
from bot.store.events import ConversationEvents, Conversations, conversation_events

logger = logging.getLogger(__name__)

SECONDS_PER_DAY = 86_400


def purge_inactive_conversations(
    conversations: Conversations, retention_days: int, now: float | None = None
) -> int:
    """Deletes every conversation whose latest event is older than the retention period
    (Redis: each expires on its own). Returns how many conversations were deleted."""
    deleted = conversations.delete_inactive(retention_days, now)
    if deleted:
        logger.info("Retention: deleted %d inactive conversations", deleted)
    return deleted


def erase_resolved_excerpts(
    engine: Engine, retention_days: int, now: datetime | None = None
) -> int:
    """Erases the excerpt (and the notes) of escalations resolved more than retention_days
    ago, through the escalation's use cases."""
    if not _has_tables(engine, "escalations", "escalation_notes"):
        return 0  # not migrated yet: nothing was ever stored
    erased = erase_resolved(SqlAlchemyUnitOfWork.on(engine), retention_days, now)
    if erased:
        logger.info("Retention: erased the excerpts of %d resolved escalations", erased)
    return erased


def purge_staff_and_presence_records(engine: Engine, config, now: datetime | None = None) -> dict:
    """Sessions, login failures, audit entries, presence rows and delivery ids past their
    time; how many of each were deleted."""
    now = now or datetime.now(timezone.utc)
    if not _has_tables(engine, "staff_sessions", "staff_audit", "conversation_presence"):
        return {}  # not migrated yet: nothing was ever stored
    sessions, failures = Accounts(engine).purge_expired(now)
    return {
        "staff sessions": sessions,
        "login failures": failures,
        "audit entries": purge_audit(engine, config.audit_retention_days, now),
        "presence rows": presence.purge_stale(
            engine, timedelta(days=config.conversation_retention_days), now
        ),
        "delivery ids": purge_expired_deliveries(engine, now),
    }


def _has_tables(engine: Engine, *names: str) -> bool:
    with engine.connect() as connection:
        return set(names) <= set(inspect(connection).get_table_names())


def checkpoint_sqlite(engine: Engine) -> None:
    """Copies the write-ahead log into the database and empties it: deleted rows are
    overwritten there (secure_delete) but would otherwise linger in the -wal file."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        if connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal":
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def purge(config) -> tuple[int, int]:
    """Every retention rule on the configured databases: returns (conversations, excerpts)
    and logs the rest. The engines (make_engine: SQLite folder created, busy timeout while
    the servers write) are closed afterwards, so an hourly purge holds no connections in
    between."""
    tracker = conversation_events(config.tracker_database_url)
    tracker_engine = tracker.engine if isinstance(tracker, ConversationEvents) else None
    escalation_engine = make_engine(config.escalation_database_url)
    try:
        conversations = purge_inactive_conversations(tracker, config.conversation_retention_days)
        excerpts = erase_resolved_excerpts(escalation_engine, config.escalation_retention_days)
        records = purge_staff_and_presence_records(escalation_engine, config)
        for kind, number in records.items():
            if number:
                logger.info("Retention: deleted %d %s", number, kind)
        for engine in (tracker_engine, escalation_engine):
            if engine is not None:
                checkpoint_sqlite(engine)
    finally:
        for engine in (tracker_engine, escalation_engine):
            if engine is not None:
                engine.dispose()
    return conversations, excerpts


def main() -> int:
    from bot.settings import Settings

    settings = Settings.from_environment()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    conversations, excerpts = purge(settings)
    print(
        f"Deleted {conversations} conversations inactive for more than "
        f"{settings.conversation_retention_days} days; erased the excerpts of {excerpts} "
        f"escalations resolved more than {settings.escalation_retention_days} days ago."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
