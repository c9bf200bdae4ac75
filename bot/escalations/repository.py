"""Escalations as a collection: the only code that writes SQL for them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.escalations.model import Escalation


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
