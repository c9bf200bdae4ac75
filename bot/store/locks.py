"""Rasa's lock store for several Rasa servers (or Sanic workers): one message of a
conversation at a time, whichever server takes it.

Rasa handles a message under a per-conversation ticket lock: it loads the tracker,
predicts, runs actions and saves. Two servers handling two messages of one conversation at
once without a shared lock both load the same tracker and the later save wins, so events
are lost or out of order (tests/integration/test_cluster.py shows it). Rasa's own
`RedisLockStore` shares the locks; this one adds what a relative's chat needs when Redis is
down: the message is handled under this server's own in-memory lock instead of failing
(the load balancer's stickiness keeps a conversation on one server most of the time),
the outage is logged once, and Redis is tried again after a pause (bot/store/redis_outage.py).

Rasa's store reads a lock, changes it and writes it back in three steps, so two servers
issuing or returning tickets at the same moment could overwrite each other's ticket (a
message then waits for nothing, or fails with a LockError). Here each change is one Redis
transaction (WATCH/MULTI: retried when another server changed the lock in between).

A lock's lifetime is TICKET_LOCK_LIFETIME (Rasa's variable, default 60 s): a server that
dies holding a lock delays that conversation's next message by at most that long.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig
from redis.exceptions import RedisError, WatchError

from bot.store.redis_outage import SOCKET_TIMEOUT_SECONDS, Outage, connection_options

logger = logging.getLogger(__name__)

KEY_PREFIX = "vagvisaren"  # Rasa adds its own "lock:" after it

Result = TypeVar("Result")


def lock_store_endpoint(redis_url: str) -> EndpointConfig | None:
    """endpoints.yml's `lock_store`, made from REDIS_URL (None: Rasa's in-memory store)."""
    if not redis_url:
        return None
    return EndpointConfig(url=redis_url, type=f"{__name__}.FailSafeRedisLockStore")


def _caused_by_redis(error: BaseException) -> bool:
    while error is not None:
        if isinstance(error, RedisError | ConnectionError | TimeoutError):
            return True
        error = error.__cause__ or error.__context__
    return False


class FailSafeRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig) -> None:
        options = connection_options(endpoint_config.url)
        super().__init__(
            host=options["host"],
            port=options["port"],
            db=options["db"],
            username=options["username"],
            password=options["password"],
            use_ssl=options["use_ssl"],
            key_prefix=KEY_PREFIX,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
        )
        self.local = InMemoryLockStore()
        self.outage = Outage(
            "Rasa's lock store",
            "each Rasa server locks conversations in its own memory meanwhile, so two "
            "messages of one conversation sent to two servers at once may be saved out of "
            "order; the load balancer's stickiness keeps that rare.",
        )

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        shared = await self._acquire_shared(conversation_id, lock_lifetime, wait_time_in_seconds)
        if shared is None:
            local = self.local.lock(conversation_id, lock_lifetime, wait_time_in_seconds)
            async with local as lock:
                yield lock
            return
        lock, ticket = shared
        try:
            yield lock
        finally:
            self._release_shared(conversation_id, ticket)

    async def _acquire_shared(
        self, conversation_id: str, lock_lifetime: float, wait_time_in_seconds: float
    ) -> tuple[TicketLock, int] | None:
        """The lock in Redis and its ticket; None when Redis cannot be used now."""
        if not self.outage.may_try():
            return None
        try:
            ticket = self.issue_ticket(conversation_id, lock_lifetime)
            lock = await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        except (LockError, RedisError) as error:
            if not _caused_by_redis(error):
                raise  # the lock expired while waiting: Rasa's own error
            self.outage.failed(error)
            return None
        self.outage.succeeded()
        return lock, ticket

    def _release_shared(self, conversation_id: str, ticket: int) -> None:
        # The message was handled and saved: a failure to release must not turn it into an
        # error for the relative. An unreleased ticket expires after its lifetime.
        try:
            self.cleanup(conversation_id, ticket)
        except RedisError as error:
            self.outage.failed(error)

    # --- each change of a lock in one transaction ---------------------------------------

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return self._change(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime))
        except RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        self._change(conversation_id, lambda lock: lock.remove_expired_tickets(), create=False)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Returns the ticket; the lock goes when nobody else waits for it."""
        self._change(
            conversation_id, lambda lock: lock.remove_ticket_for(ticket_number), create=False
        )

    def _change(
        self,
        conversation_id: str,
        change: Callable[[TicketLock], Result],
        create: bool = True,
    ) -> Result | None:
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    stored = pipe.get(key)
                    if stored is None and not create:
                        pipe.unwatch()
                        return None
                    lock = (
                        TicketLock.from_dict(json.loads(stored))
                        if stored
                        else self.create_lock(conversation_id)
                    )
                    result = change(lock)
                    pipe.multi()
                    if lock.is_someone_waiting():
                        pipe.set(key, lock.dumps())
                    else:
                        pipe.delete(key)
                    pipe.execute()
                    return result
                except WatchError:
                    continue  # another server changed the lock meanwhile: read it again
