"""Webhook deliveries remembered in the escalation database (bot/channels/deliveries.py),
on SQLite and PostgreSQL: answered once across restarts and processes, only keyed hashes
stored, forgotten after their time."""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.channels.deliveries import (
    DeliveryLog,
    deliveries,
    delivery_key,
    purge_expired_deliveries,
)
from bot.store.engine import make_engine

KEY = "integration-test-key"
SID = "SM5f3c1e0a9b8d7c6e5f4a3b2c1d0e9f8a"
DAYS = 7


@pytest.fixture
def url(migrated_url: str) -> str:
    """The escalation store migrated, on SQLite and on PostgreSQL."""
    return migrated_url


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


def stored_rows(url: str) -> list[tuple[str, datetime]]:
    with make_engine(url).connect() as connection:
        return [tuple(row) for row in connection.execute(select(deliveries))]


def test_a_delivery_is_answered_once_also_after_a_restart(url):
    first_process = DeliveryLog(url, KEY, DAYS)
    assert first_process.first_time("twilio", SID)
    assert not first_process.first_time("twilio", SID)
    # A restart: a new process knows only the database.
    restarted = DeliveryLog(url, KEY, DAYS)
    assert not restarted.first_time("twilio", SID)
    # The same id on another channel is another delivery; an update_id is a number.
    assert restarted.first_time("telegram", SID)
    assert restarted.first_time("telegram", 851_234_567)
    assert not DeliveryLog(url, KEY, DAYS).first_time("telegram", 851_234_567)


def test_only_keyed_hashes_and_expiry_times_are_stored(url):
    clock = Clock()
    DeliveryLog(url, KEY, DAYS, now=clock).first_time("twilio", SID)
    DeliveryLog(url, KEY, DAYS, now=clock).first_time("telegram", 851_234_567)
    rows = stored_rows(url)
    assert {key for key, _ in rows} == {
        delivery_key("twilio", SID, KEY),
        delivery_key("telegram", "851234567", KEY),
    }
    for key, expires_at in rows:
        assert SID not in key and "851234567" not in key
        assert expires_at.replace(tzinfo=timezone.utc) == clock.now + timedelta(days=DAYS)


def test_a_replay_after_its_time_is_answered_once_more_and_purged_rows_go(url):
    clock = Clock()
    log = DeliveryLog(url, KEY, DAYS, now=clock)
    assert log.first_time("twilio", SID)
    clock.now += timedelta(days=DAYS) - timedelta(seconds=1)
    assert not log.first_time("twilio", SID)  # still remembered
    clock.now += timedelta(seconds=1)
    # Expired and not purged yet: taken over by the first caller only, and remembered again.
    assert log.first_time("twilio", SID)
    assert not DeliveryLog(url, KEY, DAYS, now=clock).first_time("twilio", SID)

    assert log.first_time("twilio", "SM-other")
    clock.now += timedelta(days=DAYS)
    assert purge_expired_deliveries(make_engine(url), clock.now) == 2
    assert stored_rows(url) == []
    assert purge_expired_deliveries(make_engine(url), clock.now) == 0


def test_the_purge_keeps_what_is_still_remembered(url):
    clock = Clock()
    log = DeliveryLog(url, KEY, DAYS, now=clock)
    log.first_time("twilio", "SM-old")
    clock.now += timedelta(days=DAYS + 1)
    log.first_time("twilio", "SM-new")
    assert purge_expired_deliveries(make_engine(url), clock.now) == 1
    assert [key for key, _ in stored_rows(url)] == [delivery_key("twilio", "SM-new", KEY)]


def test_a_database_without_the_table_has_nothing_to_purge(tmp_path):
    assert purge_expired_deliveries(make_engine(f"sqlite:///{tmp_path / 'empty.db'}")) == 0


def _claim_all(url: str, ids: list[str], start, results) -> None:
    log = DeliveryLog(url, KEY, DAYS)
    start.wait()
    results.put([delivery_id for delivery_id in ids if log.first_time("twilio", delivery_id)])


def test_processes_racing_for_the_same_deliveries_answer_each_once(url):
    """Four servers receive the same 40 deliveries at once: each is answered by one."""
    ids = [f"SM{number:032d}" for number in range(40)]
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [
        context.Process(target=_claim_all, args=(url, ids, start, results)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    start.set()
    claimed = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    answered = sorted(delivery_id for batch in claimed for delivery_id in batch)
    assert answered == ids


def test_without_the_database_messages_are_answered_and_resends_caught_in_memory():
    log = DeliveryLog("postgresql+psycopg2://nobody@127.0.0.1:1/none", KEY, DAYS)
    assert log.first_time("twilio", SID)
    assert not log.first_time("twilio", SID)
    assert log.first_time("twilio", "SM-next")
