"""What every route of the staff dashboard shares, built once per app.

create_app (bot/staff/app.py) builds these pieces from one Settings and hands the same
Dashboard to every route module (bot/staff/routes/); it is also kept on `app.ctx.dashboard`.
A route can reach the databases, Rasa and the templates through this object only, so what
the dashboard touches is listed here, in one place. Frozen: a route cannot swap a piece
for the requests that follow.
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment
from sqlalchemy.engine import Engine

from bot.rasa_client import RasaConversations
from bot.settings import Settings
from bot.staff.accounts import Accounts
from bot.staff.review import Detail, Review
from bot.staff.transcript import ConversationFinder
from bot.store.events import Conversations


@dataclass(frozen=True)
class Dashboard:
    config: Settings
    engine: Engine  # the escalation store
    accounts: Accounts
    review: Review
    pages: Environment  # the templates
    problem_texts: dict[str, str]  # the pages' words for a refusal, for the live view's script
    rasa: RasaConversations  # Rasa's HTTP API: joining, writing, handing back
    conversations: Conversations  # Rasa's events, read-only: the transcript
    find_conversation: ConversationFinder

    @property
    def secure_cookie(self) -> bool:
        """The cookie is sent over HTTPS only when the dashboard is served over HTTPS."""
        return self.config.dashboard_url.startswith("https://")

    def conversation_of(self, escalation_id: int) -> tuple[Detail | None, str | None]:
        """The escalation and the id of its conversation in the tracker store; None for the
        escalation that does not exist, None for a conversation that is gone."""
        detail = self.review.detail(escalation_id)
        if detail is None:
            return None, None
        return detail, self.find_conversation(detail.conversation_ref)
