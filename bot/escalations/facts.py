"""The statistics of cases (table case_facts): the only code that writes it.

A case is an escalation from its opening to its resolution; an escalation that is reopened
(a new signal, a new request for a person after it was resolved) starts a new case. A row
holds what a board report needs and nothing that points at a person: the hour the case
opened, the highest level, the categories, whether the relative asked for a person, how
long until a handler first took it and until it was resolved, and how it ended. The
escalation points at its current row (`fact_id`); when the escalation goes, nothing points
at the row any more. Called by the escalation's use cases (service.py) inside their unit
of work (`uow.facts`), so a fact is written with the change it records or not at all.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from bot.escalations.model import Escalation, as_utc
from bot.store.tables import case_facts, escalations


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


class CaseFacts:
    """The case_facts rows, in the unit of work's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def open_case(self, escalation: Escalation, now: datetime) -> None:
        """A new case: its row, and the escalation pointing at it."""
        result = self.session.execute(
            insert(case_facts).values(
                opened_hour=hour_of(now),
                level=escalation.level,
                categories=escalation.categories or "",
                wants_person=bool(escalation.wants_person),
            )
        )
        escalation.fact_id = result.inserted_primary_key[0]
        escalation.case_opened_at = now

    def describe(self, escalation: Escalation) -> None:
        """The case's level, categories and request for a person as the escalation has them
        now (they only grow within a case)."""
        if escalation.fact_id is None:
            return
        self.session.execute(
            update(case_facts)
            .where(case_facts.c.id == escalation.fact_id)
            .values(
                level=escalation.level,
                categories=escalation.categories or "",
                wants_person=bool(escalation.wants_person),
            )
        )

    def claimed(self, escalation_id: int, now: datetime) -> None:
        """The first claim (or join) of the case; later ones change nothing."""
        fact_id, seconds = self._case_of(escalation_id, now)
        if fact_id is not None:
            self.session.execute(
                update(case_facts)
                .where(case_facts.c.id == fact_id, case_facts.c.claimed_after_seconds.is_(None))
                .values(claimed_after_seconds=seconds)
            )

    def resolved(self, escalation_id: int, outcome: str, now: datetime) -> None:
        fact_id, seconds = self._case_of(escalation_id, now)
        if fact_id is not None:
            self.session.execute(
                update(case_facts)
                .where(case_facts.c.id == fact_id)
                .values(resolved_after_seconds=seconds, outcome=outcome)
            )

    def _case_of(self, escalation_id: int, now: datetime) -> tuple[int | None, int]:
        row = self.session.execute(
            select(escalations.c.fact_id, escalations.c.case_opened_at).where(
                escalations.c.id == escalation_id
            )
        ).first()
        if row is None or row.fact_id is None:
            return None, 0
        opened = as_utc(row.case_opened_at) or now
        return row.fact_id, max(0, int((now - opened).total_seconds()))
