"""Limits for anonymous traffic: messages per conversation and per source address, new web
chats per source address (issue 17).

A script that writes hundreds of messages a minute, or opens a new chat for each one,
would otherwise take the servers' time from real relatives and fill the stores. Each limit
is a sliding window kept in this process's memory only: the keys are keyed hashes (a key
made fresh at every start), never an address or a conversation id, and a key is dropped
once its window is empty. Nothing of it is stored or logged.

The limits are generous for a person (a relative in distress may write fast, in many
short messages): a refused message is answered, politely, with the emergency number, since
a message we do not read could be the one that matters. A reverse proxy in front should
rate-limit per address too (docs/security.md has an nginx example); behind one, set
TRUSTED_PROXIES so the source address is the client's, not the proxy's.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache

from rasa.core.channels.channel import UserMessage

from bot.bootstrap import services
from bot.channels.input_limits import channel_answer
from bot.settings import Settings

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[None]]
# Beyond this many keys the oldest go first: memory stays bounded under any flood.
MAX_KEYS = 100_000
_PROCESS_KEY = secrets.token_bytes(32)


def _blind(key: str) -> bytes:
    return hmac.new(_PROCESS_KEY, key.encode("utf-8", "replace"), hashlib.sha256).digest()[:16]


class SlidingWindow:
    """At most `limit` events per `seconds` for each key."""

    def __init__(self, limit: int, seconds: float, clock=time.monotonic) -> None:
        self.limit, self.seconds, self.clock = limit, seconds, clock
        self._events: OrderedDict[bytes, deque[float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        """Counts the event if it is within the limit; whether it was."""
        if self.limit <= 0:
            return True  # 0 turns the limit off
        now, blind = self.clock(), _blind(key)
        events = self._events.get(blind)
        if events is None:
            events = self._events[blind] = deque()
        self._events.move_to_end(blind)
        while events and now - events[0] >= self.seconds:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        self._forget_the_oldest()
        return True

    def _forget_the_oldest(self) -> None:
        while len(self._events) > MAX_KEYS:
            self._events.popitem(last=False)

    def __len__(self) -> int:
        return len(self._events)


@dataclass
class AbuseLimits:
    per_conversation: SlidingWindow
    per_source: SlidingWindow
    new_chats_per_source: SlidingWindow

    @classmethod
    def from_settings(cls, config: Settings, clock=time.monotonic) -> AbuseLimits:
        return cls(
            SlidingWindow(config.limit_messages_per_conversation, 60, clock),
            SlidingWindow(config.limit_messages_per_source, 60, clock),
            SlidingWindow(config.limit_new_chats_per_source, 600, clock),
        )


@lru_cache(maxsize=1)
def process_limits() -> AbuseLimits:
    """The limits of this process, shared by every channel (a source counts across REST
    and the web chat)."""
    return AbuseLimits.from_settings(services().settings)


def paced(on_new_message: OnNewMessage, window: SlidingWindow) -> OnNewMessage:
    """`on_new_message`, but a conversation over its limit gets the polite answer through
    its own output channel, and the message goes no further."""

    async def handle(message: UserMessage) -> None:
        if window.allow(f"conversation:{message.sender_id}"):
            await on_new_message(message)
            return
        logger.info("A message over the conversation's rate limit was refused.")
        answer = channel_answer("too_fast")
        await message.output_channel.send_text_message(message.sender_id, answer)

    return handle


def source_of(request) -> str:
    """The client's address as Sanic sees it: from the proxy's header when TRUSTED_PROXIES
    says how many proxies to trust (Sanic's PROXIES_COUNT), else the peer's address."""
    return request.remote_addr or request.ip or "unknown"
