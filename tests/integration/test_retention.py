"""Retention on a real Rasa SQL tracker store (SQLite)."""

from __future__ import annotations

import time

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.retention import SECONDS_PER_DAY, purge_inactive_conversations, sqlite_engine

DOMAIN = Domain.from_yaml("version: '3.1'\nintents: [greet]")


async def store_conversation(store: SQLTrackerStore, sender: str, last_activity: float) -> None:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(UserUttered("hej", {"name": "greet"}, timestamp=last_activity - 10))
    tracker.update(ActionExecuted("utter_greet", timestamp=last_activity))
    await store.save(tracker)


async def test_only_conversations_past_retention_are_deleted(tmp_path):
    path = tmp_path / "tracker.db"
    store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(path))
    now = time.time()
    await store_conversation(store, "old", now - 31 * SECONDS_PER_DAY)
    await store_conversation(store, "recent", now - 29 * SECONDS_PER_DAY)

    deleted = purge_inactive_conversations(sqlite_engine(path), retention_days=30, now=now)

    assert deleted == 1
    assert await store.retrieve("old") is None
    recent = await store.retrieve("recent")
    assert recent is not None and len(recent.events) == 2


async def test_a_conversation_with_recent_activity_is_kept_whole(tmp_path):
    path = tmp_path / "tracker.db"
    store = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(path))
    now = time.time()
    tracker = DialogueStateTracker("mixed", DOMAIN.slots)
    tracker.update(UserUttered("hej", {"name": "greet"}, timestamp=now - 90 * SECONDS_PER_DAY))
    tracker.update(UserUttered("hej igen", {"name": "greet"}, timestamp=now - SECONDS_PER_DAY))
    await store.save(tracker)

    assert purge_inactive_conversations(sqlite_engine(path), retention_days=30, now=now) == 0
    assert len((await store.retrieve("mixed")).events) == 2


def test_empty_database_is_fine(tmp_path):
    assert purge_inactive_conversations(sqlite_engine(tmp_path / "new.db"), 30) == 0
