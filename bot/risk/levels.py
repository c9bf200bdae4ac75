"""Risk levels and signal categories: the interface of slots `risk_level` and `risk_signals`."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

# The order of this tuple is the order categories are listed in slots and notifications.
CATEGORIES = (
    "travel",
    "weapons",
    "attack",
    "threat",
    "child_at_risk",
    "suicide",
    "grooming",
)


# Who is at risk: the relative who writes, the person they worry about, a child, others.
SUBJECTS = ("self", "person", "child", "third_party")


def in_subject_order(subjects: Iterable[str]) -> tuple[str, ...]:
    present = set(subjects)
    return tuple(subject for subject in SUBJECTS if subject in present)


def in_category_order(categories: Iterable[str]) -> tuple[str, ...]:
    """The known categories among `categories`, once each, in the order of CATEGORIES."""
    present = set(categories)
    return tuple(category for category in CATEGORIES if category in present)


class RiskLevel(str, Enum):
    NONE = "none"
    ELEVATED = "elevated"
    ACUTE = "acute"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @classmethod
    def highest(cls, *levels: RiskLevel | str | None) -> RiskLevel:
        known = [cls(level) for level in levels if level]
        return max(known, key=lambda level: level.rank, default=cls.NONE)


_RANKS = {RiskLevel.NONE: 0, RiskLevel.ELEVATED: 1, RiskLevel.ACUTE: 2}
