"""The escalation's use cases: every change of an escalation goes through here.

Recording a risk signal as an escalation (one per conversation):

- No escalation yet: create one (status new).
- The level rises: upgrade the same row (and reopen it if it was resolved).
- New categories at the same level: add them to the row; staff see them, nobody is paged.
- The same message again (a retry): nothing changes.

The caller learns which of these happened, so it notifies staff only for `created` and
`upgraded`.

A handler's step (claim, release, resolve, join, ... : `take_step`) follows the rules of
lifecycle.py; so do the bot's own steps (a new signal reopens a resolved escalation; a
deleted conversation is forgotten). Notes, and what retention erases, are here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy.exc import IntegrityError

from bot.escalations.lifecycle import Actor, State, Step, changes, refusal
from bot.escalations.model import (
    PRIORITY_BY_LEVEL,
    Escalation,
    Status,
    join_categories,
    join_subjects,
    utcnow,
)
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.risk.levels import RiskLevel

MAX_EXCERPT_CHARS = 1000


class Change(str, Enum):
    CREATED = "created"
    UPGRADED = "upgraded"
    UPDATED = "updated"
    UNCHANGED = "unchanged"

    @property
    def notifies_staff(self) -> bool:
        return self in (Change.CREATED, Change.UPGRADED)


@dataclass(frozen=True)
class Signal:
    conversation_ref: str
    level: RiskLevel
    categories: tuple[str, ...]
    excerpt: str  # already redacted
    message_key: str
    subjects: tuple[str, ...] = ()  # who is at risk
    confirmed: bool = False  # the relative said yes to the bot's safety check


@dataclass(frozen=True)
class Outcome:
    change: Change
    escalation_id: int
    level: RiskLevel
    categories: tuple[str, ...]
    at: datetime


def record_signal(
    uow: SqlAlchemyUnitOfWork, signal: Signal, now: datetime | None = None
) -> Outcome:
    if signal.level is RiskLevel.NONE:
        raise ValueError("only elevated or acute signals are escalated")
    now = now or utcnow()
    try:
        return _record(uow, signal, now)
    except IntegrityError:
        # Another worker created this conversation's escalation at the same moment:
        # the unique conversation_ref refused the second row. Update that one instead.
        return _record(uow, signal, now)


def _record(uow: SqlAlchemyUnitOfWork, signal: Signal, now: datetime) -> Outcome:
    with uow:
        escalation = uow.escalations.for_conversation(signal.conversation_ref)
        if escalation is None:
            escalation = _new(signal, now)
            uow.facts.open_case(escalation, now)
            uow.escalations.add(escalation)
            change = Change.CREATED
        elif escalation.last_message_key == signal.message_key:
            return _outcome(Change.UNCHANGED, escalation)
        else:
            change = _update(uow, escalation, signal, now)
        uow.commit()
        return _outcome(change, escalation)


def _new(signal: Signal, now: datetime) -> Escalation:
    return Escalation(
        conversation_ref=signal.conversation_ref,
        level=signal.level.value,
        categories=join_categories(signal.categories),
        priority=PRIORITY_BY_LEVEL[signal.level],
        status=Status.NEW.value,
        excerpt=signal.excerpt[:MAX_EXCERPT_CHARS],
        last_message_key=signal.message_key,
        created_at=now,
        updated_at=now,
        subjects=join_subjects(signal.subjects),
        confirmed=signal.confirmed,
        waiting_since=now,  # nobody has answered the relative yet
    )


def _update(
    uow: SqlAlchemyUnitOfWork, escalation: Escalation, signal: Signal, now: datetime
) -> Change:
    old_level = escalation.risk_level
    new_level = RiskLevel.highest(old_level, signal.level)
    categories = join_categories(set(escalation.category_list) | set(signal.categories))
    subjects = join_subjects(set(escalation.subject_list) | set(signal.subjects))
    newly_confirmed = signal.confirmed and not escalation.confirmed
    escalation.last_message_key = signal.message_key
    if new_level.rank > old_level.rank:
        change = Change.UPGRADED
        escalation.level = new_level.value
        escalation.priority = PRIORITY_BY_LEVEL[new_level]
        if escalation.status == Status.RESOLVED.value:
            _reopen(uow, escalation, now)
    elif categories != escalation.categories or subjects != escalation.subjects or newly_confirmed:
        change = Change.UPDATED
    else:
        return Change.UNCHANGED
    escalation.categories = categories
    escalation.subjects = subjects
    escalation.confirmed = bool(escalation.confirmed or signal.confirmed)
    escalation.excerpt = _append_excerpt(escalation.excerpt, signal.excerpt)
    escalation.updated_at = now
    uow.facts.describe(escalation)
    return change


def _reopen(uow: SqlAlchemyUnitOfWork, escalation: Escalation, now: datetime) -> None:
    """Back in the queue: nobody holds it, the old outcome no longer holds, and it is a new
    case for the statistics."""
    _apply(escalation, Step.REOPEN, now)
    uow.facts.open_case(escalation, now)


def _apply(escalation: Escalation, step: Step, now: datetime) -> None:
    """A step of the bot's own (no handler), by the rules of bot/escalations/lifecycle.py."""
    state = State(escalation.status, escalation.claimed_by, escalation.handoff_by)
    if refusal(step, state, None) is None:
        for column, value in changes(step, state, None, now).items():
            setattr(escalation, column, value)


