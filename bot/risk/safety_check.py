"""The safety check: one short, direct question when the screening is unsure, and how the
relative's reply settles the level.

The question is asked once per category per conversation (actions/risk.py), never instead
of the 112 answer. The reply, by button or in free text, is read here:

- yes ("ja"): a signal confirmed by the relative; to "tänker du på att ta ditt liv?" or
  "kan det hända något farligt nu eller de närmaste dagarna?" that is acute;
- not now ("inte nu"), don't know ("vet inte"): elevated, confirmed for "inte nu";
- no ("nej"): nothing is recorded;
- anything else is no answer: the question closes, and the message is screened as usual.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.risk.levels import RiskLevel
from bot.risk.patterns import CHECK_ANSWERS, Patterns
from bot.text import fold

YES, NO, NOT_NOW, DONT_KNOW = "yes", "no", "not_now", "dont_know"
_WORD = re.compile(r"[\w'-]+")


@dataclass(frozen=True)
class Settled:
    level: RiskLevel
    confirmed: bool


SETTLED = {
    YES: Settled(RiskLevel.ACUTE, confirmed=True),
    NOT_NOW: Settled(RiskLevel.ELEVATED, confirmed=True),
    DONT_KNOW: Settled(RiskLevel.ELEVATED, confirmed=False),
    NO: Settled(RiskLevel.NONE, confirmed=False),
}


def answer_to_check(text: str, patterns: Patterns) -> str | None:
    """yes, no, not_now or dont_know when the reply starts with one of the answers."""
    words = " ".join(_WORD.findall(fold(text or "")))
    if not words:
        return None
    for answer in CHECK_ANSWERS:
        for phrase in patterns.check_answers.get(answer, ()):
            cue = " ".join(_WORD.findall(fold(phrase)))
            if words == cue or words.startswith(cue + " "):
                return answer
    return None
