"""Every step of an escalation's life × every state × every role (bot/escalations/lifecycle.py).

Roles, seen from the escalation: the holder (the handler who claimed it), another handler,
an admin who does not hold it, and the bot itself (no actor)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.escalations.lifecycle import Actor, State, Step, changes, ends_a_handoff, refusal

HOLDER, OTHER, ADMIN = Actor(1), Actor(2), Actor(3, is_admin=True)
ACTORS = {"holder": HOLDER, "other": OTHER, "admin": ADMIN, "bot": None}
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)

STATES = {
    "new": State("new", None, None),
    "claimed": State("claimed", HOLDER.id, None),
    "in_handoff": State("claimed", HOLDER.id, HOLDER.id),
    "resolved": State("resolved", HOLDER.id, None),
}

# Who may take each step in each state; everyone else is refused.
ALLOWED = {
    Step.CLAIM: {"new": {"holder", "other", "admin"}},
    Step.RELEASE: {"claimed": {"holder", "admin"}, "in_handoff": {"holder", "admin"}},
    Step.RESOLVE: {"claimed": {"holder", "admin"}, "in_handoff": {"holder", "admin"}},
    Step.JOIN: {"new": {"holder", "other", "admin"}, "claimed": {"holder"}},
    Step.TAKE_OVER: {"claimed": {"admin"}, "in_handoff": {"admin"}},
    Step.MESSAGE: {"in_handoff": {"holder"}},
    Step.HAND_BACK: {"in_handoff": {"holder", "admin"}},
    Step.END: {"in_handoff": {"holder", "admin"}},
    Step.REOPEN: {"resolved": {"bot"}},
    Step.FORGET: {state: {"bot"} for state in STATES},
    Step.TRANSFER: {"claimed": {"holder", "admin"}, "in_handoff": {"holder", "admin"}},
}

CASES = [(step, state, actor) for step in Step for state in STATES for actor in ACTORS]


@pytest.mark.parametrize(("step", "state", "actor"), CASES)
def test_each_step_is_allowed_exactly_to_whom_the_rules_say(step, state, actor):
    allowed = actor in ALLOWED[step].get(state, set())
    problem = refusal(step, STATES[state], ACTORS[actor])
    assert (problem is None) == allowed, (step, state, actor, problem)
    if not allowed:
        assert isinstance(problem, str) and problem


def test_every_step_has_rules():
    assert set(ALLOWED) == set(Step)


@pytest.mark.parametrize("step", [Step.RELEASE, Step.RESOLVE, Step.REOPEN, Step.FORGET])
def test_release_resolve_reopen_and_forget_leave_nobody_in_the_conversation(step):
    state = STATES["resolved"] if step is Step.REOPEN else STATES["in_handoff"]
    actor = None if step in (Step.REOPEN, Step.FORGET) else HOLDER
    values = changes(step, state, actor, NOW, outcome="advice_given")
    assert values["handoff_by"] is None and values["handoff_since"] is None


def test_release_and_resolve_end_an_open_handoff_and_only_an_open_one():
    for step in (Step.RELEASE, Step.RESOLVE, Step.HAND_BACK, Step.END):
        assert ends_a_handoff(step, STATES["in_handoff"])
        assert not ends_a_handoff(step, STATES["claimed"])
    assert not ends_a_handoff(Step.TAKE_OVER, STATES["in_handoff"])


def test_a_handler_who_released_can_no_longer_write_and_the_next_one_can_join():
    released = changes(Step.RELEASE, STATES["in_handoff"], HOLDER, NOW)
    after = State(released["status"], released["claimed_by"], released["handoff_by"])
    assert refusal(Step.MESSAGE, after, HOLDER) == "not_in_conversation"
    joined = changes(Step.JOIN, after, OTHER, NOW)
    assert joined["claimed_by"] == joined["handoff_by"] == OTHER.id
    now_held = State(joined["status"], joined["claimed_by"], joined["handoff_by"])
    assert refusal(Step.MESSAGE, now_held, OTHER) is None
    assert refusal(Step.MESSAGE, now_held, HOLDER) == "not_in_conversation"


def test_an_admin_takes_over_the_conversation_only_by_saying_so():
    assert refusal(Step.JOIN, STATES["in_handoff"], ADMIN) == "held_by_other"
    assert refusal(Step.MESSAGE, STATES["in_handoff"], ADMIN) == "not_in_conversation"
    taken = changes(Step.TAKE_OVER, STATES["in_handoff"], ADMIN, NOW)
    assert taken["claimed_by"] == taken["handoff_by"] == ADMIN.id
    assert "handoff_by" not in changes(Step.TAKE_OVER, STATES["claimed"], ADMIN, NOW)


def test_ending_a_handoff_nobody_is_in_is_refused_even_for_an_admin():
    assert refusal(Step.END, STATES["claimed"], ADMIN) == "not_in_handoff"
    assert refusal(Step.HAND_BACK, STATES["new"], ADMIN) == "not_in_handoff"
