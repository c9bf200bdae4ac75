"""Retention on real databases (SQLite and PostgreSQL): conversations in the redacting
tracker store, escalation excerpts after resolution."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.escalations.model import Status
from bot.escalations.service import Signal, record_signal
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.privacy.tracker_store import RedactingSQLTrackerStore
from bot.retention import (
    SECONDS_PER_DAY,
    erase_resolved_excerpts,
    purge_inactive_conversations,
)
from bot.risk.levels import RiskLevel
from bot.store.engine import make_engine, migrate, session_factory
from bot.store.events import ConversationEvents
from tests.support.databases import escalation_rows

DOMAIN = Domain.from_yaml("version: '3.1'\nintents: [greet]")


@pytest.fixture
def url(empty_url: str) -> str:
    """An empty database, on SQLite and on PostgreSQL."""
    return empty_url


async def store_conversation(store, sender: str, last_activity: float) -> None:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(UserUttered("hej", {"name": "greet"}, timestamp=last_activity - 10))
    tracker.update(ActionExecuted("utter_greet", timestamp=last_activity))
    await store.save(tracker)


async def test_only_conversations_past_retention_are_deleted(url):
    store = RedactingSQLTrackerStore(DOMAIN, host=url)
    now = time.time()
    await store_conversation(store, "old", now - 31 * SECONDS_PER_DAY)
    await store_conversation(store, "recent", now - 29 * SECONDS_PER_DAY)

    deleted = purge_inactive_conversations(ConversationEvents(make_engine(url)), 30, now=now)

    assert deleted == 1
    assert await store.retrieve("old") is None
    recent = await store.retrieve("recent")
    assert recent is not None and len(recent.events) == 2


async def test_a_conversation_with_recent_activity_is_kept_whole(url):
    store = RedactingSQLTrackerStore(DOMAIN, host=url)
    now = time.time()
    tracker = DialogueStateTracker("mixed", DOMAIN.slots)
    tracker.update(UserUttered("hej", {"name": "greet"}, timestamp=now - 90 * SECONDS_PER_DAY))
    tracker.update(UserUttered("hej igen", {"name": "greet"}, timestamp=now - SECONDS_PER_DAY))
    await store.save(tracker)

    assert purge_inactive_conversations(ConversationEvents(make_engine(url)), 30, now=now) == 0
    assert len((await store.retrieve("mixed")).events) == 2


def test_an_empty_database_is_fine(url):
    assert purge_inactive_conversations(ConversationEvents(make_engine(url)), 30) == 0
    assert erase_resolved_excerpts(make_engine(url), 30) == 0


def _escalation(url: str, conversation: str, status: Status, updated_days_ago: int, now):
    uow = SqlAlchemyUnitOfWork(session_factory(url))
    record_signal(
        uow,
        Signal(conversation, RiskLevel.ELEVATED, ("travel",), "…resa till [namn]…", "key"),
        now=now - timedelta(days=updated_days_ago),
    )
    with uow:
        escalation = uow.escalations.for_conversation(conversation)
        escalation.status = status.value
        uow.commit()


def test_excerpts_are_erased_only_after_resolution_plus_retention(url):
    from datetime import datetime, timezone

    migrate(url)
    now = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
    _escalation(url, "resolved-long-ago", Status.RESOLVED, 31, now)
    _escalation(url, "resolved-recently", Status.RESOLVED, 29, now)
    _escalation(url, "open-long-ago", Status.NEW, 90, now)
    _escalation(url, "claimed-long-ago", Status.CLAIMED, 90, now)

    assert erase_resolved_excerpts(make_engine(url), retention_days=30, now=now) == 1

    rows = {e.conversation_ref: e for e in escalation_rows(url)}
    assert rows["resolved-long-ago"].excerpt == ""
    assert rows["resolved-long-ago"].level == "elevated"  # the statistics stay
    assert rows["resolved-long-ago"].categories == "travel"
    for kept in ("resolved-recently", "open-long-ago", "claimed-long-ago"):
        assert rows[kept].excerpt == "…resa till [namn]…"
    assert erase_resolved_excerpts(make_engine(url), retention_days=30, now=now) == 0


def count(url: str, table: str) -> int:
    with make_engine(url).connect() as connection:
        return connection.exec_driver_sql(f"select count(*) from {table}").scalar()


def test_sessions_failures_audit_presence_and_delivery_ids_have_their_own_retention(url, redactor):
    """Issue 17: these tables grew forever (a flood of logins, of chats opened)."""
    from datetime import datetime, timezone

    from bot.channels.deliveries import DeliveryLog
    from bot.escalations import presence
    from bot.retention import purge_staff_and_presence_records
    from bot.settings import Settings
    from bot.staff.accounts import Accounts
    from bot.staff.model import Role
    from bot.staff.review import Review

    migrate(url)
    engine = make_engine(url)
    now = datetime.now(timezone.utc)
    accounts, review = Accounts(engine), Review(engine, redactor)
    accounts.create_user("anna", Role.HANDLER, now=now)
    anna = accounts.users()[0]
    accounts.start_session(anna, now=now - timedelta(hours=13))  # past the 12 hours
    accounts.start_session(anna, now=now - timedelta(minutes=31))  # idle past 30 minutes
    alive = accounts.start_session(anna, now=now - timedelta(minutes=5))
    accounts._record_failure(anna.id, now - timedelta(hours=2))
    accounts._record_failure(anna.id, now - timedelta(minutes=10))
    review.log(anna, "view_queue", now=now - timedelta(days=366))
    review.log(anna, "view_queue", now=now - timedelta(days=300))
    presence.joined(engine, "closed-yesterday", now - timedelta(days=2))
    presence.left(engine, "closed-yesterday", now - timedelta(days=2))
    presence.joined(engine, "closed-now", now - timedelta(hours=1))
    presence.left(engine, "closed-now", now - timedelta(hours=1))
    presence.joined(engine, "open-but-ancient", now - timedelta(days=31))  # a server died
    presence.joined(engine, "open-now", now)
    DeliveryLog(url, "key", keep_days=7, now=lambda: now).first_time("telegram", 2)
    # Remembered eight days ago (its own purge, then, found nothing expired).
    DeliveryLog(url, "key", keep_days=7, now=lambda: now - timedelta(days=8)).first_time(
        "telegram", 1
    )

    deleted = purge_staff_and_presence_records(engine, Settings(), now)

    assert deleted == {
        "staff sessions": 2,
        "login failures": 1,
        "audit entries": 1,
        "presence rows": 2,
        "delivery ids": 1,
    }
    assert accounts.session(alive.token, now=now) is not None
    assert presence.presence(engine, "closed-now") is not None
    assert presence.presence(engine, "open-now").connected
    assert purge_staff_and_presence_records(engine, Settings(), now) == dict.fromkeys(deleted, 0)


def test_the_purge_empties_sqlites_write_ahead_log(tmp_path):
    """Deleted rows are overwritten in the database file, but a -wal file would still hold
    the page as it was: the purge checkpoints and truncates it."""
    import sqlite3

    from bot.retention import checkpoint_sqlite

    path = tmp_path / "tracker.db"
    server = sqlite3.connect(path)  # a running server, which keeps the log open
    server.execute("PRAGMA secure_delete = ON")
    server.execute("PRAGMA journal_mode = WAL")
    server.execute("create table t (x text)")
    server.execute("insert into t values ('min bror Qendrim')")
    server.commit()
    server.execute("delete from t")
    server.commit()
    wal = tmp_path / "tracker.db-wal"
    assert b"Qendrim" in wal.read_bytes()
    checkpoint_sqlite(make_engine(f"sqlite:///{path}"))
    assert b"Qendrim" not in wal.read_bytes() + path.read_bytes()
    server.close()
