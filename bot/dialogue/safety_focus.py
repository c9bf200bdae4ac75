"""What the conversation keeps in view after a serious signal.

A counsellor who has heard "the flight is tomorrow" or "I don't want to live any more"
does not go back to plain information in the next answer as if nothing was said: 112 (or
Självmordslinjen, when the relative's own life is at stake) stays in view on every later
answer. The risk screening (actions/risk.py) sets the focus, the one writer of the slot;
the answering actions put `utter_keep_safe_<focus>` in front of their first message
(actions/base.py), and the short replies (utter_deny, utter_thank, utter_goodbye, sent by
action_answer_short_reply) have variations conditioned on the slot in domain.yml.
"""

from __future__ import annotations

from bot.risk.levels import RiskLevel

SAFETY_FOCUS_SLOT = "safety_focus"

# Most serious first: a later signal never replaces a more serious focus.
SUICIDE_SELF = "suicide_self"  # the relative's own thoughts of dying
SUICIDE = "suicide"  # someone else's
THREAT_SELF = "threat_self"  # threats or violence against the relative
ACUTE = "acute"  # any other acute danger: travel, weapons, an attack, a child
FOCUS_ORDER = (SUICIDE_SELF, SUICIDE, THREAT_SELF, ACUTE)


def focus_of(level: RiskLevel, categories: list[str], own: bool) -> str | None:
    """The focus one screening calls for: any suicide signal, threats against the
    relative, or an acute level; an elevated signal of another kind gets its answer once
    and then lets the conversation go on."""
    if "suicide" in categories:
        return SUICIDE_SELF if own else SUICIDE
    if "threat" in categories and own:
        return THREAT_SELF
    if level is RiskLevel.ACUTE:
        return ACUTE
    return None


def most_serious(*foci: str | None) -> str | None:
    present = [focus for focus in foci if focus in FOCUS_ORDER]
    return min(present, key=FOCUS_ORDER.index) if present else None


def reminder_response(focus: str | None) -> str | None:
    return f"utter_keep_safe_{focus}" if focus in FOCUS_ORDER else None
