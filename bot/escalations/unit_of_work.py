"""Unit of work: one transaction around a use case, rolled back unless committed.

    with SqlAlchemyUnitOfWork(session_factory) as uow:
        uow.escalations.add(...)
        uow.commit()

Leaving the block without `commit()` (or with an exception) rolls everything back, so a
half-written escalation is never stored.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.escalations.facts import CaseFacts
from bot.escalations.repository import EscalationRepository


class SqlAlchemyUnitOfWork:
    escalations: EscalationRepository
    facts: CaseFacts  # the statistics of cases, written with the change they record

    def __init__(self, session_factory: sessionmaker) -> None:
        self.session_factory = session_factory
        self.session: Session | None = None

    @classmethod
    def on(cls, engine: Engine) -> SqlAlchemyUnitOfWork:
        """A unit of work on an engine the caller holds (the dashboard, the retention job)."""
        return cls(sessionmaker(bind=engine, future=True, expire_on_commit=False))

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        self.session = self.session_factory()
        self.escalations = EscalationRepository(self.session)
        self.facts = CaseFacts(self.session)
        return self

    def __exit__(self, *exc_info) -> None:
        self.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