def _append_excerpt(old: str, new: str) -> str:
    combined = f"{old}\n{new}" if old else new
    return combined[-MAX_EXCERPT_CHARS:]


def _outcome(change: Change, escalation: Escalation) -> Outcome:
    return Outcome(
        change=change,
        escalation_id=escalation.id,
        level=escalation.risk_level,
        categories=tuple(escalation.category_list),
        at=escalation.updated_at,
    )


def forget_conversation(uow: SqlAlchemyUnitOfWork, conversation_ref: str) -> bool:
    """The relative deleted the conversation: erase what the escalation holds of its words
    (the excerpt, and the staff's notes on it, which are about them). Level, categories and
    status stay, so staff who were already alerted still see that there was a signal.
    Returns whether there was an escalation."""
    with uow:
        escalation = uow.escalations.for_conversation(conversation_ref)
        if escalation is None:
            return False
        uow.escalations.erase_notes(conversation_ref)
        # The words go; the conversation is gone, so nobody can be in it any more.
        _apply(escalation, Step.FORGET, utcnow())
        uow.commit()
        return True


def request_person(
    uow: SqlAlchemyUnitOfWork, conversation_ref: str, now: datetime | None = None
) -> Outcome:
    """The relative asked to talk to a person: their escalation (a new one at level none if
    there was no risk signal) is marked and, if it was resolved, back in the queue."""
    now = now or utcnow()
    with uow:
        escalation = uow.escalations.for_conversation(conversation_ref)
        if escalation is None:
            escalation = Escalation(
                conversation_ref=conversation_ref,
                level=RiskLevel.NONE.value,
                categories="",
                priority=PRIORITY_BY_LEVEL[RiskLevel.NONE],
                created_at=now,
                updated_at=now,
                wants_person=True,
                waiting_since=now,
                person_requested_at=now,
            )
            uow.facts.open_case(escalation, now)
            uow.escalations.add(escalation)
            change = Change.CREATED
        elif escalation.wants_person and escalation.status != Status.RESOLVED.value:
            return _outcome(Change.UNCHANGED, escalation)
        else:
            change = Change.UPDATED
            escalation.wants_person = True
            escalation.updated_at = now
            escalation.person_requested_at = now
            if escalation.status == Status.RESOLVED.value:
                _reopen(uow, escalation, now)
            escalation.waiting_since = escalation.waiting_since or now
            uow.facts.describe(escalation)
        uow.commit()
        return _outcome(change, escalation)


