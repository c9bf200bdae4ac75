"""Closing many escalations at once: an admin resolves a flood of junk or test cases as
"spam_test" from the queue (issue 20).

Each escalation goes through the same steps as one closed by hand (Review.claim and
Review.resolve, so bot/escalations/lifecycle.py's rules and the case facts apply), and is
audited on its own ("bulk_resolve", the escalation, "outcome spam_test") so its timeline
shows it; one summary entry says how many were resolved and skipped.

Skipped, never forced:
- an escalation with a handler in the conversation: ending it would need the relative told
  (the page's own resolve does that; a bulk action must not end a live chat unseen);
- one that is resolved already, gone, or that the rules refuse (changed meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.escalations.lifecycle import Step
from bot.escalations.model import Status, utcnow
from bot.staff.accounts import User
from bot.staff.review import Review, ReviewError

OUTCOME = "spam_test"
ACTION = "bulk_resolve"
MAX_PER_REQUEST = 500


@dataclass(frozen=True)
class BulkResult:
    resolved: int
    skipped: int


class TooMany(ValueError):
    """More escalations than MAX_PER_REQUEST in one request: nothing is done."""


def selected_ids(values: list[str]) -> list[int]:
    """The form's escalation numbers, each once, in order; anything not a number is left out.
    TooMany beyond MAX_PER_REQUEST."""
    ids = list(dict.fromkeys(int(value) for value in values if value.strip().isdigit()))
    if len(ids) > MAX_PER_REQUEST:
        raise TooMany(len(ids))
    return ids


def resolve_as_spam(
    review: Review, user: User, escalation_ids: list[int], now: datetime | None = None
) -> BulkResult:
    """Resolves each escalation as spam_test (claiming a new one first); returns how many
    were resolved and skipped. The caller checked that `user` is an admin."""
    now = now or utcnow()
    resolved = 0
    for escalation_id in escalation_ids:
        if _resolve_one(review, user, escalation_id, now):
            resolved += 1
    result = BulkResult(resolved, len(escalation_ids) - resolved)
    review.log(user, ACTION, None, f"{result.resolved} resolved, {result.skipped} skipped", now)
    return result


def _resolve_one(review: Review, user: User, escalation_id: int, now: datetime) -> bool:
    detail = review.detail(escalation_id)
    if detail is None or detail.item.in_handoff:
        return False
    try:
        if detail.item.status == Status.NEW.value:
            review.claim(user, escalation_id, now)
        state = review.check(user, escalation_id, Step.RESOLVE, outcome=OUTCOME)
        if state.in_handoff:  # someone joined meanwhile: leave the live chat alone
            return False
        # Only from the state just checked: a join in between refuses it (changed_meanwhile).
        review.resolve(user, escalation_id, OUTCOME, now, expected=state)
    except ReviewError:
        return False
    review.log(user, ACTION, escalation_id, f"outcome {OUTCOME}", now)
    return True
