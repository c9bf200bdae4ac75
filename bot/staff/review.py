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

from sqlalchemy import and_, case, delete, exists, func, insert, select
from sqlalchemy.engine import Engine

from bot.escalations.availability import SEEN_WITHIN
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
from bot.staff import triage
from bot.staff.accounts import StaffError, User
from bot.staff.model import OUTCOMES
from bot.store.tables import (
    conversation_presence,
    escalation_notes,
    escalations,
    staff_audit,
    staff_sessions,
    staff_users,
)

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
    # Triage at a glance (bot/staff/triage.py): since when the relative has waited for a
    # handler's answer, the first line of the redacted excerpt, their web chat's presence.
    waiting_since: datetime | None = None
    preview: str = ""
    presence: str | None = None  # "here", "left"; None: not known (messaging channels)

    def waiting_minutes(self, now: datetime) -> int | None:
        return triage.waiting_minutes(self.waiting_since, now)

    def as_json(self, now: datetime | None = None, warn: int = 5, alert: int = 15) -> dict:
        """The queue's live update. The waiting minutes and their class are computed
        against the server's `now` (default: this moment), never the browser's clock."""
        minutes = self.waiting_minutes(now or utcnow())
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
            "waiting_since": self.waiting_since.isoformat() if self.waiting_since else None,
            "waiting_minutes": minutes,
            "waiting_class": triage.waiting_class(minutes, warn, alert),
            "preview": self.preview,
            "presence": self.presence,
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
        waiting_since=as_utc(row.waiting_since),
        preview=triage.preview(row.excerpt),
        presence=triage.presence_of(row.presence_sockets),
    )


@dataclass(frozen=True)
class Alert:
    """A case the dashboard's alerts (static/alerts.js) ring for, once: its number and since
    when it is what it is (the case opened; the relative asked for a person), so a case that
    opens again or a new request rings again, and nothing else does."""

    id: int
    since: datetime | None

    def as_json(self) -> dict:
        return {"id": self.id, "since": self.since.isoformat() if self.since else None}


@dataclass(frozen=True)
class Alerts:
    """Open acute escalations, and open escalations whose relative asked for a person while
    nobody is in the conversation."""

    acute: tuple[Alert, ...]
    person: tuple[Alert, ...]


def _actor(user: User) -> Actor:
    return Actor(user.id, user.is_admin)


def _selection():
    """One query for the queue and a detail: the escalation, the holder's name and the
    relative's presence (no query per row, also with hundreds open)."""
    return (
        select(
            escalations,
            staff_users.c.username.label("claimed_by_name"),
            conversation_presence.c.sockets.label("presence_sockets"),
        )
        .outerjoin(staff_users, staff_users.c.id == escalations.c.claimed_by)
        .outerjoin(
            conversation_presence,
            conversation_presence.c.conversation_ref == escalations.c.conversation_ref,
        )
    )


# Longest waiting first; nobody waiting after everyone who is (NULLS LAST for SQLite too).
_NOT_WAITING_LAST = case((escalations.c.waiting_since.is_(None), 1), else_=0)
_LONGEST_WAITING = (_NOT_WAITING_LAST, escalations.c.waiting_since)
_CONFIRMED_FIRST = escalations.c.confirmed.desc()
ORDERS = {
    "level": (LEVEL_ORDER, _CONFIRMED_FIRST, *_LONGEST_WAITING),
    "confirmed": (_CONFIRMED_FIRST, LEVEL_ORDER, *_LONGEST_WAITING),
    "waiting": (*_LONGEST_WAITING, LEVEL_ORDER, _CONFIRMED_FIRST),
}


