"""The messaging address book shared by several Rasa servers (bot/channels/addresses.py) on
the real Redis at 127.0.0.1:6379 (docs/testing.md): two books stand for two servers. Keys
get a random prefix of this test's, and only those are removed."""

from __future__ import annotations

import logging
import uuid

import pytest
import redis
import redis.asyncio

from bot.channels.addresses import Address, RedisAddressBook
from bot.store import redis_outage

REDIS_URL = "redis://127.0.0.1:6379/3"
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"  # nothing listens: Redis is down
KEY = "a test key for the address book"
KEEP_SECONDS = 3600
TELEGRAM_CHAT = "731946285"
PHONE = "+46701234567"
CONVERSATION = "telegram-5f1c0e9a77"


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:  # a failure, not a skip: docs/testing.md
        pytest.fail(f"these tests need Redis on 127.0.0.1:6379 ({error})")
    yield client
    client.close()


@pytest.fixture
async def servers(redis_client):
    """Two address books on the same Redis and key (two servers), and the keys' prefix."""
    prefix = f"vagvisarentest:{uuid.uuid4().hex[:8]}:address:"
    books = [RedisAddressBook(REDIS_URL, KEY, KEEP_SECONDS, prefix=prefix) for _ in range(2)]
    yield books, prefix
    for book in books:
        await book.close()
    for name in redis_client.scan_iter(f"{prefix}*"):
        redis_client.delete(name)


def dump(client: redis.Redis, prefix: str) -> bytes:
    """Everything someone with a copy of Redis would see: the keys and their values."""
    return b" ".join(name + b"=" + client.get(name) for name in client.scan_iter(f"{prefix}*"))


def counted(client: redis.asyncio.Redis, monkeypatch) -> list[str]:
    """The commands the client is asked to send, tried or not."""
    commands: list[str] = []
    send = client.execute_command

    async def counting(*args, **options):
        commands.append(args[0])
        return await send(*args, **options)

    monkeypatch.setattr(client, "execute_command", counting)
    return commands


async def test_an_address_one_server_remembers_another_finds(servers):
    (one, other), _ = servers
    await one.remember(CONVERSATION, Address("telegram", TELEGRAM_CHAT))
    assert await other.lookup(CONVERSATION) == Address("telegram", TELEGRAM_CHAT)
    assert await other.lookup("telegram-unknown") is None


async def test_redis_holds_no_address_and_no_conversation_id(servers, redis_client):
    (one, _), prefix = servers
    await one.remember(CONVERSATION, Address("telegram", TELEGRAM_CHAT))
    await one.remember("sms-0d2b4c", Address("sms", PHONE, "+46700000001"))
    stored = dump(redis_client, prefix)
    assert stored.count(prefix.encode()) == 2
    for clear in (TELEGRAM_CHAT, PHONE, "+46700000001", CONVERSATION, "sms-0d2b4c"):
        assert clear.encode() not in stored, clear
    assert PHONE.removeprefix("+").encode() not in stored


async def test_an_address_expires_after_the_relatives_last_message(servers, redis_client):
    (one, _), prefix = servers
    await one.remember(CONVERSATION, Address("telegram", TELEGRAM_CHAT))
    [name] = list(redis_client.scan_iter(f"{prefix}*"))
    assert KEEP_SECONDS - 60 < redis_client.ttl(name) <= KEEP_SECONDS
    # Each message of the relative starts the time again.
    redis_client.expire(name, 10)
    await one.remember(CONVERSATION, Address("telegram", TELEGRAM_CHAT))
    assert KEEP_SECONDS - 60 < redis_client.ttl(name) <= KEEP_SECONDS


async def test_a_deleted_conversations_address_is_gone_for_every_server(servers, redis_client):
    (one, other), prefix = servers
    await one.remember(CONVERSATION, Address("telegram", TELEGRAM_CHAT))
    await other.forget(CONVERSATION)
    assert await one.lookup(CONVERSATION) is None
    assert dump(redis_client, prefix) == b""
    # Nor does the first server keep its own copy for a later outage.
    assert len(one.local) == 0


async def test_with_redis_down_the_server_answers_its_own_relatives_and_says_so_once(
    caplog, monkeypatch
):
    book = RedisAddressBook(CLOSED_PORT_URL, KEY, KEEP_SECONDS)
    tries = counted(book.client, monkeypatch)
    with caplog.at_level(logging.WARNING):
        for number in range(20):
            conversation = f"sms-{number}"
            await book.remember(conversation, Address("sms", PHONE, "+46700000001"))
            assert await book.lookup(conversation) == Address("sms", PHONE, "+46700000001")
        await book.forget("sms-0")
        assert await book.lookup("sms-0") is None
    await book.close()
    assert len(tries) == 1  # not one wait for Redis per message: again after a pause
    [record] = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert "the messaging address book" in record.getMessage()
    assert PHONE not in caplog.text and "sms-1" not in caplog.text


async def test_a_deletion_while_redis_is_down_is_carried_out_when_it_is_back(
    servers, redis_client, monkeypatch, caplog
):
    (one, other), prefix = servers
    monkeypatch.setattr(redis_outage, "RETRY_AFTER_SECONDS", 0.0)
    await other.remember(CONVERSATION, Address("telegram", TELEGRAM_CHAT))
    reachable = one.client
    # Redis cannot be reached from the first server: its "radera" cannot be done there now.
    one.client = redis.asyncio.Redis.from_url(CLOSED_PORT_URL)
    await one.forget(CONVERSATION)
    assert one.outage.down and one.pending_forgets
    assert await other.lookup(CONVERSATION) is not None  # still in Redis meanwhile
    await one.client.close()
    # Redis answers again: the first server's next use of it does the deletion first.
    one.client = reachable
    with caplog.at_level(logging.WARNING, logger="bot.store.redis_outage"):
        assert await one.lookup("telegram-another") is None
    assert "reachable again" in caplog.text
    assert not one.outage.down and not one.pending_forgets
    assert await other.lookup(CONVERSATION) is None
    assert dump(redis_client, prefix) == b""
