"""The handoff actions and "kan jag prata med en människa?" (actions/handoff.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from actions.handoff import (
    ActionHandoffClose,
    ActionHandoffEnd,
    ActionHandoffStart,
    ActionRequestHuman,
)
from bot.escalations.model import Escalation, utcnow
from bot.pseudonym import conversation_ref
from bot.staff.accounts import Accounts
from bot.staff.model import Role
from bot.store.engine import migrate, session_factory, shared_engine
from bot.store.tables import staff_sessions
from tests.conftest import response_names

KEY = "unit-test-pseudonym-key"


@pytest.fixture
def database(tmp_path, configure) -> str:
    url = f"sqlite:///{tmp_path / 'escalations.db'}"
    migrate(url)
    configure(escalation_database_url=url, pseudonym_key=KEY)
    return url


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


def escalations(url: str) -> list[Escalation]:
    with session_factory(url)() as session:
        return list(session.execute(select(Escalation)).scalars())


@pytest.mark.parametrize(
    "action, response, handoff_after",
    [
        (ActionHandoffStart(), "utter_handoff_joined", True),
        (ActionHandoffEnd(), "utter_handoff_returned", False),
        (ActionHandoffClose(), "utter_handoff_ended", False),
    ],
)
async def test_each_handoff_step_tells_the_relative_and_sets_the_slot(
    action, response, handoff_after, dispatcher, make_tracker, domain
):
    events = await action.run(dispatcher, make_tracker(), domain)
    assert response_names(dispatcher) == [response]
    slot, listen = events
    assert (slot["event"], slot["name"], slot["value"]) == ("slot", "handoff", handoff_after)
    assert (listen["event"], listen["name"]) == ("action", "action_listen")
    assert response in domain["responses"]


async def test_an_available_handler_gets_the_relative_in_the_queue(
    database, dispatcher, make_tracker, domain
):
    a_handler(database, available=True)
    await ActionRequestHuman().run(
        dispatcher, make_tracker("kan jag prata med en människa", "request_human"), domain
    )
    assert response_names(dispatcher) == ["utter_request_human_queued"]
    [row] = escalations(database)
    assert row.wants_person and row.level == "none" and row.status == "new"
    assert row.conversation_ref == conversation_ref("test-conversation", KEY)


@pytest.mark.parametrize("available, seen_minutes_ago", [(False, 0), (True, 5)])
async def test_without_an_available_handler_the_relative_gets_contacts_and_hours(
    database, dispatcher, make_tracker, domain, available, seen_minutes_ago
):
    a_handler(database, available=available, seen_minutes_ago=seen_minutes_ago)
    await ActionRequestHuman().run(
        dispatcher, make_tracker("kan jag prata med någon", "request_human"), domain
    )
    names = response_names(dispatcher)
    assert names[0] == "utter_request_human"
    assert "utter_contact_list" in names
    assert escalations(database) == []


async def test_asking_for_a_person_when_one_is_there_says_nothing_more(
    database, dispatcher, make_tracker, domain
):
    a_handler(database, available=True)
    tracker = make_tracker("kan jag prata med en människa", "request_human", {"handoff": True})
    assert await ActionRequestHuman().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == []


async def test_a_broken_store_still_gives_the_contacts(
    dispatcher, make_tracker, domain, configure, tmp_path
):
    configure(
        escalation_database_url=f"sqlite:///{tmp_path}/no/such/dir/x.db",
        pseudonym_key=KEY,
    )
    await ActionRequestHuman().run(
        dispatcher, make_tracker("kan jag prata med någon", "request_human"), domain
    )
    assert response_names(dispatcher)[0] == "utter_request_human"


async def test_a_request_for_a_person_among_other_questions_is_queued_too(
    database, dispatcher, make_tracker, domain, monkeypatch
):
    import actions.answers as answers

    async def two_topics(message, classify):
        return ["ask_police", "request_human"]

    monkeypatch.setattr(answers, "answer_topics", two_topics)
    a_handler(database, available=True)
    tracker = make_tracker("vad gör polisen? och kan jag prata med någon?", "ask_police")
    await answers.ActionAnswerTopic(classify=None).run(dispatcher, tracker, domain)
    names = response_names(dispatcher)
    assert names[0] == "utter_ask_police" and names[-1] == "utter_request_human_queued"
    assert escalations(database)[0].wants_person
