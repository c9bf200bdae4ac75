"""Stores escalations and notifies staff without ever holding up the relative's answer.

`Escalator.submit(signal)` returns at once; storing and notifying run in the background.
When the database cannot be reached, the signal (pseudonymous reference, level,
categories, redacted excerpt: no message text) is appended to a retry file and stored
later by `retry_pending()`, which the action server runs every ESCALATION_RETRY_SECONDS.
Failures are logged with their error type only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import asdict
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.escalations.service import Outcome, Signal, record_signal, relative_wrote
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.notify import Notification, Notifier
from bot.risk.levels import RiskLevel
from bot.store.engine import session_factory

logger = logging.getLogger(__name__)


class RetryFile:
    """Signals waiting to be stored, one JSON object per line, appended under a lock and
    taken (read and removed) all at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._memory: list[Signal] = []  # used only when the file cannot be written either

    def append(self, signal: Signal) -> None:
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as file:
                    file.write(json.dumps(_to_json(signal)) + "\n")
            except OSError as error:
                logger.error(
                    "Retry file not writable (%s): escalation kept in memory", type(error).__name__
                )
                self._memory.append(signal)

    def take_all(self) -> list[Signal]:
        with self._lock:
            signals, self._memory = self._memory, []
            if self.path.exists():
                lines = self.path.read_text(encoding="utf-8").splitlines()
                signals += [_from_json(json.loads(line)) for line in lines if line.strip()]
                self.path.unlink()
            return signals

    def drop(self, conversation_ref: str) -> int:
        """The relative deleted the conversation: a waiting signal would store its excerpt
        again, so it goes (issue 17). Returns how many were dropped."""
        with self._lock:
            kept = [s for s in self._memory if s.conversation_ref != conversation_ref]
            dropped, self._memory = len(self._memory) - len(kept), kept
            if self.path.exists():
                lines = self.path.read_text(encoding="utf-8").splitlines()
                keep = [
                    line
                    for line in lines
                    if line.strip() and json.loads(line)["conversation_ref"] != conversation_ref
                ]
                dropped += len([line for line in lines if line.strip()]) - len(keep)
                if dropped:
                    self._rewrite(keep)
            return dropped

    def _rewrite(self, lines: list[str]) -> None:
        """Replaces the file in one step, so a crash leaves the old or the new one."""
        spare = self.path.with_suffix(self.path.suffix + ".tmp")
        spare.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        spare.replace(self.path)

    def __len__(self) -> int:
        with self._lock:
            on_disk = (
                len(self.path.read_text(encoding="utf-8").splitlines()) if self.path.exists() else 0
            )
            return on_disk + len(self._memory)


def _to_json(signal: Signal) -> dict:
    data = asdict(signal)
    data["level"] = signal.level.value
    data["categories"] = list(signal.categories)
    return data


def _from_json(data: dict) -> Signal:
    return Signal(
        conversation_ref=data["conversation_ref"],
        level=RiskLevel(data["level"]),
        categories=tuple(data["categories"]),
        excerpt=data["excerpt"],
        message_key=data["message_key"],
    )


class Escalator:
    def __init__(self, database_url: str, notifier: Notifier, retry_file: Path) -> None:
        self.database_url = database_url
        self.notifier = notifier
        self.retries = RetryFile(retry_file)
        self._tasks: set[asyncio.Task] = set()

    def submit(self, signal: Signal) -> asyncio.Task:
        """Stores and notifies in the background; the caller answers the relative at once."""
        task = asyncio.get_running_loop().create_task(self.escalate(signal))
        self._tasks.add(task)  # keep a reference until done, or the task may be collected
        task.add_done_callback(self._tasks.discard)
        return task

    async def escalate(self, signal: Signal) -> Outcome | None:
        try:
            outcome = await asyncio.to_thread(self._store, signal)
        except (SQLAlchemyError, OSError) as error:
            logger.error(
                "Escalation could not be stored (%s): queued for retry", type(error).__name__
            )
            self.retries.append(signal)
            return None
        await self._notify(outcome)
        return outcome

    def relative_wrote(self, conversation_ref: str) -> asyncio.Task:
        """Marks, in the background, that the relative waits for a handler's answer (the
        dashboard's waiting time). A failure costs only that figure: logged by type."""
        task = asyncio.get_running_loop().create_task(self._mark_waiting(conversation_ref))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _mark_waiting(self, conversation_ref: str) -> None:
        try:
            await asyncio.to_thread(
                relative_wrote,
                SqlAlchemyUnitOfWork(session_factory(self.database_url)),
                conversation_ref,
            )
        except (SQLAlchemyError, OSError) as error:
            logger.warning("Waiting time not recorded (%s)", type(error).__name__)

    async def retry_pending(self) -> int:
        """Stores queued signals; returns how many were stored. Failed ones stay queued."""
        stored = 0
        for signal in self.retries.take_all():
            if await self.escalate(signal) is not None:
                stored += 1
        if stored:
            logger.info("Stored %d escalation(s) from the retry queue", stored)
        return stored

    async def wait_idle(self) -> None:
        """Waits for background escalations (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _store(self, signal: Signal) -> Outcome:
        return record_signal(SqlAlchemyUnitOfWork(session_factory(self.database_url)), signal)

    async def _notify(self, outcome: Outcome) -> None:
        logger.info(
            "Escalation %s %s (%s)",
            outcome.escalation_id,
            outcome.change.value,
            outcome.level.value,
        )
        if outcome.change.notifies_staff:
            await self.notifier.notify(
                Notification(
                    change=outcome.change.value,
                    escalation_id=outcome.escalation_id,
                    level=outcome.level.value,
                    categories=outcome.categories,
                    at=outcome.at,
                )
            )
