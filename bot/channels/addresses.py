"""Where to reach a relative of a messaging channel, in memory only.

An answer within the webhook call could use the address from the request, but a handler's
message from the dashboard arrives later, through Rasa's API, with only the pseudonymous
conversation id. This keeps id -> address for ADDRESS_HOURS after the relative's last
message, in this process's memory: nothing is written to disk, a database or a log, and a
restart forgets it (the relative is reachable again with their next message). When the
relative deletes the conversation ("radera mitt samtal"), the address goes at once.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Address:
    channel: str  # "telegram", "sms" or "whatsapp"
    to: str  # the relative: a Telegram chat id, or a phone number ("whatsapp:+46..." too)
    via: str = ""  # our own number the relative wrote to (Twilio)


class AddressBook:
    def __init__(self, keep_seconds: float) -> None:
        self.keep_seconds = keep_seconds
        self._entries: dict[str, tuple[Address, float]] = {}
        self._lock = threading.Lock()

    def remember(self, conversation_id: str, address: Address) -> None:
        with self._lock:
            self._drop_expired()
            self._entries[conversation_id] = (address, time.monotonic() + self.keep_seconds)

    def forget(self, conversation_id: str) -> None:
        """At once, not after ADDRESS_HOURS: the relative deleted the conversation."""
        with self._lock:
            self._entries.pop(conversation_id, None)

    def lookup(self, conversation_id: str) -> Address | None:
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
