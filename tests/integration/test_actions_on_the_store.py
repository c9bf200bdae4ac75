"""The custom actions on a real escalation store (a migrated SQLite file of the test's own):
what they store, what they erase, what they read (staff availability), and the escalator
when the store is missing and comes back.

Their logic with the store in memory: tests/unit/test_risk_action.py,
tests/unit/test_handoff_actions.py, tests/unit/test_privacy.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from actions.handoff import ActionRequestHuman
from actions.privacy import ActionDeleteConversation
from actions.risk import ActionValidateSlotMappings
from bot.escalations.escalator import Escalator
from bot.escalations.model import utcnow
from bot.escalations.service import Signal, record_signal
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.notify import Notifier
from bot.privacy.tracker_store import DELETE_ACTION
from bot.pseudonym import conversation_ref
from bot.risk.levels import RiskLevel
from bot.risk.screening import RiskScreen
from bot.settings import Settings
from bot.staff.accounts import Accounts
from bot.staff.model import Role
from bot.store.engine import migrate, session_factory, shared_engine
from bot.store.tables import staff_sessions
from tests.conftest import response_names
from tests.support.databases import escalation_rows

KEY = "action-test-pseudonym-key"
CONFIG = Settings(pseudonym_key=KEY)


@pytest.fixture
def config(escalation_store_url, configure, tmp_path) -> Settings:
    """The action server's parts on the test's own escalation store and retry file."""
    return configure(
        escalation_database_url=escalation_store_url,
        escalation_retry_file=tmp_path / "retry.jsonl",
        pseudonym_key=KEY,
    )


# -- deleting the conversation (actions/privacy.py) ------------------------------------------


def escalate(url: str, sender: str) -> None:
    signal = Signal(conversation_ref(sender, KEY), RiskLevel.ACUTE, ("travel",), "…[namn]…", "k")
    record_signal(SqlAlchemyUnitOfWork(session_factory(url)), signal)


def stored_excerpt(url: str, sender: str) -> str:
    reference = conversation_ref(sender, KEY)
    return next(row for row in escalation_rows(url) if row.conversation_ref == reference).excerpt


async def test_deleting_says_so(config, dispatcher, make_tracker, domain):
    tracker = make_tracker("radera mitt samtal", "delete_conversation")
    events = await ActionDeleteConversation().run(dispatcher, tracker, domain)
    # The turn ends with the answer (no fallback predicted after this follow-up action).
    assert events == [{"event": "followup", "name": "action_listen", "timestamp": None}]
    assert response_names(dispatcher) == ["utter_conversation_deleted_web"]
    assert ActionDeleteConversation().name() == DELETE_ACTION


async def test_deleting_erases_the_escalation_excerpt_and_tells_what_stays(
    config, dispatcher, make_tracker, domain
):
    escalate(config.escalation_database_url, "test-conversation")
    tracker = make_tracker("radera allt nu", "delete_conversation")
    await ActionDeleteConversation().run(dispatcher, tracker, domain)
    assert response_names(dispatcher) == [
        "utter_conversation_deleted_web",
        "utter_conversation_deleted_escalation_kept",
    ]
    assert stored_excerpt(config.escalation_database_url, "test-conversation") == ""


# -- asking for a person (actions/handoff.py) ------------------------------------------------


def a_handler(url: str, available: bool, seen_minutes_ago: int = 0) -> None:
    accounts = Accounts(shared_engine(url))
    accounts.create_user("anna", Role.HANDLER)
    user = accounts.users()[0]
    accounts.start_session(user)
    accounts.set_available(user.id, available)
    with shared_engine(url).begin() as connection:
        connection.execute(
            staff_sessions.update().values(
                last_seen_at=utcnow() - timedelta(minutes=seen_minutes_ago)
            )
        )


async def test_an_available_handler_gets_the_relative_in_the_queue(
    config, dispatcher, make_tracker, domain
):
    database = config.escalation_database_url
    a_handler(database, available=True)
    await ActionRequestHuman().run(
        dispatcher, make_tracker("kan jag prata med en människa", "request_human"), domain
    )
    assert response_names(dispatcher) == ["utter_request_human_queued"]
    [row] = escalation_rows(database)
    assert row.wants_person and row.level == "none" and row.status == "new"
    assert row.conversation_ref == conversation_ref("test-conversation", KEY)


@pytest.mark.parametrize("available, seen_minutes_ago", [(False, 0), (True, 5)])
async def test_without_an_available_handler_the_relative_gets_contacts_and_hours(
    config, dispatcher, make_tracker, domain, available, seen_minutes_ago
):
    database = config.escalation_database_url
    a_handler(database, available=available, seen_minutes_ago=seen_minutes_ago)
    await ActionRequestHuman().run(
        dispatcher, make_tracker("kan jag prata med någon", "request_human"), domain
    )
    names = response_names(dispatcher)
    assert names[0] == "utter_request_human"
    assert "utter_contact_list" in names
    assert escalation_rows(database) == []


async def test_a_request_for_a_person_among_other_questions_is_queued_too(
    config, dispatcher, make_tracker, domain, monkeypatch
):
    import actions.answers as answers

    async def two_topics(message, classify):
        return ["ask_police", "request_human"]

    monkeypatch.setattr(answers, "answer_topics", two_topics)
    database = config.escalation_database_url
    a_handler(database, available=True)
    tracker = make_tracker("vad gör polisen? och kan jag prata med någon?", "ask_police")
    await answers.ActionAnswerTopic(classify=None).run(dispatcher, tracker, domain)
    names = response_names(dispatcher)
    assert names[0] == "utter_ask_police" and names[-1] == "utter_request_human_queued"
    assert escalation_rows(database)[0].wants_person


# -- the risk screening's escalations (actions/risk.py) --------------------------------------


@pytest.fixture(scope="module")
def screen(detector) -> RiskScreen:
    # Patterns only: these tests are about the action, the model is tested on its own.
    return RiskScreen(detector)


@pytest.fixture
def action(screen, escalation_store_url, tmp_path) -> ActionValidateSlotMappings:
    escalator = Escalator(escalation_store_url, Notifier(Settings()), tmp_path / "retry.jsonl")
    return ActionValidateSlotMappings(screen=screen, escalator=escalator, config=CONFIG)


async def run(action, dispatcher, tracker, domain):
    events = await action.run(dispatcher, tracker, domain)
    await action.escalator.wait_idle()
    return events


async def test_database_failure_does_not_stop_the_safety_answer(
    screen, dispatcher, make_tracker, domain, tmp_path
):
    broken = f"sqlite:///{tmp_path / 'missing-dir' / 'no-such-table.db'}"  # never migrated
    escalator = Escalator(broken, Notifier(Settings()), tmp_path / "retry.jsonl")
    action = ActionValidateSlotMappings(screen=screen, escalator=escalator, config=CONFIG)
    await run(
        action, dispatcher, make_tracker("han ska åka till syrien ikväll", "share_worry"), domain
    )
    assert response_names(dispatcher)[0] == "utter_risk_acute"
    assert len(escalator.retries) == 1
    # The database comes back: the queued escalation is stored, once.
    migrate(broken)
    assert await escalator.retry_pending() == 1
    assert len(escalator.retries) == 0
    [escalation] = escalation_rows(broken)
    assert escalation.level == "acute"


async def test_failed_escalations_are_logged_without_message_text(
    screen, dispatcher, make_tracker, domain, tmp_path, caplog
):
    escalator = Escalator(
        f"sqlite:///{tmp_path / 'x.db'}", Notifier(Settings()), tmp_path / "retry.jsonl"
    )
    action = ActionValidateSlotMappings(screen=screen, escalator=escalator, config=CONFIG)
    await run(
        action, dispatcher, make_tracker("han ska åka till syrien ikväll", "share_worry"), domain
    )
    assert "queued for retry" in caplog.text
    assert "syrien" not in caplog.text.lower()


async def test_without_staff_tables_nobody_is_promised(action):
    assert action.person_available() is False