class Review:
    """The dashboard's reading of escalations and its audit log and notes. A note is masked
    with `redactor` before it is stored."""

    def __init__(self, engine: Engine, redactor: Redactor) -> None:
        self.engine = engine
        self.redactor = redactor

    # -- reading -----------------------------------------------------------------------------

    def queue(
        self, status: str | None = None, level: str | None = None, sort: str = "level"
    ) -> list[QueueItem]:
        """The escalations in one query. By default level first, then what the relative
        confirmed, then the longest waiting; `sort` "confirmed" or "waiting" puts that first."""
        statement = _selection().order_by(
            *ORDERS.get(sort, ORDERS["level"]), escalations.c.created_at, escalations.c.id
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

    def available_staff(self, now: datetime | None = None) -> list[str]:
        """Who else is working: the staff available for chats now, by the same rule as
        bot/escalations/availability.py (the switch on, a session used within SEEN_WITHIN)."""
        since = (now or utcnow()) - SEEN_WITHIN
        open_dashboard = exists().where(
            and_(
                staff_sessions.c.user_id == staff_users.c.id,
                staff_sessions.c.last_seen_at > since,
            )
        )
        statement = (
            select(staff_users.c.username)
            .where(
                staff_users.c.active.is_(True), staff_users.c.available.is_(True), open_dashboard
            )
            .order_by(staff_users.c.username)
        )
        with self.engine.connect() as connection:
            return list(connection.execute(statement).scalars())

    def alerts(self) -> Alerts:
        """What the dashboard's alerts watch (Alerts), in one query."""
        columns = escalations.c
        wants_a_person = and_(columns.wants_person.is_(True), columns.handoff_by.is_(None))
        statement = (
            select(
                columns.id,
                columns.level,
                columns.case_opened_at,
                columns.created_at,
                columns.person_requested_at,
                wants_a_person.label("waits"),
            )
            .where(columns.status != Status.RESOLVED.value)
            .where((columns.level == "acute") | wants_a_person)
            .order_by(columns.id)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        return Alerts(
            acute=tuple(
                Alert(row.id, as_utc(row.case_opened_at or row.created_at))
                for row in rows
                if row.level == "acute"
            ),
            person=tuple(
                Alert(row.id, as_utc(row.person_requested_at)) for row in rows if row.waits
            ),
        )

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
        self,
        user: User,
        escalation_id: int,
        outcome: str,
        now: datetime | None = None,
        expected: State | None = None,
    ) -> State:
        """`expected`: resolve only if the state is still this one (bulk resolve)."""
        if outcome not in OUTCOMES:
            raise ReviewError("outcome_required")
        return self.take(
            user,
            escalation_id,
            Step.RESOLVE,
            now,
            detail=f"outcome {outcome}",
            outcome=outcome,
            expected=expected,
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

    # -- handing an escalation to a colleague (issue 20) ----------------------------------

    def check_transfer(self, user: User, escalation_id: int, target_id: int) -> State:
        """The escalation's state if `user` may hand it to `target_id` now: the lifecycle's
        rule (the holder or an admin, while claimed), and a target that is an active
        account other than the holder; ReviewError if not."""
        before = self.check(user, escalation_id, Step.TRANSFER)
        self._transfer_target(target_id, before)
        return before

    def transfer(
        self, user: User, escalation_id: int, target_id: int, now: datetime | None = None
    ) -> State:
        """Hands the escalation, and its conversation if a handler is in it, to the target;
        audited as "transfer" with the target's username."""
        before = self.check(user, escalation_id, Step.TRANSFER)
        target = self._transfer_target(target_id, before)
        detail = f"to {target}"
        return self.take(user, escalation_id, Step.TRANSFER, now, detail=detail, to=target_id)

    def _transfer_target(self, target_id: int, state: State) -> str:
        """The target's username, if it is an active account that does not hold it yet."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(staff_users.c.username, staff_users.c.active).where(
                    staff_users.c.id == target_id
                )
            ).first()
        if row is None or not row.active or target_id == state.claimed_by:
            raise ReviewError("transfer_target_invalid")
        return row.username


def purge_audit(engine: Engine, retention_days: int, now: datetime | None = None) -> int:
    """Audit entries older than AUDIT_RETENTION_DAYS (longer than the cases they record:
    long enough to answer for how a case was handled). The retention job runs it."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    with engine.begin() as connection:
        return connection.execute(delete(staff_audit).where(staff_audit.c.at < cutoff)).rowcount