class StepRefused(Exception):
    """The step is not allowed now; `code` names why (lifecycle.refusal's codes,
    "not_found", "changed_meanwhile")."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def take_step(
    uow: SqlAlchemyUnitOfWork,
    escalation_id: int,
    step: Step,
    actor: Actor,
    now: datetime | None = None,
    **given,
) -> tuple[State, dict]:
    """A handler's step, if lifecycle.py allows it now: returns the state before it and
    the columns it changed; StepRefused if it may not be taken. With `expected` (a State
    the caller checked earlier), also refused ("changed_meanwhile") when the state is no
    longer that one: a bulk resolve must not end a conversation someone joined between its
    check and its step."""
    now = now or utcnow()
    expected: State | None = given.pop("expected", None)
    with uow:
        before = _allowed(uow, escalation_id, step, actor)
        if expected is not None and before != expected:
            raise StepRefused("changed_meanwhile")
        values = changes(step, before, actor, now, **given)
        if values:
            values = {"updated_at": now, **values}
            if not uow.escalations.change_unless_changed(escalation_id, before, values):
                raise StepRefused("changed_meanwhile")
            _record_the_step_in_the_facts(uow, escalation_id, step, now, given)
            uow.commit()
        return before, values


def _record_the_step_in_the_facts(
    uow: SqlAlchemyUnitOfWork, escalation_id: int, step: Step, now: datetime, given: dict
) -> None:
    if step in (Step.CLAIM, Step.JOIN):
        uow.facts.claimed(escalation_id, now)
    elif step is Step.RESOLVE:
        uow.facts.resolved(escalation_id, given["outcome"], now)


def handler_answered(
    uow: SqlAlchemyUnitOfWork, escalation_id: int, now: datetime | None = None
) -> None:
    """A handler wrote to the relative: nobody is waiting for an answer any more."""
    with uow:
        uow.escalations.set_waiting(escalation_id=escalation_id, since=None)
        uow.commit()


def relative_wrote(
    uow: SqlAlchemyUnitOfWork, conversation_ref: str, now: datetime | None = None
) -> bool:
    """The relative wrote while a handler is in the conversation: from this message on
    they wait for an answer, unless they were waiting already. Returns whether it changed."""
    with uow:
        changed = uow.escalations.start_waiting(conversation_ref, now or utcnow())
        uow.commit()
        return changed


def check_step(uow: SqlAlchemyUnitOfWork, escalation_id: int, step: Step, actor: Actor) -> State:
    """The escalation's state if `actor` may take `step` now (nothing changes);
    StepRefused if not. The dashboard asks before it tells a relative anything."""
    with uow:
        return _allowed(uow, escalation_id, step, actor)


def _allowed(uow: SqlAlchemyUnitOfWork, escalation_id: int, step: Step, actor: Actor) -> State:
    before = uow.escalations.state_for_update(escalation_id)
    if before is None:
        raise StepRefused("not_found")
    if problem := refusal(step, before, actor):
        raise StepRefused(problem)
    return before


def add_note(
    uow: SqlAlchemyUnitOfWork,
    escalation_id: int,
    user_id: int,
    username: str,
    body: str,
    now: datetime | None = None,
) -> None:
    """A handler's note on an escalation; `body` is masked already."""
    with uow:
        if uow.escalations.get(escalation_id) is None:
            raise StepRefused("not_found")
        uow.escalations.add_note(escalation_id, user_id, username, body, now or utcnow())
        uow.commit()


def erase_resolved(
    uow: SqlAlchemyUnitOfWork, retention_days: int, now: datetime | None = None
) -> int:
    """The retention job: the excerpts and notes of escalations resolved more than
    `retention_days` ago. Returns how many excerpts were erased."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    with uow:
        erased = uow.escalations.erase_resolved_before(cutoff)
        uow.commit()
        return erased
