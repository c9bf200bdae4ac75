"""The statistics of cases (case_facts) and the waiting time, written with each change of
an escalation, on SQLite and on a real PostgreSQL server; and migration 0006 giving the
escalations stored before it their facts (issue 20)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select

from bot.escalations.lifecycle import Actor, Step
from bot.escalations.service import (
    Signal,
    handler_answered,
    record_signal,
    relative_wrote,
    request_person,
    take_step,
)
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.risk.levels import RiskLevel
from bot.store.engine import make_engine, migrate, session_factory
from bot.store.tables import case_facts, escalations

T0 = datetime(2026, 11, 21, 12, 20, tzinfo=timezone.utc)
HANDLER = Actor(1)


def uow(url: str) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(session_factory(url))


def signal(level="elevated", categories=("travel",), conversation="conv-a") -> Signal:
    return Signal(
        conversation_ref=conversation,
        level=RiskLevel(level),
        categories=tuple(categories),
        excerpt="…resa till Syrien…",
        message_key=uuid.uuid4().hex,
    )


def facts(url: str) -> list[dict]:
    with make_engine(url).connect() as connection:
        rows = connection.execute(select(case_facts).order_by(case_facts.c.id))
        return [dict(row._mapping) for row in rows]


def escalation(url: str, conversation: str = "conv-a") -> dict:
    with make_engine(url).connect() as connection:
        row = connection.execute(
            select(escalations).where(escalations.c.conversation_ref == conversation)
        ).first()
        return dict(row._mapping)


def utc(moment):
    return moment.replace(tzinfo=timezone.utc) if moment and moment.tzinfo is None else moment


def test_a_case_is_recorded_from_signal_to_resolution_without_text_or_ids(migrated_url):
    url = migrated_url
    created = record_signal(uow(url), signal(), now=T0)
    record_signal(uow(url), signal("acute", ("attack",)), now=T0 + timedelta(minutes=1))
    take_step(uow(url), created.escalation_id, Step.CLAIM, HANDLER, T0 + timedelta(minutes=7))
    take_step(uow(url), created.escalation_id, Step.RELEASE, HANDLER, T0 + timedelta(minutes=8))
    take_step(uow(url), created.escalation_id, Step.CLAIM, HANDLER, T0 + timedelta(minutes=9))
    take_step(
        uow(url),
        created.escalation_id,
        Step.RESOLVE,
        HANDLER,
        T0 + timedelta(hours=2),
        outcome="advice_given",
    )
    [fact] = facts(url)
    assert utc(fact["opened_hour"]) == datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
    assert fact["level"] == "acute"  # the highest the case reached
    assert fact["categories"] == "travel,attack"
    assert fact["claimed_after_seconds"] == 7 * 60  # the first claim, not the later one
    assert fact["resolved_after_seconds"] == 2 * 3600
    assert fact["outcome"] == "advice_given"
    assert not fact["wants_person"]
    assert set(fact) == {
        "id",
        "opened_hour",
        "level",
        "categories",
        "wants_person",
        "claimed_after_seconds",
        "resolved_after_seconds",
        "outcome",
    }


def test_a_reopened_escalation_is_a_new_case(migrated_url):
    url = migrated_url
    created = record_signal(uow(url), signal(), now=T0)
    take_step(uow(url), created.escalation_id, Step.CLAIM, HANDLER, T0)
    take_step(uow(url), created.escalation_id, Step.RESOLVE, HANDLER, T0, outcome="no_risk_found")
    later = T0 + timedelta(days=2)
    record_signal(uow(url), signal("acute", ("weapons",)), now=later)
    first, second = facts(url)
    assert first["outcome"] == "no_risk_found" and first["level"] == "elevated"
    assert second["level"] == "acute" and second["outcome"] is None
    assert escalation(url)["fact_id"] == second["id"]
    assert utc(escalation(url)["waiting_since"]) == later


def test_a_request_for_a_person_waits_until_a_handler_writes(migrated_url):
    url = migrated_url
    request_person(uow(url), "conv-p", now=T0)
    row = escalation(url, "conv-p")
    assert utc(row["waiting_since"]) == T0 and utc(row["person_requested_at"]) == T0
    assert facts(url)[0]["wants_person"] and facts(url)[0]["level"] == "none"

    take_step(uow(url), row["id"], Step.JOIN, HANDLER, T0 + timedelta(minutes=3))
    assert facts(url)[0]["claimed_after_seconds"] == 180
    handler_answered(uow(url), row["id"])
    assert escalation(url, "conv-p")["waiting_since"] is None

    written = T0 + timedelta(minutes=5)
    assert relative_wrote(uow(url), "conv-p", written)
    assert not relative_wrote(uow(url), "conv-p", written + timedelta(minutes=1))
    assert utc(escalation(url, "conv-p")["waiting_since"]) == written  # the first unanswered


def test_a_resolved_case_waits_for_nobody(migrated_url):
    url = migrated_url
    created = record_signal(uow(url), signal(), now=T0)
    take_step(uow(url), created.escalation_id, Step.CLAIM, HANDLER, T0)
    take_step(uow(url), created.escalation_id, Step.RESOLVE, HANDLER, T0, outcome="other")
    assert escalation(url)["waiting_since"] is None
    assert not relative_wrote(uow(url), "conv-a", T0 + timedelta(minutes=1))


def test_migration_0006_gives_earlier_escalations_their_facts(empty_url):
    url = empty_url
    migrate(url, "0005")
    engine = make_engine(url)
    old = dict(
        level="elevated",
        categories="travel",
        status="resolved",
        priority=2,
        excerpt="",
        created_at=T0,
        updated_at=T0,
        resolved_at=T0 + timedelta(hours=1),
        outcome="advice_given",
        wants_person=False,
        subjects="",
        confirmed=False,
    )
    with engine.begin() as connection:
        connection.execute(insert(_table_at_0005()).values(conversation_ref="old-1", **old))
        connection.execute(
            insert(_table_at_0005()).values(
                conversation_ref="old-2", **{**old, "status": "new", "resolved_at": None}
            )
        )
    migrate(url)
    resolved, still_open = facts(url)
    assert resolved["resolved_after_seconds"] == 3600 and resolved["outcome"] == "advice_given"
    assert still_open["resolved_after_seconds"] is None
    assert utc(escalation(url, "old-2")["waiting_since"]) == T0
    assert escalation(url, "old-1")["waiting_since"] is None
    assert escalation(url, "old-1")["fact_id"] == resolved["id"]


def _table_at_0005():
    """The escalations table as revision 0005 left it (without 0006's columns)."""
    from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, Text

    return Table(
        "escalations",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("conversation_ref", String(64)),
        Column("level", String(16)),
        Column("categories", String(200)),
        Column("status", String(16)),
        Column("priority", Integer),
        Column("excerpt", Text),
        Column("created_at", DateTime(timezone=True)),
        Column("updated_at", DateTime(timezone=True)),
        Column("resolved_at", DateTime(timezone=True)),
        Column("outcome", String(32)),
        Column("wants_person", Boolean),
        Column("subjects", String(64)),
        Column("confirmed", Boolean),
    )


def test_a_step_taken_from_a_checked_state_is_refused_if_someone_joined_meanwhile(migrated_url):
    """Bulk resolve checks a case is not in a live chat, then resolves it: a handler who
    joined in between must not have the conversation ended under them unseen."""
    from bot.escalations.service import StepRefused, check_step

    url = migrated_url
    admin = Actor(9, is_admin=True)
    created = record_signal(uow(url), signal(), now=T0)
    take_step(uow(url), created.escalation_id, Step.CLAIM, HANDLER, T0)
    checked = check_step(uow(url), created.escalation_id, Step.RESOLVE, admin)
    take_step(uow(url), created.escalation_id, Step.JOIN, HANDLER, T0)  # meanwhile
    try:
        take_step(
            uow(url),
            created.escalation_id,
            Step.RESOLVE,
            admin,
            T0,
            outcome="spam_test",
            expected=checked,
        )
    except StepRefused as refused:
        assert refused.code == "changed_meanwhile"
    else:
        raise AssertionError("resolved a case whose conversation a handler had joined")
    assert escalation(url)["handoff_by"] == HANDLER.id
