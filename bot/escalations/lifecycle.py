"""An escalation's life: every change of its state, who may make it, and what it changes.

One table of rules for the dashboard (bot/staff/review.py) and the bot's own changes
(bot/escalations/service.py), so the state machine is written once (issue 17):

    new --claim/join--> claimed --release--> new
    claimed --resolve--> resolved --reopen (a new signal, a request for a person)--> new
    claimed --transfer (to another active handler)--> claimed

and, beside the status, a live handoff (`handoff_by`): a handler in the conversation.

- Only the handler who holds the escalation (claimed it) joins, writes, releases or
  resolves; an admin may release, resolve or end a handoff, and takes a held escalation
  over only by saying so (`take_over`), never by accident.
- Release and resolve end an open handoff: a person who is no longer responsible must not
  stay in the conversation, and the bot must answer the relative again.
- Hand back and end need an open handoff: "end" when nobody is in the conversation would
  tell the relative a person left who was never there.
- Reopen and forget are the bot's (no handler): a resolved case that flares up is nobody's,
  and a deleted conversation has nobody in it.
- Transfer hands a claimed escalation to another handler (the target, a given the dashboard
  has checked is an active account other than the holder): the holder or an admin may, a
  colleague may not take it that way. An open handoff goes with it, so the relative keeps
  a person in the conversation (the dashboard tells them first that someone else took over).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from bot.escalations.model import Status


class Step(str, Enum):
    CLAIM = "claim"
    RELEASE = "release"
    RESOLVE = "resolve"
    JOIN = "handoff_join"
    TAKE_OVER = "take_over"
    MESSAGE = "handoff_message"
    HAND_BACK = "handoff_return"
    END = "handoff_end"
    REOPEN = "reopen"
    FORGET = "forget"
    TRANSFER = "transfer"


@dataclass(frozen=True)
class State:
    status: str
    claimed_by: int | None
    handoff_by: int | None

    @property
    def in_handoff(self) -> bool:
        return self.handoff_by is not None


@dataclass(frozen=True)
class Actor:
    """A staff member acting on the dashboard; None where the bot itself acts."""

    id: int
    is_admin: bool = False


# What the dashboard says when a step is refused: the codes of bot/staff/templates/labels.html.
NOT_IN_HANDOFF = "not_in_handoff"
HELD_BY_OTHER = "held_by_other"


def refusal(step: Step, state: State, actor: Actor | None) -> str | None:
    """Why `actor` may not take `step` now (a problem code), or None when they may."""
    rule = _RULES[step]
    return rule(state, actor)


def changes(step: Step, state: State, actor: Actor | None, now: datetime, **given) -> dict:
    """The columns the step sets. Call only after `refusal` said None."""
    nobody_in_the_conversation = {"handoff_by": None, "handoff_since": None}
    if step is Step.CLAIM:
        return {"status": Status.CLAIMED.value, "claimed_by": actor.id}
    if step is Step.RELEASE:
        return {"status": Status.NEW.value, "claimed_by": None, **nobody_in_the_conversation}
    if step is Step.RESOLVE:
        return {
            "status": Status.RESOLVED.value,
            "outcome": given["outcome"],
            "resolved_at": now,
            "waiting_since": None,
            **nobody_in_the_conversation,
        }
    if step is Step.JOIN:
        return {
            "status": Status.CLAIMED.value,
            "claimed_by": actor.id,
            "handoff_by": actor.id,
            "handoff_since": now,
        }
    if step is Step.TAKE_OVER:
        taken = {"status": Status.CLAIMED.value, "claimed_by": actor.id}
        return {**taken, "handoff_by": actor.id} if state.in_handoff else taken
    if step is Step.MESSAGE:
        return {}
    if step is Step.TRANSFER:
        target = given["to"]
        moved = {"status": Status.CLAIMED.value, "claimed_by": target}
        return {**moved, "handoff_by": target} if state.in_handoff else moved
    if step in (Step.HAND_BACK, Step.END):
        return nobody_in_the_conversation
    if step is Step.REOPEN:
        return {
            "status": Status.NEW.value,
            "claimed_by": None,
            "outcome": None,
            "resolved_at": None,
            "waiting_since": now,  # the new signal or request is unanswered
            **nobody_in_the_conversation,
        }
    if step is Step.FORGET:
        return {
            "excerpt": "",
            "last_message_key": None,
            "waiting_since": None,  # nobody is left to wait
            **nobody_in_the_conversation,
        }
    raise ValueError(step)


def ends_a_handoff(step: Step, state: State) -> bool:
    """Whether the relative must be told a person left (and the bot answers again)."""
    return state.in_handoff and step in (Step.RELEASE, Step.RESOLVE, Step.HAND_BACK, Step.END)


# -- the rules ---------------------------------------------------------------------------------


def _is_holder(state: State, actor: Actor | None) -> bool:
    return (
        actor is not None
        and state.status == Status.CLAIMED.value
        and (state.claimed_by == actor.id)
    )


def _claim(state: State, actor: Actor | None) -> str | None:
    return None if actor and state.status == Status.NEW.value else "cannot_claim"


def _holder_or_admin(code: str):
    def rule(state: State, actor: Actor | None) -> str | None:
        if actor is None or state.status != Status.CLAIMED.value:
            return code
        return None if state.claimed_by == actor.id or actor.is_admin else code

    return rule


def _join(state: State, actor: Actor | None) -> str | None:
    if actor is None or state.status == Status.RESOLVED.value:
        return "cannot_handoff_join"
    if state.handoff_by == actor.id:
        return "cannot_handoff_join"  # already in: the relative would be told twice
    if state.in_handoff:
        return HELD_BY_OTHER if actor.is_admin else "cannot_handoff_join"
    if state.status == Status.NEW.value or state.claimed_by == actor.id:
        return None
    return HELD_BY_OTHER if actor.is_admin else "cannot_handoff_join"


def _take_over(state: State, actor: Actor | None) -> str | None:
    if actor is None or not actor.is_admin:
        return "admin_only"
    if state.status != Status.CLAIMED.value or state.claimed_by == actor.id:
        return "cannot_take_over"
    return None


def _message(state: State, actor: Actor | None) -> str | None:
    held = _is_holder(state, actor) and state.handoff_by == actor.id
    return None if held else "not_in_conversation"


def _leave(state: State, actor: Actor | None) -> str | None:
    if actor is None:
        return NOT_IN_HANDOFF
    if not state.in_handoff:
        return NOT_IN_HANDOFF
    return None if state.handoff_by == actor.id or actor.is_admin else NOT_IN_HANDOFF


def _reopen(state: State, actor: Actor | None) -> str | None:
    return None if actor is None and state.status == Status.RESOLVED.value else "cannot_reopen"


def _forget(state: State, actor: Actor | None) -> str | None:
    return None if actor is None else "cannot_forget"


_RULES = {
    Step.CLAIM: _claim,
    Step.RELEASE: _holder_or_admin("cannot_release"),
    Step.RESOLVE: _holder_or_admin("cannot_resolve"),
    Step.JOIN: _join,
    Step.TAKE_OVER: _take_over,
    Step.MESSAGE: _message,
    Step.HAND_BACK: _leave,
    Step.END: _leave,
    Step.REOPEN: _reopen,
    Step.FORGET: _forget,
    Step.TRANSFER: _holder_or_admin("cannot_transfer"),
}
