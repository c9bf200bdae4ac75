"""The supervisor's view (issue 20): every conversation a handler is in and every claimed
escalation, for an admin who watches the team's work (routes/supervisor.py).

Read only: the escalations with their holder's and the person-in-the-conversation's
usernames, the relative's presence (bot/escalations/presence.py), how long they have waited
(bot/staff/triage.py, from the server's clock) and the last few lines of the transcript,
which the tracker store keeps redacted (bot/staff/transcript.py). No words here: the
template and the page's script say it in Swedish.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased

from bot.escalations.model import Status, as_utc, utcnow
from bot.escalations.presence import presence
from bot.staff.review import LEVEL_ORDER
from bot.staff.transcript import Line, transcript
from bot.staff.triage import LEFT, PRESENT, waiting_class, waiting_minutes
from bot.store.events import Conversations
from bot.store.tables import escalations, staff_users

LAST_LINES = 3


@dataclass(frozen=True)
class Watched:
    """One conversation or claimed escalation as the supervisor sees it."""

    id: int
    level: str
    holder: str | None  # who claimed it
    in_conversation: str | None  # who is in the conversation now (live handoff)
    since: datetime  # in the conversation since, or else the case opened
    waiting_minutes: int | None
    waiting_class: str
    presence: str | None  # PRESENT, LEFT, or None when nothing is known
    wants_person: bool
    lines: tuple[Line, ...]
    conversation_gone: bool

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "level": self.level,
            "holder": self.holder,
            "in_conversation": self.in_conversation,
            "since": self.since.isoformat(),
            "waiting_minutes": self.waiting_minutes,
            "waiting_class": self.waiting_class,
            "presence": self.presence,
            "wants_person": self.wants_person,
            "conversation_gone": self.conversation_gone,
            "lines": [
                {"speaker": line.speaker, "text": line.text, "at": line.at.isoformat()}
                for line in self.lines
            ],
        }


class Supervision:
    def __init__(
        self,
        engine: Engine,
        conversations: Conversations,
        find_conversation: Callable[[str], str | None],
        warn_minutes: int,
        alert_minutes: int,
    ) -> None:
        self.engine = engine
        self.conversations = conversations
        self.find_conversation = find_conversation
        self.warn_minutes, self.alert_minutes = warn_minutes, alert_minutes

    def watched(self, now: datetime | None = None) -> list[Watched]:
        """Live conversations first, then the other claimed escalations; by level, then the
        oldest."""
        now = now or utcnow()
        holder, present = aliased(staff_users), aliased(staff_users)
        statement = (
            select(
                escalations,
                holder.c.username.label("holder_name"),
                present.c.username.label("present_name"),
            )
            .outerjoin(holder, holder.c.id == escalations.c.claimed_by)
            .outerjoin(present, present.c.id == escalations.c.handoff_by)
            .where(
                or_(
                    escalations.c.handoff_by.is_not(None),
                    escalations.c.status == Status.CLAIMED.value,
                )
            )
            .order_by(escalations.c.handoff_by.is_(None), LEVEL_ORDER, escalations.c.created_at)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
        return [self._watched(row, now) for row in rows]

    def _watched(self, row, now: datetime) -> Watched:
        minutes = waiting_minutes(as_utc(row.waiting_since), now)
        conversation = self.find_conversation(row.conversation_ref)
        seen = presence(self.engine, row.conversation_ref)
        return Watched(
            id=row.id,
            level=row.level,
            holder=row.holder_name,
            in_conversation=row.present_name,
            since=as_utc(row.handoff_since or row.case_opened_at or row.created_at),
            waiting_minutes=minutes,
            waiting_class=waiting_class(minutes, self.warn_minutes, self.alert_minutes),
            presence=None if seen is None else (PRESENT if seen.connected else LEFT),
            wants_person=bool(row.wants_person),
            lines=self._last_lines(conversation),
            conversation_gone=conversation is None,
        )

    def _last_lines(self, conversation: str | None) -> tuple[Line, ...]:
        if conversation is None:
            return ()
        events = transcript(self.conversations, conversation)
        return tuple(line for _, line in events[-LAST_LINES:])
