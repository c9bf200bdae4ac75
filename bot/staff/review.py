"""What handlers do with escalations: the queue, claim, release, resolve, notes, audit.

Rules:
- The queue lists acute before elevated before the rest, oldest first within a level.
  Reading (the queue, a detail, the notes) queries the tables directly, as the dashboard's
  views; every change goes through the escalation's use cases (bot/escalations/service.py),
  which follow bot/escalations/lifecycle.py (who may claim, release, resolve, join, write,
  hand back, end, take over). Resolving needs an outcome (bot/staff/model.py OUTCOMES).
- Every view and action is written to the audit log: who, what, which escalation, a code
  or status change. Never message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.engine import Engine

from bot.escalations.lifecycle import Actor, State, Step
from bot.escalations.model import Status, as_utc, utcnow
from bot.escalations.service import (
    StepRefused,
    add_note,
    check_step,
    handler_answered,
    take_step,
)
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.privacy.redaction import Redactor
from bot.staff.accounts import StaffError, User
from bot.staff.model import OUTCOMES
from bot.store.tables import escalation_notes, escalations, staff_audit, staff_users

LEVEL_ORDER = case(
    (escalations.c.level == "acute", 0),
    (escalations.c.level == "elevated", 1),
    else_=2,
)
LEVELS = ("acute", "elevated", "none")
STATUSES = tuple(status.value for status in Status)
MAX_NOTE_CHARS = 4000


class ReviewError(StaffError):
    """About escalations: claims, outcomes, notes, handoffs."""


@dataclass(frozen=True)
class QueueItem:
    id: int
    level: str
    categories: tuple[str, ...]
    status: str
    priority: int
    created_at: datetime
    updated_at: datetime
    claimed_by: str | None
    outcome: str | None
    wants_person: bool = False
    in_handoff: bool = False
    subjects: tuple[str, ...] = ()  # who is at risk
    confirmed: bool = False  # the relative said yes to the bot's safety check

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "level": self.level,
            "categories": list(self.categories),
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "claimed_by": self.claimed_by,
            "wants_person": self.wants_person,
            "in_handoff": self.in_handoff,
            "subjects": list(self.subjects),
            "confirmed": self.confirmed,
        }


@dataclass(frozen=True)
class Detail:
    item: QueueItem
    excerpt: str
    conversation_ref: str
    claimed_by_id: int | None
    resolved_at: datetime | None
    handoff_by: int | None = None
    handoff_since: datetime | None = None


@dataclass(frozen=True)
class Note:
    username: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    username: str | None
    action: str
    escalation_id: int | None
    detail: str


def _item(row) -> QueueItem:
    return QueueItem(
        id=row.id,
        level=row.level,
        categories=tuple(category for category in row.categories.split(",") if category),
        status=row.status,
        priority=row.priority,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        claimed_by=row.claimed_by_name,
        outcome=row.outcome,
        wants_person=bool(row.wants_person),
        in_handoff=row.handoff_by is not None,
        subjects=tuple(subject for subject in (row.subjects or "").split(",") if subject),
        confirmed=bool(row.confirmed),
    )


def _actor(user: User) -> Actor:
    return Actor(user.id, user.is_admin)


def _selection():
    return select(escalations, staff_users.c.username.label("claimed_by_name")).outerjoin(
        staff_users, staff_users.c.id == escalations.c.claimed_by
    )


class Review:
    """The dashboard's reading of escalations and its audit log and notes. A note is masked
    with `redactor` before it is stored."""

    def __init__(self, engine: Engine, redactor: Redactor) -> None:
        self.engine = engine
        self.redactor = redactor

    # -- reading -----------------------------------------------------------------------------

    def queue(self, status: str | None = None, level: str | None = None) -> list[QueueItem]:
        # Level first, then what the relative confirmed, then the oldest.
        statement = _selection().order_by(
            LEVEL_ORDER, escalations.c.confirmed.desc(), escalations.c.created_at
        )
        if status in STATUSES:
            statement = statement.where(escalations.c.status == status)
        elif status != "all":
            statement = statement.where(escalations.c.status != Status.RESOLVED.value)
        if level in LEVELS:
            statement = statement.where(escalations.c.level == level)
        with self.engine.connect() as connection:
            return [_item(row) for row in connection.execute(statement)]

    def counts(self) -> dict[str, int]:
        """Escalations per status and, among the open ones, per level."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(escalations.c.status, escalations.c.level, func.count()).group_by(
                    escalations.c.status, escalations.c.level
                )
            ).all()
        counts = {key: 0 for key in (*STATUSES, *LEVELS, "open")}
        for status, level, number in rows:
            counts[status] += number
            if status != Status.RESOLVED.value:
                counts["open"] += number
                if level in counts:
                    counts[level] += number
        return counts

    def detail(self, escalation_id: int) -> Detail | None:
        with self.engine.connect() as connection:
            row = connection.execute(_selection().where(escalations.c.id == escalation_id)).first()
        if row is None:
            return None
        return Detail(
            item=_item(row),
            excerpt=row.excerpt,
            conversation_ref=row.conversation_ref,
            claimed_by_id=row.claimed_by,
            resolved_at=as_utc(row.resolved_at),
            handoff_by=row.handoff_by,
            handoff_since=as_utc(row.handoff_since),
        )

    def notes(self, escalation_id: int) -> list[Note]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(escalation_notes)
                .where(escalation_notes.c.escalation_id == escalation_id)
                .order_by(escalation_notes.c.created_at, escalation_notes.c.id)
            )
            return [Note(row.username, row.body, as_utc(row.created_at)) for row in rows]

    def audit(self, escalation_id: int | None = None, limit: int = 500) -> list[AuditEntry]:
        statement = select(staff_audit).order_by(staff_audit.c.at.desc(), staff_audit.c.id.desc())
        if escalation_id is not None:
            statement = statement.where(staff_audit.c.escalation_id == escalation_id)
        with self.engine.connect() as connection:
            rows = connection.execute(statement.limit(limit))
            return [
                AuditEntry(as_utc(row.at), row.username, row.action, row.escalation_id, row.detail)
                for row in rows
            ]

    # -- acting ------------------------------------------------------------------------------

    def log(
        self,
        user: User | None,
        action: str,
        escalation_id: int | None = None,
        detail: str = "",
        now: datetime | None = None,
    ) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                insert(staff_audit).values(
                    at=now or utcnow(),
                    user_id=user.id if user else None,
                    username=user.username if user else None,
                    action=action,
                    escalation_id=escalation_id,
                    detail=detail[:200],
                )
            )

    def claim(self, user: User, escalation_id: int, now: datetime | None = None) -> State:
        return self.take(user, escalation_id, Step.CLAIM, now)

    def release(self, user: User, escalation_id: int, now: datetime | None = None) -> State:
        return self.take(user, escalation_id, Step.RELEASE, now)

    def resolve(
        self, user: User, escalation_id: int, outcome: str, now: datetime | None = None
    ) -> State:
        if outcome not in OUTCOMES:
            raise ReviewError("outcome_required")
        return self.take(
            user, escalation_id, Step.RESOLVE, now, detail=f"outcome {outcome}", outcome=outcome
        )

    def start_handoff(self, user: User, escalation_id: int, now: datetime | None = None) -> State:
        """The handler joins the conversation (claiming the escalation if it is new)."""
        return self.take(user, escalation_id, Step.JOIN, now, detail="joined the conversation")

    def take_over(self, user: User, escalation_id: int, now: datetime | None = None) -> State:
        """An admin takes a held escalation (and its conversation, if a handler is in it)."""
        return self.take(user, escalation_id, Step.TAKE_OVER, now)

    def end_handoff(
        self, user: User, escalation_id: int, how: str, now: datetime | None = None
    ) -> State:
        """The handler hands back to the bot (`how` "return") or ends the conversation."""
        step = Step.HAND_BACK if how == "return" else Step.END
        detail = "handed back to the bot" if how == "return" else "ended the conversation"
        return self.take(user, escalation_id, step, now, detail=detail)

    def check(self, user: User, escalation_id: int, step: Step, **given) -> State:
        """The escalation's state if `user` may take `step` now; ReviewError if not."""
        if step is Step.RESOLVE and given.get("outcome") not in OUTCOMES:
            raise ReviewError("outcome_required")
        try:
            return check_step(self._unit_of_work(), escalation_id, step, _actor(user))
        except StepRefused as refused:
            raise ReviewError(refused.code) from None

    def take(
        self,
        user: User,
        escalation_id: int,
        step: Step,
        now: datetime | None = None,
        detail: str = "",
        **given,
    ) -> State:
        """Takes the step if the rules of bot/escalations/lifecycle.py allow it (through the
        escalation's use cases, bot/escalations/service.py), audited; returns the state
        before it."""
        now = now or utcnow()
        try:
            before, values = take_step(
                self._unit_of_work(), escalation_id, step, _actor(user), now, **given
            )
        except StepRefused as refused:
            raise ReviewError(refused.code) from None
        new_status = values.get("status", before.status)
        self.log(user, step.value, escalation_id, detail or f"{before.status} -> {new_status}", now)
        return before

    def add_note(
        self, user: User, escalation_id: int, body: str, now: datetime | None = None
    ) -> None:
        body = (body or "").strip()
        if not body:
            raise ReviewError("note_empty")
        if len(body) > MAX_NOTE_CHARS:
            raise ReviewError("note_too_long")
        now = now or utcnow()
        # Masked like the conversation: a note is about a relative, and a phone number or
        # name written there outlives the chat (issue 17).
        masked = self.redactor.redact(body)
        try:
            add_note(self._unit_of_work(), escalation_id, user.id, user.username, masked, now)
        except StepRefused as refused:
            raise ReviewError(refused.code) from None
        self.log(user, "add_note", escalation_id, now=now)

    def answered(self, escalation_id: int) -> None:
        """A handler's message reached the relative: they no longer wait for an answer."""
        handler_answered(self._unit_of_work(), escalation_id)

    def _unit_of_work(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork.on(self.engine)


def purge_audit(engine: Engine, retention_days: int, now: datetime | None = None) -> int:
    """Audit entries older than AUDIT_RETENTION_DAYS (longer than the cases they record:
    long enough to answer for how a case was handled). The retention job runs it."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    with engine.begin() as connection:
        return connection.execute(delete(staff_audit).where(staff_audit.c.at < cutoff)).rowcount
