"""Fakes for the unit tests, which use no database and no network (docs/testing.md): the
escalation store as a collection in memory, the escalator that stores into it, and a store
that cannot be reached.

In the style of cosmicpython/code's tests/unit/fakes.py: the fakes have the interface of
the real parts (bot/escalations/repository.py, unit_of_work.py, escalator.py), and the code
under test receives them as the real ones, through its constructor

    store = FakeUnitOfWork()
    ActionValidateSlotMappings(escalator=FakeEscalator(store), ...)

or through bot/bootstrap.py with the `configure` fixture (tests/support/settings.py):

    configure(UnreachableStore, pseudonym_key=KEY)

The use cases (bot/escalations/service.py: record_signal, request_person, ...) run as they
are on the fake store, so a test still sees what the action's signals amount to: one
escalation per conversation, upgraded, never duplicated.
"""

from __future__ import annotations

import asyncio
from functools import cached_property

from sqlalchemy.exc import OperationalError

from bot.bootstrap import Services
from bot.escalations.model import Escalation, as_utc
from bot.escalations.service import Outcome, Signal, record_signal


class FakeRepository:
    """bot.escalations.repository.EscalationRepository, in memory: the escalations, for the
    use cases the actions call (record_signal, request_person, forget_conversation). It
    keeps no staff notes: they are the dashboard's."""

    def __init__(self, escalations: list[Escalation] | None = None) -> None:
        self._escalations: list[Escalation] = []
        for escalation in escalations or []:
            self.add(escalation)

    def add(self, escalation: Escalation) -> None:
        if escalation.id is None:  # as the database gives it
            escalation.id = len(self._escalations) + 1
        self._escalations.append(escalation)

    def for_conversation(self, conversation_ref: str) -> Escalation | None:
        return next((e for e in self._escalations if e.conversation_ref == conversation_ref), None)

    def get(self, escalation_id: int) -> Escalation | None:
        return next((e for e in self._escalations if e.id == escalation_id), None)

    def list(self) -> list[Escalation]:
        return sorted(self._escalations, key=lambda e: (e.priority, as_utc(e.created_at)))

    def erase_notes(self, conversation_ref: str) -> int:
        return 0


class FakeCaseFacts:
    """bot.escalations.facts.CaseFacts, in memory: one dict per case."""

    def __init__(self, repository: FakeRepository) -> None:
        self.repository = repository
        self.rows: list[dict] = []

    def open_case(self, escalation: Escalation, now) -> None:
        self.rows.append({"level": escalation.level, "wants_person": escalation.wants_person})
        escalation.fact_id, escalation.case_opened_at = len(self.rows), now

    def describe(self, escalation: Escalation) -> None:
        if escalation.fact_id:
            self.rows[escalation.fact_id - 1].update(
                level=escalation.level, wants_person=escalation.wants_person
            )

    def claimed(self, escalation_id: int, now) -> None:
        pass

    def resolved(self, escalation_id: int, outcome: str, now) -> None:
        pass


class FakeUnitOfWork:
    """bot.escalations.unit_of_work.SqlAlchemyUnitOfWork on a FakeRepository. One instance
    is the whole store: every `with` block sees what earlier ones committed."""

    def __init__(self, escalations: list[Escalation] | None = None) -> None:
        self.escalations = FakeRepository(escalations)
        self.facts = FakeCaseFacts(self.escalations)
        self.committed = False

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(self, *exc_info) -> None:
        self.rollback()

    def commit(self) -> None:
        self.committed = True

    def rollback(self) -> None:
        pass

    def stored(self) -> list[Escalation]:
        """Every escalation in the store, in the order they were added."""
        return list(self.escalations._escalations)


class FakeRetries:
    """bot.escalations.escalator.RetryFile, in memory."""

    def __init__(self) -> None:
        self.signals: list[Signal] = []

    def append(self, signal: Signal) -> None:
        self.signals.append(signal)

    def take_all(self) -> list[Signal]:
        signals, self.signals = self.signals, []
        return signals

    def drop(self, conversation_ref: str) -> int:
        kept = [s for s in self.signals if s.conversation_ref != conversation_ref]
        dropped, self.signals = len(self.signals) - len(kept), kept
        return dropped

    def __len__(self) -> int:
        return len(self.signals)


class FakeEscalator:
    """bot.escalations.escalator.Escalator's interface, storing into a FakeUnitOfWork with
    the real use case (record_signal) and notifying nobody. `submit` returns at once and
    stores in a background task, as the real one does. It has no database URL: an action
    given it needs its `person_available` too."""

    def __init__(self, store: FakeUnitOfWork | None = None) -> None:
        self.store = store if store is not None else FakeUnitOfWork()
        self.retries = FakeRetries()
        self._tasks: set[asyncio.Task] = set()

    def submit(self, signal: Signal) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(self.escalate(signal))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def escalate(self, signal: Signal) -> Outcome | None:
        return record_signal(self.store, signal)

    def relative_wrote(self, conversation_ref: str) -> None:
        """The waiting time of a case in handoff: the dashboard's figure, not the bot's."""

    async def retry_pending(self) -> int:
        stored = 0
        for signal in self.retries.take_all():
            if await self.escalate(signal) is not None:
                stored += 1
        return stored

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _unreachable() -> OperationalError:
    return OperationalError("connect", {}, ConnectionRefusedError("the store is down"))


class UnreachableStore(Services):
    """A process's parts (bot/bootstrap.py) whose escalation store cannot be reached: every
    use of it raises as a database that is down does (sqlalchemy's OperationalError). The
    escalator queues in memory. For `configure(UnreachableStore, ...)`."""

    @property
    def escalation_engine(self):
        raise _unreachable()

    @property
    def sessions(self):
        raise _unreachable()

    def unit_of_work(self):
        raise _unreachable()

    @cached_property
    def escalator(self) -> FakeEscalator:
        return FakeEscalator()
