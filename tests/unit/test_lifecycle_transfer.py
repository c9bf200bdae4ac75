"""Transfer (issue 20): the holder or an admin hands a claimed escalation to a colleague,
and an open handoff goes with it (bot/escalations/lifecycle.py); the relative is told by
Rasa's action_handoff_transfer (actions/handoff.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from actions.handoff import ActionHandoffTransfer
from bot.escalations.lifecycle import Actor, State, Step, changes, ends_a_handoff, refusal
from tests.conftest import response_names

HOLDER, OTHER, TARGET, ADMIN = Actor(1), Actor(2), Actor(4), Actor(3, is_admin=True)
NOW = datetime(2026, 12, 5, 5, 0, tzinfo=timezone.utc)
CLAIMED = State("claimed", HOLDER.id, None)
IN_HANDOFF = State("claimed", HOLDER.id, HOLDER.id)


def _after(state: State, values: dict) -> State:
    return State(
        values.get("status", state.status),
        values.get("claimed_by", state.claimed_by),
        values.get("handoff_by", state.handoff_by),
    )


@pytest.mark.parametrize("actor", [HOLDER, ADMIN])
def test_the_holder_or_an_admin_may_transfer_a_claimed_escalation(actor):
    assert refusal(Step.TRANSFER, CLAIMED, actor) is None
    assert refusal(Step.TRANSFER, IN_HANDOFF, actor) is None


@pytest.mark.parametrize(
    ("state", "actor"),
    [
        (CLAIMED, OTHER),  # a colleague cannot take someone else's case this way
        (IN_HANDOFF, OTHER),
        (State("new", None, None), HOLDER),  # nobody holds it: claim it instead
        (State("new", None, None), ADMIN),
        (State("resolved", HOLDER.id, None), HOLDER),
        (CLAIMED, None),  # not the bot's step
    ],
)
def test_anyone_else_or_any_other_state_is_refused_with_its_code(state, actor):
    assert refusal(Step.TRANSFER, state, actor) == "cannot_transfer"


def test_the_target_holds_it_afterwards_and_the_old_holder_cannot_write_or_release():
    after = _after(CLAIMED, changes(Step.TRANSFER, CLAIMED, HOLDER, NOW, to=TARGET.id))
    assert after == State("claimed", TARGET.id, None)
    assert refusal(Step.RELEASE, after, HOLDER) == "cannot_release"
    assert refusal(Step.RELEASE, after, TARGET) is None


def test_an_open_handoff_goes_with_the_escalation_so_the_target_writes_next():
    values = changes(Step.TRANSFER, IN_HANDOFF, HOLDER, NOW, to=TARGET.id)
    after = _after(IN_HANDOFF, values)
    assert after == State("claimed", TARGET.id, TARGET.id)
    assert "handoff_since" not in values  # the conversation goes on, it does not restart
    assert refusal(Step.MESSAGE, after, TARGET) is None
    assert refusal(Step.MESSAGE, after, HOLDER) == "not_in_conversation"
    assert not ends_a_handoff(Step.TRANSFER, IN_HANDOFF)  # nobody is told a person left


async def test_the_relative_is_told_another_person_took_over_and_a_person_stays(
    dispatcher, make_tracker, domain
):
    events = await ActionHandoffTransfer().run(dispatcher, make_tracker(), domain)
    assert response_names(dispatcher) == ["utter_handoff_transferred"]
    slot, listen = events
    assert (slot["event"], slot["name"], slot["value"]) == ("slot", "handoff", True)
    assert (listen["event"], listen["name"]) == ("action", "action_listen")
    assert "action_handoff_transfer" in domain["actions"]
