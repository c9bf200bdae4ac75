"""The messaging address book's secrets and choice (bot/channels/addresses.py), without
Redis: the Redis key and the sealed address derived from ADDRESS_BOOK_KEY, and which book
the settings give. tests/integration/test_address_book_redis.py uses a real Redis."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import replace

import pytest

from bot.channels.addresses import (
    KEY_PREFIX,
    Address,
    AddressSeal,
    MemoryAddressBook,
    RedisAddressBook,
    address_book,
)
from tests.support.settings import settings

KEY = "a test key for the address book"
CONVERSATION = "telegram-5f1c0e9a"
ADDRESS = Address("sms", "+46701234567", "+46700000001")


def test_the_redis_key_is_a_keyed_hash_of_the_conversation_id():
    name = AddressSeal(KEY).key_for(CONVERSATION)
    assert name.startswith(KEY_PREFIX) and CONVERSATION not in name
    assert len(name.removeprefix(KEY_PREFIX)) == 64  # SHA-256, hex
    # Every server with the same key finds the same entry; another key, another entry.
    assert AddressSeal(KEY).key_for(CONVERSATION) == name
    assert AddressSeal("another key").key_for(CONVERSATION) != name
    assert AddressSeal(KEY).key_for("telegram-other") != name


def test_the_hash_key_is_derived_not_the_address_book_key_itself():
    """Derived for its own purpose: neither the raw key nor the encryption key names it."""
    digest = AddressSeal(KEY).key_for(CONVERSATION).removeprefix(KEY_PREFIX)
    raw = hmac.new(KEY.encode(), CONVERSATION.encode(), hashlib.sha256).hexdigest()
    assert digest != raw
    seal = AddressSeal(KEY)
    assert seal._name_key != seal._fernet._signing_key + seal._fernet._encryption_key


def test_an_address_sealed_by_one_server_is_opened_by_another():
    one, other = AddressSeal(KEY), AddressSeal(KEY)
    name = one.key_for(CONVERSATION)
    token = one.seal(name, ADDRESS)
    assert token.startswith(b"gAAAAA")  # a Fernet token
    for clear in (ADDRESS.to, ADDRESS.via, CONVERSATION):
        assert clear.encode() not in token
    assert other.open(name, token) == ADDRESS


def test_a_token_that_is_not_ours_for_the_key_opens_to_nothing():
    seal = AddressSeal(KEY)
    name = seal.key_for(CONVERSATION)
    token = seal.seal(name, ADDRESS)
    assert seal.open(name, tampered(token)) is None
    assert seal.open(name, b"not a token") is None
    assert AddressSeal("another key").open(name, token) is None
    # Copied under another conversation's key in Redis: its answers would reach this relative.
    assert seal.open(seal.key_for("telegram-other"), token) is None


async def test_an_unreadable_entry_is_no_address_and_warned_about_once(caplog):
    book = RedisAddressBook("redis://127.0.0.1:6379/0", KEY, keep_seconds=3600)
    book.client = DictRedis()  # no network in unit tests
    name = book.seal.key_for(CONVERSATION)
    book.client.values[name] = AddressSeal("another key").seal(name, ADDRESS)
    with caplog.at_level(logging.WARNING, logger="bot.channels.addresses"):
        assert await book.lookup(CONVERSATION) is None
        assert await book.lookup(CONVERSATION) is None
    [record] = caplog.records
    assert ADDRESS.to not in caplog.text and CONVERSATION not in caplog.text
    assert "ADDRESS_BOOK_KEY" in record.getMessage()


def test_the_settings_choose_the_book():
    assert isinstance(address_book(replace(settings, redis_url="")), MemoryAddressBook)
    shared = address_book(
        replace(settings, redis_url="redis://127.0.0.1:6379/0", address_book_key=KEY)
    )
    assert isinstance(shared, RedisAddressBook)
    assert shared.keep_seconds == settings.messaging_address_hours * 3600


def test_redis_without_a_key_is_refused():
    with pytest.raises(ValueError, match="ADDRESS_BOOK_KEY"):
        address_book(replace(settings, redis_url="redis://127.0.0.1:6379/0", address_book_key=""))


def tampered(token: bytes) -> bytes:
    """One bit of the ciphertext flipped."""
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[len(raw) // 2] ^= 1
    return base64.urlsafe_b64encode(bytes(raw))


class DictRedis:
    """The three commands the book uses, on a dict."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}

    async def get(self, name: str) -> bytes | None:
        return self.values.get(name)

    async def set(self, name: str, value: bytes, ex: int) -> None:
        self.values[name] = value

    async def delete(self, *names: str) -> None:
        for name in names:
            self.values.pop(name, None)
