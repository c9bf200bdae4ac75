"""A session start counts one conversation for the statistics (actions/session.py): in the
background, never delaying the answer; once per session (not for the widget's second run);
a store that cannot be reached is logged by the error's type and changes nothing else."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime, timezone

import pytest
from rasa_sdk.events import SessionStarted

from actions import session
from actions.session import ActionSessionStart
from bot.bootstrap import Services
from tests.unit.test_fallback_and_session import opened_by_widget

ENGINE = object()  # stands for the escalation store's engine


class WithAnEngine(Services):
    @property
    def escalation_engine(self):
        return ENGINE


class Counts(list):
    """(engine, start) of each count written."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()


@pytest.fixture
def counted(monkeypatch):
    """The counts the session start writes, held until `counted.release.set()`."""
    calls = Counts()
    release = calls.release

    def count_conversation(engine, now):
        release.wait(5)
        calls.append((engine, now))

    monkeypatch.setattr(session, "count_conversation", count_conversation)
    return calls


async def finished_counting() -> None:
    await asyncio.gather(*list(session._counting), return_exceptions=True)


async def test_a_new_session_is_counted_once_without_waiting_for_the_store(
    configure, counted, make_tracker, dispatcher, domain
):
    configure(WithAnEngine)
    events = await ActionSessionStart().run(dispatcher, make_tracker(), domain)
    assert events[0] == SessionStarted()
    assert counted == []  # the answer is back; the count is still being written
    counted.release.set()
    await finished_counting()
    [(engine, started)] = counted
    assert engine is ENGINE
    assert abs((datetime.now(timezone.utc) - started).total_seconds()) < 60


async def test_the_widgets_second_run_in_the_same_session_is_not_counted(
    configure, counted, make_tracker, dispatcher, domain
):
    configure(WithAnEngine)
    counted.release.set()
    await ActionSessionStart().run(dispatcher, opened_by_widget(make_tracker, []), domain)
    await finished_counting()
    assert counted == []


async def test_a_store_that_cannot_be_reached_is_logged_by_type_and_the_answer_stands(
    make_tracker, dispatcher, domain, caplog
):
    """The unit tests' store is down (tests/unit/conftest.py): OperationalError."""
    caplog.set_level(logging.ERROR, logger="actions.session")
    events = await ActionSessionStart().run(dispatcher, make_tracker(), domain)
    await finished_counting()
    assert events[0] == SessionStarted()
    assert [record.getMessage() for record in caplog.records] == [
        "Conversation not counted for the statistics (OperationalError)"
    ]
