"""The handoff actions and "kan jag prata med en människa?" (actions/handoff.py).

Queueing for an available handler reads and writes the escalation store:
tests/integration/test_actions_on_the_store.py."""

from __future__ import annotations

import pytest

from actions.handoff import (
    ActionHandoffClose,
    ActionHandoffEnd,
    ActionHandoffStart,
    ActionRequestHuman,
)
from tests.conftest import response_names
from tests.support.fakes import UnreachableStore

KEY = "unit-test-pseudonym-key"


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


async def test_asking_for_a_person_when_one_is_there_says_nothing_more(
    configure, dispatcher, make_tracker, domain
):
    # A store the action must not need: were it asked, nobody would be available and the
    # relative would get the contacts.
    configure(UnreachableStore, pseudonym_key=KEY)
    tracker = make_tracker("kan jag prata med en människa", "request_human", {"handoff": True})
    assert await ActionRequestHuman().run(dispatcher, tracker, domain) == []
    assert dispatcher.messages == []


async def test_a_broken_store_still_gives_the_contacts(dispatcher, make_tracker, domain, configure):
    configure(UnreachableStore, pseudonym_key=KEY)
    await ActionRequestHuman().run(
        dispatcher, make_tracker("kan jag prata med någon", "request_human"), domain
    )
    assert response_names(dispatcher)[0] == "utter_request_human"
