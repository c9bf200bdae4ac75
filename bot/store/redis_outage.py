"""What every user of the shared Redis (REDIS_URL) does when it cannot be reached.

A relative's chat must go on while Redis is down (docs/deployment.md, "When Redis is
down"): each user falls back to what this process can do alone, says so loudly once (not
for every message), does not try Redis again for every message (each try could wait for a
timeout) but after a short pause, and says once when Redis is back.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import unquote, urlparse

logger = logging.getLogger(__name__)

# After a failure, Redis is tried again this long later (not for every message).
RETRY_AFTER_SECONDS = 5.0
# A hung Redis must not hold a reply longer than this.
SOCKET_TIMEOUT_SECONDS = 2.0


class Outage:
    """One user's view of whether Redis is down, with the log lines an operator needs."""

    def __init__(self, purpose: str, while_down: str) -> None:
        self.purpose = purpose  # "Rasa's lock store"
        self.while_down = while_down  # what happens meanwhile, for the operator
        self.down_since: float | None = None
        self._next_try = 0.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def may_try(self) -> bool:
        """Whether to use Redis now: always while it works, after a pause when it failed."""
        return self.down_since is None or time.monotonic() >= self._next_try

    def failed(self, error: BaseException) -> None:
        self._next_try = time.monotonic() + RETRY_AFTER_SECONDS
        if self.down_since is None:
            self.down_since = time.monotonic()
            logger.error(
                "Redis (REDIS_URL) for %s is unreachable (%s): %s",
                self.purpose,
                type(error).__name__,
                self.while_down,
            )

    def succeeded(self) -> None:
        if self.down_since is not None:
            seconds = time.monotonic() - self.down_since
            self.down_since = None
            logger.warning("Redis for %s is reachable again (after %.0f s).", self.purpose, seconds)


def connection_options(url: str) -> dict:
    """redis://[user:password@]host[:port][/db] (rediss:// for TLS) as keyword arguments
    for redis-py and Rasa's Redis stores."""
    parsed = urlparse(url)
    if parsed.scheme not in {"redis", "rediss"}:
        raise ValueError("a Redis URL starts with redis:// or rediss://")
    database = parsed.path.strip("/")
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 6379,
        "db": int(database) if database else 0,
        "username": unquote(parsed.username) if parsed.username else None,
        "password": unquote(parsed.password) if parsed.password else None,
        "use_ssl": parsed.scheme == "rediss",
    }
