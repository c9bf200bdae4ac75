"""Where to reach a relative of a messaging channel, for as long as an answer may be needed.

An answer within the webhook call could use the address from the request, but a handler's
message from the dashboard arrives later, through Rasa's API, with only the pseudonymous
conversation id, and with several Rasa servers (REDIS_URL) perhaps on another server than
the one that received the relative's message. The address book keeps conversation id ->
address (a Telegram chat id, or a phone number) for MESSAGING_ADDRESS_HOURS after the
relative's last message; when the relative deletes the conversation ("radera mitt samtal"),
the address goes at once. It is never logged, nor stored in clear.

- Without REDIS_URL (one server): in this process's memory (`MemoryAddressBook`); a restart
  forgets it, and the relative is reachable again with their next message.
- With REDIS_URL (`RedisAddressBook`): in the shared Redis, so that every server can answer.
  Redis holds only what a dump of it may show: under the key `vagvisaren:address:` plus an
  HMAC-SHA256 of the conversation id, a Fernet token (AES-128-CBC + HMAC-SHA256) of the
  address and its key; both secrets are derived from ADDRESS_BOOK_KEY, for different
  purposes (HKDF). A token that does not open for its key (another ADDRESS_BOOK_KEY, or
  changed in Redis) counts as no address. Each entry expires (Redis' EX)
  MESSAGING_ADDRESS_HOURS after the relative's last message. The book wants no persistence
  from that Redis (no RDB snapshots, no AOF): nothing in it has to survive a restart of
  Redis (a relative is reachable again with their next message), and a snapshot on disk
  would keep sealed addresses past their time and past a deletion.
- Redis down (bot/store/redis_outage.py): said loudly once; every call uses this process's
  own copy (each address this server received is also kept here, as in the in-memory
  book, under the hashed key), so relatives are still answered by the server that received
  their message, but a handler's message sent by another server cannot reach them until
  Redis is back. A deletion that could not reach Redis is carried out as soon as it answers.
  While Redis answers, it decides: an address it no longer has is dropped from this
  process's copy too.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

import redis.asyncio as redis
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from redis.exceptions import RedisError

from bot.settings import Settings
from bot.store.redis_outage import SOCKET_TIMEOUT_SECONDS, Outage

logger = logging.getLogger(__name__)

KEY_PREFIX = "vagvisaren:address:"
# What can go wrong between this process and Redis: refused, timed out, closed, or an error.
REDIS_FAILURES = (RedisError, OSError, asyncio.TimeoutError)


@dataclass(frozen=True)
class Address:
    channel: str  # "telegram", "sms" or "whatsapp"
    to: str  # the relative: a Telegram chat id, or a phone number ("whatsapp:+46..." too)
    via: str = ""  # our own number the relative wrote to (Twilio)


class AddressBook:
    """What the messaging channels use; async, so that a Redis round-trip never blocks
    the event loop."""

    async def remember(self, conversation_id: str, address: Address) -> None:
        raise NotImplementedError

    async def forget(self, conversation_id: str) -> None:
        """At once, not after MESSAGING_ADDRESS_HOURS: the relative deleted the conversation."""
        raise NotImplementedError

    async def lookup(self, conversation_id: str) -> Address | None:
        raise NotImplementedError


class MemoryAddressBook(AddressBook):
    """In this process's memory: the book of a single server, and the Redis book's own copy."""

    def __init__(self, keep_seconds: float) -> None:
        self.keep_seconds = keep_seconds
        self._entries: dict[str, tuple[Address, float]] = {}
        self._lock = threading.Lock()

    async def remember(self, conversation_id: str, address: Address) -> None:
        self.remember_now(conversation_id, address)

    async def forget(self, conversation_id: str) -> None:
        self.forget_now(conversation_id)

    async def lookup(self, conversation_id: str) -> Address | None:
        return self.lookup_now(conversation_id)

    def remember_now(self, conversation_id: str, address: Address) -> None:
        with self._lock:
            self._drop_expired()
            self._entries[conversation_id] = (address, time.monotonic() + self.keep_seconds)

    def forget_now(self, conversation_id: str) -> None:
        with self._lock:
            self._entries.pop(conversation_id, None)

    def lookup_now(self, conversation_id: str) -> Address | None:
        with self._lock:
            entry = self._entries.get(conversation_id)
            if entry is None or entry[1] < time.monotonic():
                self._entries.pop(conversation_id, None)
                return None
            return entry[0]

    def __len__(self) -> int:
        with self._lock:
            self._drop_expired()
            return len(self._entries)

    def _drop_expired(self) -> None:
        now = time.monotonic()
        for conversation_id in [key for key, (_, until) in self._entries.items() if until < now]:
            del self._entries[conversation_id]


class AddressSeal:
    """The two secrets ADDRESS_BOOK_KEY gives: the Redis key for a conversation (an HMAC,
    so the conversation id never reaches Redis) and the sealed address stored under it."""

    def __init__(self, key: str, prefix: str = KEY_PREFIX) -> None:
        self.prefix = prefix
        self._name_key = _derived(key, b"vagvisaren address book conversation key")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derived(key, b"vagvisaren address book")))

    def key_for(self, conversation_id: str) -> str:
        mac = hmac.new(self._name_key, conversation_id.encode(), hashlib.sha256)
        return self.prefix + mac.hexdigest()

    def seal(self, key: str, address: Address) -> bytes:
        # The Redis key goes inside the token: a token copied under another conversation's
        # key (someone who can write to Redis) would send that conversation's answers to
        # the wrong relative, so it is refused like any other tampering.
        return self._fernet.encrypt(json.dumps({"key": key, **asdict(address)}).encode())

    def open(self, key: str, token: bytes) -> Address | None:
        """The address, or None for a token that is not ours for this key."""
        try:
            fields = json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            return None
        if fields.pop("key", None) != key:
            return None
        return Address(**fields)


def _derived(key: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(key.encode())


class RedisAddressBook(AddressBook):
    """Shared by every Rasa server through Redis (see the module's docstring)."""

    def __init__(self, url: str, key: str, keep_seconds: float, prefix: str = KEY_PREFIX) -> None:
        if not key:
            raise ValueError("the address book in Redis needs ADDRESS_BOOK_KEY")
        self.keep_seconds = keep_seconds
        self.seal = AddressSeal(key, prefix)
        self.client = _client(url)
        # This server's own copy, by the hashed key: used while Redis cannot be reached.
        self.local = MemoryAddressBook(keep_seconds)
        # Deletions Redis has not confirmed yet (hashed keys only). A relative's "radera
        # mitt samtal" must never be lost to an outage: each is retried before anything
        # else as soon as Redis answers again, so no other server finds the address after.
        self.pending_forgets: set[str] = set()
        self.outage = Outage(
            "the messaging address book",
            "relatives still get answers from the server that received their message, but a "
            "handler's message sent by another server cannot reach a Telegram or SMS "
            "relative until Redis is back; deletions are carried out when it is back.",
        )
        self._warned_unreadable = False

    async def remember(self, conversation_id: str, address: Address) -> None:
        key = self.seal.key_for(conversation_id)
        self.local.remember_now(key, address)
        token = self.seal.seal(key, address)
        await self._with_redis(lambda: self.client.set(key, token, ex=self._expiry()))

    async def forget(self, conversation_id: str) -> None:
        key = self.seal.key_for(conversation_id)
        self.local.forget_now(key)
        self.pending_forgets.add(key)
        await self._with_redis()  # the pending deletions, this one among them

    async def lookup(self, conversation_id: str) -> Address | None:
        key = self.seal.key_for(conversation_id)
        found, token = await self._with_redis(lambda: self.client.get(key))
        if not found:
            return self.local.lookup_now(key)
        if token is None:
            # Expired, or forgotten by another server: this server's copy goes too, or it
            # would answer a deleted conversation during a later outage.
            self.local.forget_now(key)
            return None
        return self._opened(key, token)

    async def close(self) -> None:
        await self.client.close()

    async def _with_redis(
        self, operation: Callable[[], Awaitable[Any]] | None = None
    ) -> tuple[bool, Any]:
        """(True, the result) when Redis answered; (False, None) while it is down, without
        trying again before Outage's pause. Pending deletions go first."""
        if not self.outage.may_try():
            return False, None
        try:
            await self._carry_out_pending_forgets()
            result = await operation() if operation else None
        except REDIS_FAILURES as error:
            self.outage.failed(error)
            return False, None
        self.outage.succeeded()
        return True, result

    async def _carry_out_pending_forgets(self) -> None:
        if not self.pending_forgets:
            return
        keys = set(self.pending_forgets)
        await self.client.delete(*keys)
        self.pending_forgets -= keys

    def _expiry(self) -> int:
        return max(1, round(self.keep_seconds))

    def _opened(self, key: str, token: bytes) -> Address | None:
        address = self.seal.open(key, token)
        if address is None and not self._warned_unreadable:
            self._warned_unreadable = True
            logger.warning(
                "An entry of the messaging address book in Redis cannot be read with this "
                "ADDRESS_BOOK_KEY (another key, or changed in Redis): treated as no address."
            )
        return address


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_timeout=SOCKET_TIMEOUT_SECONDS, socket_connect_timeout=SOCKET_TIMEOUT_SECONDS
    )


def address_book(settings: Settings) -> AddressBook:
    """In Redis when REDIS_URL is set (several servers), else in this process's memory."""
    keep_seconds = settings.messaging_address_hours * 3600
    if not settings.redis_url:
        return MemoryAddressBook(keep_seconds)
    if not settings.address_book_key:
        raise ValueError(
            "REDIS_URL is set but ADDRESS_BOOK_KEY is empty: the messaging address book in "
            "Redis is encrypted with a key derived from it (make env writes one)"
        )
    return RedisAddressBook(settings.redis_url, settings.address_book_key, keep_seconds)
