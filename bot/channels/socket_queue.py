"""The socket.io message queue shared by several Rasa servers (SOCKET_REDIS_URL), made to
fail safely.

python-socketio's AsyncRedisManager delivers every emit to this server's own browsers
first and then publishes it in Redis for the other servers. With Redis down it retried
and logged two errors for every single message, each attempt waiting on a connection, and
its listener logged every reconnection attempt. A relative's chat must go on: here a
failed publish is logged loudly once, later messages do not try again until a short pause
has passed (they still reach every browser on this server), and Redis coming back is
logged once too (issue 17). Timeouts keep a hung Redis from holding a reply.
"""

from __future__ import annotations

import asyncio
import logging
import time

import socketio

logger = logging.getLogger(__name__)

# After a failure, publishing is tried again this long later (not for every message).
RETRY_AFTER_SECONDS = 5.0
SOCKET_TIMEOUT_SECONDS = 2.0


class FailSafeRedisManager(socketio.AsyncRedisManager):
    def __init__(self, url: str, **kwargs) -> None:
        # A connect timeout only: a read timeout would also end the listener's idle wait.
        options = {
            "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
            **kwargs.pop("redis_options", {}),
        }
        super().__init__(url, redis_options=options, **kwargs)
        self.redis_down_since: float | None = None
        self._next_try = 0.0

    async def _publish(self, data) -> None:
        if self.redis_down_since is not None and time.monotonic() < self._next_try:
            return  # delivered on this server already; other servers miss it while down
        try:
            if not self.connected:
                self._redis_connect()
            message = self.json.dumps(data)
            await asyncio.wait_for(
                self.redis.publish(self.channel, message), SOCKET_TIMEOUT_SECONDS
            )
        except Exception as error:  # any failure of Redis: this server's browsers still get it
            self.connected = False
            self._next_try = time.monotonic() + RETRY_AFTER_SECONDS
            self._went_down(error)
            return
        self._came_back()

    async def _redis_listen_with_retries(self):
        """Messages from the other servers; reconnects quietly, with a growing pause."""
        pause = 1.0
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                    pause = 1.0
                    self._came_back()
                async for message in self.pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any failure of Redis: try again later
                self._went_down(error)
                self.connected = False
                subscribed = False
                await asyncio.sleep(pause)
                pause = min(pause * 2, 60.0)

    def _went_down(self, error: Exception) -> None:
        if self.redis_down_since is None:
            self.redis_down_since = time.monotonic()
            logger.error(
                "Redis for socket.io (SOCKET_REDIS_URL) is unreachable (%s): the web chat "
                "goes on, but a message sent from another Rasa server (a handler's, for "
                "example) cannot reach browsers on this one until Redis is back.",
                type(error).__name__,
            )

    def _came_back(self) -> None:
        if self.redis_down_since is not None:
            seconds = time.monotonic() - self.redis_down_since
            self.redis_down_since = None
            logger.warning("Redis for socket.io is reachable again (after %.0f s).", seconds)
