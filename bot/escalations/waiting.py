"""Where a relative who asked for a person stands in the queue, and how long it usually
takes: reading only (the escalations and case_facts tables are written elsewhere).

A relative waits for a person while their escalation is open, they asked for a person
(`wants_person`, `person_requested_at`), no handler is in the conversation and none has
answered them since (`waiting_since`: a handler who wrote and handed back to the bot has
taken them out of the queue, until they write again unanswered). Their
place is 1 + the waiting relatives ahead of them in the order handlers take them: level
first (acute, elevated, none: the escalation's priority), then a risk the relative
confirmed, then who asked first.

The expected wait is what it has usually been, never a promise: the median of the last 30
days' cases in which the relative asked for a person and a handler took the case
(case_facts.claimed_after_seconds). That is the time from the case's opening to its first
claim or join, which is also the time from the request when the request opened the case;
when a risk signal opened it earlier, it counts from the signal. case_facts keeps no moment
of the request (it holds no times finer than the hour), so the time from request to join
cannot be computed afterwards. With fewer than five such cases nothing is estimated.

The web chat asks for this every few seconds while the relative waits
(bot/channels/socketio.py); the action server puts it in the answer to the request on the
other channels (actions/handoff.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.escalations.availability import handler_available
from bot.escalations.model import Status, as_utc, utcnow
from bot.store.tables import case_facts, escalations

ESTIMATE_WINDOW = timedelta(days=30)
MIN_CASES_FOR_AN_ESTIMATE = 5


@dataclass(frozen=True)
class Request:
    """An open request for a person, as the queue orders it."""

    escalation_id: int
    priority: int  # 1 acute, 2 elevated, 3 no risk signal (model.PRIORITY_BY_LEVEL)
    confirmed: bool
    requested_at: datetime


def queue_order(request: Request) -> tuple:
    """The order in which handlers take waiting relatives."""
    return (request.priority, not request.confirmed, request.requested_at, request.escalation_id)


def place_in_queue(mine: Request, waiting: Iterable[Request]) -> int:
    """1 + how many of the other waiting requests come before `mine`."""
    key = queue_order(mine)
    ahead = sum(
        1
        for other in waiting
        if other.escalation_id != mine.escalation_id and queue_order(other) < key
    )
    return 1 + ahead


def typical_wait_minutes(waits_in_seconds: Sequence[int]) -> int | None:
    """The median wait in whole minutes (at least 1); None with too few cases to say."""
    if len(waits_in_seconds) < MIN_CASES_FOR_AN_ESTIMATE:
        return None
    return max(1, round(median(waits_in_seconds) / 60))


@dataclass(frozen=True)
class QueueStatus:
    """What the relative is told: whether they wait, their place, the usual wait (None:
    cannot say), and whether any handler is available at all now."""

    waiting: bool
    place: int | None = None
    typical_minutes: int | None = None
    handler_available: bool = False

    def as_json(self) -> dict:
        return asdict(self)


NOT_WAITING = QueueStatus(waiting=False)


def _waiting_for_a_person():
    return (
        (escalations.c.status != Status.RESOLVED.value)
        & escalations.c.wants_person.is_(True)
        & escalations.c.handoff_by.is_(None)
        & escalations.c.person_requested_at.is_not(None)
        & escalations.c.waiting_since.is_not(None)
    )


def _request(row) -> Request:
    return Request(row.id, row.priority, bool(row.confirmed), as_utc(row.person_requested_at))


def queue_status(engine: Engine, conversation_ref: str, now: datetime | None = None) -> QueueStatus:
    now = now or utcnow()
    columns = (
        escalations.c.id,
        escalations.c.priority,
        escalations.c.confirmed,
        escalations.c.person_requested_at,
    )
    with engine.connect() as connection:
        mine = connection.execute(
            select(*columns).where(
                escalations.c.conversation_ref == conversation_ref, _waiting_for_a_person()
            )
        ).first()
        if mine is None:
            return NOT_WAITING
        waiting = [
            _request(row)
            for row in connection.execute(select(*columns).where(_waiting_for_a_person()))
        ]
        waits = connection.execute(
            select(case_facts.c.claimed_after_seconds).where(
                case_facts.c.wants_person.is_(True),
                case_facts.c.claimed_after_seconds.is_not(None),
                case_facts.c.opened_hour >= now - ESTIMATE_WINDOW,
            )
        ).scalars()
        typical = typical_wait_minutes(list(waits))
    return QueueStatus(
        waiting=True,
        place=place_in_queue(_request(mine), waiting),
        typical_minutes=typical,
        handler_available=handler_available(engine, now),
    )
