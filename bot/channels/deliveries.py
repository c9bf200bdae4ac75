"""Each webhook delivery is answered once, across restarts and servers (issue 17).

Telegram (`update_id`) and Twilio (`MessageSid`) resend a webhook call they are unsure
about, and neither signs a time: Twilio's signature has no timestamp and Telegram's secret
header never changes, so a captured call is valid forever. A delivery id seen once is
therefore remembered, for MESSAGING_DELIVERY_DAYS, in the escalation database that every
Rasa server shares: a resend or a replay within that time is not answered again, whichever
server or process receives it, also after a restart.

Stored is only a keyed hash (HMAC-SHA256 with PSEUDONYM_KEY) of channel and id, and when it
expires: never the provider's id, which the provider's logs could tie to a phone number or
chat, and nothing of the conversation. "First time" is decided by the database, atomically:
the key is the primary key, so of two servers inserting the same delivery one fails, and
that one has seen it. An expired row (not purged yet) is taken over by a conditional
update, which likewise only one of them wins.

If the database cannot be reached the message is answered anyway (a relative's message
matters more than a duplicate), and this process's memory still catches resends.

    deliveries = DeliveryLog(settings.escalation_database_url, settings.pseudonym_key, days)
    if deliveries.first_time("telegram", update["update_id"]): ...
    purge_expired_deliveries(engine)   # the retention job; also done now and then on insert
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, delete, insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.store.engine import shared_engine
from bot.store.tables import TABLE, deliveries

logger = logging.getLogger(__name__)

# Expired rows are deleted while inserting at most this often per process, so the table
# stays small even where the retention job does not run.
PURGE_EVERY_SECONDS = 600
# The last deliveries this process received, consulted only while the database cannot be
# reached, so resends are still caught then.
MEMORY_SIZE = 1000


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def delivery_key(channel: str, delivery_id: str, key: str) -> str:
    """HMAC-SHA256 of channel and delivery id: without PSEUDONYM_KEY it cannot be tied to
    the provider's id, and the same id on two channels gives two keys."""
    if not key:
        raise ValueError("PSEUDONYM_KEY is empty: run `make env` to generate one")
    material = f"delivery\x1f{channel}\x1f{delivery_id}".encode()
    return hmac.new(key.encode(), material, hashlib.sha256).hexdigest()


def usable_id(delivery_id: Any) -> str | None:
    """The id as text, or None when it is missing or malformed (then the message is
    answered and not remembered: nothing to tell a resend by)."""
    if isinstance(delivery_id, bool) or not isinstance(delivery_id, int | str):
        return None
    text = str(delivery_id)
    # Not printable (a lone surrogate, a control character): no provider sends it, and it
    # could not be hashed (a 500, found by `make fuzz`).
    return text if text and len(text) <= 200 and text.isprintable() else None


class DeliveryLog:
    """Answers "is this the first time this delivery arrives?" for every process that
    shares the database at `url`."""

    def __init__(
        self,
        url: str,
        key: str,
        keep_days: float,
        now: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.url = url
        self.key = key
        self.keep = timedelta(days=keep_days)
        self.now = now
        self._memory: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._last_purge = float("-inf")

    @property
    def engine(self) -> Engine:
        return shared_engine(self.url)

    def first_time(self, channel: str, delivery_id: Any) -> bool:
        """Remembers the delivery; whether it had not been seen (or its memory expired)."""
        text = usable_id(delivery_id)
        if text is None:
            return True
        hashed = delivery_key(channel, text, self.key)
        try:
            first = self._claim(hashed)
        except SQLAlchemyError as error:
            logger.warning("Delivery ids not remembered in the database (%s)", type(error).__name__)
            first = not self._in_memory(hashed)
        self._remember(hashed)
        if first:
            self._purge_now_and_then()
        return first

    def _claim(self, hashed: str) -> bool:
        """One atomic insert, or the takeover of an expired row: true for the one caller
        that made the row its own."""
        now = self.now()
        row = {"delivery_key": hashed, "expires_at": now + self.keep}
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(deliveries).values(**row))
            return True
        except IntegrityError:
            pass  # seen before: still remembered, or expired and not purged yet
        with self.engine.begin() as connection:
            taken_over = connection.execute(
                update(deliveries)
                .where(and_(deliveries.c.delivery_key == hashed, deliveries.c.expires_at <= now))
                .values(expires_at=row["expires_at"])
            )
            return taken_over.rowcount == 1

    def _purge_now_and_then(self) -> None:
        if time.monotonic() - self._last_purge < PURGE_EVERY_SECONDS:
            return
        self._last_purge = time.monotonic()
        try:
            purge_expired_deliveries(self.engine, self.now())
        except SQLAlchemyError as error:
            logger.warning("Expired delivery ids not purged (%s)", type(error).__name__)

    def _in_memory(self, hashed: str) -> bool:
        with self._lock:
            return hashed in self._memory

    def _remember(self, hashed: str) -> None:
        with self._lock:
            self._memory[hashed] = None
            while len(self._memory) > MEMORY_SIZE:
                self._memory.popitem(last=False)


def purge_expired_deliveries(engine: Engine, now: datetime | None = None) -> int:
    """Deletes the delivery ids whose memory expired; how many. For the retention job
    (SQLite and PostgreSQL; a database without the table has nothing to purge)."""
    with engine.begin() as connection:
        if not engine.dialect.has_table(connection, TABLE):
            return 0
        result = connection.execute(
            delete(deliveries).where(deliveries.c.expires_at <= (now or _utcnow()))
        )
    return result.rowcount
