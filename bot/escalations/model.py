"""An escalation: the domain object, mapped onto its table (bot/store/tables.py) with
SQLAlchemy 1.4's 2.0-style API.

One row per conversation. It holds no message text and no identifier: the conversation is
a keyed hash (bot/pseudonym.py) and the excerpt is the redacted signal words only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum

from bot.risk.levels import RiskLevel, in_category_order, in_subject_order
from bot.store.tables import escalations, mapper_registry


class Status(str, Enum):
    NEW = "new"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


# Priority 1 is the most urgent, as in P1/P2 incident queues; 3: a relative who asked for a
# person without a risk signal.
PRIORITY_BY_LEVEL = {RiskLevel.ACUTE: 1, RiskLevel.ELEVATED: 2, RiskLevel.NONE: 3}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored time with its zone: SQLite returns naive datetimes for timezone-aware
    columns, and everything is stored in UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


@dataclass
class Escalation:
    conversation_ref: str
    level: str
    categories: str
    priority: int
    created_at: datetime
    updated_at: datetime
    status: str = Status.NEW.value
    excerpt: str = ""
    last_message_key: str | None = None
    claimed_by: int | None = None
    outcome: str | None = None
    resolved_at: datetime | None = None
    wants_person: bool = False
    handoff_by: int | None = None
    handoff_since: datetime | None = None
    subjects: str = ""
    confirmed: bool = False
    waiting_since: datetime | None = None
    person_requested_at: datetime | None = None
    case_opened_at: datetime | None = None
    fact_id: int | None = None
    id: int | None = field(default=None)

    @property
    def risk_level(self) -> RiskLevel:
        return RiskLevel(self.level)

    @property
    def category_list(self) -> list[str]:
        return [category for category in self.categories.split(",") if category]

    @property
    def subject_list(self) -> list[str]:
        return [subject for subject in (self.subjects or "").split(",") if subject]


mapper_registry.map_imperatively(Escalation, escalations)


def join_categories(categories: set[str] | list[str] | tuple[str, ...]) -> str:
    """Categories in their fixed order, so the stored value is stable."""
    return ",".join(in_category_order(categories))


def join_subjects(subjects: set[str] | list[str] | tuple[str, ...]) -> str:
    return ",".join(in_subject_order(subjects))
