"""The escalation store on SQLite and on a real PostgreSQL server: migrations, the
one-per-conversation rule, upgrades, retries and rollback (unit of work)."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text

from bot.escalations.model import Escalation, Status
from bot.escalations.service import Change, Signal, record_signal
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.risk.levels import RiskLevel
from bot.store.engine import downgrade, make_engine, migrate, session_factory
from tests.support.databases import escalation_rows

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def url(migrated_url: str) -> str:
    """The escalation store migrated, on SQLite and on PostgreSQL."""
    return migrated_url


def uow(url: str) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(session_factory(url))


def signal(
    level="elevated",
    categories=("travel",),
    conversation="conv-a",
    key=None,
    excerpt="…resa till Syrien…",
):
    return Signal(
        conversation_ref=conversation,
        level=RiskLevel(level),
        categories=tuple(categories),
        excerpt=excerpt,
        message_key=key or uuid.uuid4().hex,
    )


def test_migrations_create_the_table_and_can_be_reversed(url):
    engine = make_engine(url)
    assert "escalations" in inspect(engine).get_table_names()
    downgrade(url, "base")
    assert "escalations" not in inspect(make_engine(url)).get_table_names()
    migrate(url)
    assert "escalations" in inspect(make_engine(url)).get_table_names()


def test_a_new_signal_creates_one_escalation_with_every_field(url):
    outcome = record_signal(uow(url), signal(), now=T0)
    assert outcome.change is Change.CREATED
    [row] = escalation_rows(url)
    assert (row.level, row.categories, row.status, row.priority) == ("elevated", "travel", "new", 2)
    assert (
        row.created_at.replace(tzinfo=timezone.utc)
        == T0
        == row.updated_at.replace(tzinfo=timezone.utc)
    )
    assert row.excerpt == "…resa till Syrien…" and row.conversation_ref == "conv-a"


def test_a_higher_level_upgrades_the_same_escalation(url):
    record_signal(uow(url), signal(), now=T0)
    later = T0 + timedelta(minutes=3)
    outcome = record_signal(uow(url), signal("acute", ("weapons",), excerpt="…pistol…"), now=later)
    assert outcome.change is Change.UPGRADED and outcome.change.notifies_staff
    [row] = escalation_rows(url)
    assert (row.level, row.categories, row.priority) == ("acute", "travel,weapons", 1)
    assert row.updated_at.replace(tzinfo=timezone.utc) == later
    assert row.excerpt == "…resa till Syrien…\n…pistol…"


def test_a_lower_or_equal_level_never_downgrades(url):
    record_signal(uow(url), signal("acute"), now=T0)
    outcome = record_signal(uow(url), signal("elevated"), now=T0)
    assert outcome.change is Change.UNCHANGED
    assert escalation_rows(url)[0].level == "acute"


def test_new_categories_at_the_same_level_are_added_without_paging_staff(url):
    record_signal(uow(url), signal(), now=T0)
    outcome = record_signal(uow(url), signal(categories=("suicide",)), now=T0)
    assert outcome.change is Change.UPDATED and not outcome.change.notifies_staff
    assert escalation_rows(url)[0].categories == "travel,suicide"


def test_retrying_the_same_message_creates_nothing_new(url):
    first = record_signal(uow(url), signal(key="same-message"), now=T0)
    again = record_signal(uow(url), signal("acute", key="same-message"), now=T0)
    assert again.change is Change.UNCHANGED and again.escalation_id == first.escalation_id
    assert len(escalation_rows(url)) == 1 and escalation_rows(url)[0].level == "elevated"


def test_conversations_get_separate_escalations(url):
    record_signal(uow(url), signal(conversation="a"), now=T0)
    record_signal(uow(url), signal(conversation="b"), now=T0)
    assert [row.conversation_ref for row in escalation_rows(url)] == ["a", "b"]


def test_a_resolved_escalation_is_reopened_when_the_level_rises(url):
    record_signal(uow(url), signal(), now=T0)
    with uow(url) as unit:
        unit.escalations.for_conversation("conv-a").status = Status.RESOLVED.value
        unit.commit()
    record_signal(uow(url), signal("acute"), now=T0)
    assert escalation_rows(url)[0].status == "new"


def test_uncommitted_work_is_rolled_back(url):
    with uow(url) as unit:
        unit.escalations.add(Escalation("x", "acute", "", 1, T0, T0))
    assert escalation_rows(url) == []


def test_an_error_inside_the_unit_of_work_rolls_back(url):
    record_signal(uow(url), signal(), now=T0)
    with pytest.raises(RuntimeError), uow(url) as unit:
        unit.escalations.for_conversation("conv-a").level = "acute"
        raise RuntimeError("boom")
    assert escalation_rows(url)[0].level == "elevated"


def test_simultaneous_first_signals_give_one_escalation(url):
    barrier = threading.Barrier(4)
    outcomes = []

    def worker(number):
        barrier.wait()
        outcomes.append(record_signal(uow(url), signal(key=f"m{number}"), now=T0))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(escalation_rows(url)) == 1
    assert sum(outcome.change is Change.CREATED for outcome in outcomes) == 1


def test_nothing_but_the_schema_is_stored(url):
    record_signal(uow(url), signal(), now=T0)
    with make_engine(url).connect() as connection:
        columns = [column["name"] for column in inspect(connection).get_columns("escalations")]
        assert connection.execute(text("select count(*) from escalations")).scalar() == 1
    assert set(columns) == {
        "id", "conversation_ref", "level", "categories", "status", "priority",
        "excerpt", "last_message_key", "created_at", "updated_at",
        "claimed_by", "outcome", "resolved_at", "wants_person", "handoff_by", "handoff_since",
        "subjects", "confirmed",
        # Times and a row number only (issue 20): waiting, asked for a person, case opened.
        "waiting_since", "person_requested_at", "case_opened_at", "fact_id",
    }  # fmt: skip
