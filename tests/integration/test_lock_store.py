"""The lock store several Rasa servers share (bot/store/locks.py), against the real Redis:
two store objects stand for two servers. A conversation's lock held by one server makes
the other wait (Rasa's in-memory store, one per server, does not); tickets issued at the
same moment by both are never the same; with Redis down a message is still handled, under
the server's own lock, and the outage is logged once."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid

import pytest
from rasa.core.lock_store import InMemoryLockStore

from bot.store.locks import FailSafeRedisLockStore, lock_store_endpoint
from bot.store.redis_outage import RETRY_AFTER_SECONDS

REDIS_URL = "redis://127.0.0.1:6379/4"
NOBODY_LISTENS = "redis://127.0.0.1:1/4"


def redis_store(url: str = REDIS_URL) -> FailSafeRedisLockStore:
    return FailSafeRedisLockStore(lock_store_endpoint(url))


@pytest.fixture
def conversation() -> str:
    return f"lock-test-{uuid.uuid4().hex}"


async def order_of_two_servers(first, second, conversation: str) -> list[str]:
    """Server one takes the lock and works for a while; server two asks for it meanwhile."""
    happened: list[str] = []
    one_holds_it = asyncio.Event()

    async def server_one():
        async with first.lock(conversation, wait_time_in_seconds=0.05):
            happened.append("one starts")
            one_holds_it.set()
            await asyncio.sleep(0.5)
            happened.append("one ends")

    async def server_two():
        await one_holds_it.wait()
        async with second.lock(conversation, wait_time_in_seconds=0.05):
            happened.append("two starts")

    await asyncio.gather(server_one(), server_two())
    return happened


async def test_two_servers_take_turns_on_one_conversation(conversation):
    happened = await order_of_two_servers(redis_store(), redis_store(), conversation)
    assert happened == ["one starts", "one ends", "two starts"]


async def test_without_a_shared_store_the_two_servers_overlap(conversation):
    """Why REDIS_URL is required for several servers: each in-memory store locks only its
    own server's messages."""
    happened = await order_of_two_servers(InMemoryLockStore(), InMemoryLockStore(), conversation)
    assert happened == ["one starts", "two starts", "one ends"]


def test_tickets_issued_at_once_by_two_servers_are_all_different(conversation):
    stores = [redis_store(), redis_store()]
    tickets: list[int] = []
    guard = threading.Lock()
    start = threading.Barrier(16)

    def issue(store):
        start.wait()
        for _ in range(10):
            ticket = store.issue_ticket(conversation)
            with guard:
                tickets.append(ticket)

    threads = [threading.Thread(target=issue, args=(stores[i % 2],)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(tickets) == 160
    assert len(set(tickets)) == 160, "two servers were given the same ticket"
    lock = stores[0].get_lock(conversation)
    assert len(lock.tickets) == 160  # none overwritten by the other server
    for ticket in tickets:
        stores[1].cleanup(conversation, ticket)
    assert stores[0].get_lock(conversation) is None  # the last one out removes the lock


async def test_with_redis_down_messages_are_handled_and_the_outage_logged_once(
    conversation, caplog
):
    store = redis_store(NOBODY_LISTENS)
    with caplog.at_level(logging.ERROR, logger="bot.store.redis_outage"):
        handled = 0
        for _ in range(5):
            async with store.lock(conversation, wait_time_in_seconds=0.05):
                handled += 1
    assert handled == 5
    outage_lines = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage_lines) == 1
    assert "lock store" in outage_lines[0].getMessage()
    assert conversation not in caplog.text


async def test_while_redis_is_down_one_server_still_orders_its_own_messages(conversation):
    store = redis_store(NOBODY_LISTENS)
    happened = await order_of_two_servers(store, store, conversation)
    assert happened == ["one starts", "one ends", "two starts"]


async def test_the_shared_lock_is_used_again_when_redis_is_back(conversation, monkeypatch, caplog):
    store = redis_store(NOBODY_LISTENS)
    async with store.lock(conversation):
        pass
    assert store.outage.down
    # Redis "comes back": the same store object now reaches the real server.
    store.red = redis_store().red
    real_monotonic = time.monotonic
    monkeypatch.setattr(
        "bot.store.redis_outage.time.monotonic",
        lambda: real_monotonic() + RETRY_AFTER_SECONDS + 1,
    )
    with caplog.at_level(logging.WARNING, logger="bot.store.redis_outage"):
        async with store.lock(conversation):
            assert store.get_lock(conversation) is not None  # held in Redis now
    assert not store.outage.down
    assert "reachable again" in caplog.text
