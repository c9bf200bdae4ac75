"""Escalations and the staff's notes on them, as a collection: the only code that writes
their tables (bot/store/tables.py: escalations, escalation_notes).

The dashboard's reading (bot/staff/review.py: the queue, a detail, the notes) queries them
directly, as views; every change goes through the use cases in service.py, which use this.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.orm import Session

from bot.escalations.lifecycle import State
from bot.escalations.model import Escalation, Status
from bot.store.tables import escalation_notes, escalations


class EscalationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, escalation: Escalation) -> None:
        self.session.add(escalation)

    def for_conversation(self, conversation_ref: str) -> Escalation | None:
        statement = select(Escalation).where(Escalation.conversation_ref == conversation_ref)
        return self.session.execute(statement).scalars().first()

    def get(self, escalation_id: int) -> Escalation | None:
        return self.session.get(Escalation, escalation_id)

    def list(self) -> list[Escalation]:
        statement = select(Escalation).order_by(Escalation.priority, Escalation.created_at)
        return list(self.session.execute(statement).scalars())

    # -- a handler's step (bot/escalations/lifecycle.py) -----------------------------------

    def state_for_update(self, escalation_id: int) -> State | None:
        """Who holds it and whether someone is in the conversation, locked where the
        database can (PostgreSQL); `change_unless_changed` covers SQLite."""
        row = self.session.execute(
            select(escalations.c.status, escalations.c.claimed_by, escalations.c.handoff_by)
            .where(escalations.c.id == escalation_id)
            .with_for_update()
        ).first()
        return State(row.status, row.claimed_by, row.handoff_by) if row else None

    def change_unless_changed(self, escalation_id: int, before: State, values: dict) -> bool:
        """Writes `values` only if the state is still `before`: of two handlers' claims or
        joins at the same moment, the second updates no row. Returns whether it wrote."""
        return bool(
            self.session.execute(
                update(escalations)
                .where(escalations.c.id == escalation_id)
                .where(escalations.c.status == before.status)
                .where(_same(escalations.c.claimed_by, before.claimed_by))
                .where(_same(escalations.c.handoff_by, before.handoff_by))
                .values(**values)
            ).rowcount
        )

    # -- who waits for an answer ------------------------------------------------------------

    def set_waiting(self, escalation_id: int, since: datetime | None) -> None:
        self.session.execute(
            update(escalations).where(escalations.c.id == escalation_id).values(waiting_since=since)
        )

    def start_waiting(self, conversation_ref: str, now: datetime) -> bool:
        """Waiting from `now`, if the case is open and the relative was not waiting already."""
        return bool(
            self.session.execute(
                update(escalations)
                .where(
                    escalations.c.conversation_ref == conversation_ref,
                    escalations.c.status != Status.RESOLVED.value,
                    escalations.c.waiting_since.is_(None),
                )
                .values(waiting_since=now)
            ).rowcount
        )

    # -- notes ---------------------------------------------------------------------------

    def add_note(
        self, escalation_id: int, user_id: int, username: str, body: str, now: datetime
    ) -> None:
        self.session.execute(
            insert(escalation_notes).values(
                escalation_id=escalation_id,
                user_id=user_id,
                username=username,
                body=body,
                created_at=now,
            )
        )

    def erase_notes(self, conversation_ref: str) -> int:
        of_the_conversation = select(escalations.c.id).where(
            escalations.c.conversation_ref == conversation_ref
        )
        return self.session.execute(
            delete(escalation_notes).where(
                escalation_notes.c.escalation_id.in_(of_the_conversation)
            )
        ).rowcount

    # -- retention -----------------------------------------------------------------------

    def erase_resolved_before(self, cutoff: datetime) -> int:
        """The excerpt and notes of escalations resolved before `cutoff`; how many
        excerpts were erased."""
        expired = and_(
            escalations.c.status == Status.RESOLVED.value,
            func.coalesce(escalations.c.resolved_at, escalations.c.updated_at) < cutoff,
        )
        self.session.execute(
            delete(escalation_notes).where(
                escalation_notes.c.escalation_id.in_(select(escalations.c.id).where(expired))
            )
        )
        return self.session.execute(
            update(escalations)
            .where(and_(expired, escalations.c.excerpt != ""))
            .values(excerpt="", last_message_key=None)
        ).rowcount


def _same(column, value):
    return column.is_(None) if value is None else column == value
