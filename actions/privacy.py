"""The relative ends and deletes the conversation ("radera mitt samtal")."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.base import ResponseAction
from bot.escalations.database import session_factory
from bot.escalations.service import forget_conversation
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.privacy.tracker_store import DELETE_ACTION
from bot.pseudonym import conversation_ref
from bot.settings import settings

logger = logging.getLogger(__name__)


class ActionDeleteConversation(ResponseAction):
    """Says the conversation is deleted and erases the escalation excerpt. The tracker
    store (bot/privacy/tracker_store.py) deletes the conversation's events when it saves
    a turn that ran this action, so nothing of it is left once the answer is sent."""

    def name(self) -> str:
        return DELETE_ACTION

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        escalated = self._erase_escalation_excerpt(tracker.sender_id)
        self.utter(dispatcher, "utter_conversation_deleted")
        if escalated:
            self.utter(dispatcher, "utter_conversation_deleted_escalation_kept")
        return []

    def _erase_escalation_excerpt(self, sender_id: str) -> bool:
        """Whether the conversation had an escalation (now without its excerpt)."""
        try:
            reference = conversation_ref(sender_id, settings.pseudonym_key)
            uow = SqlAlchemyUnitOfWork(session_factory(settings.escalation_database_url))
            return forget_conversation(uow, reference)
        except (SQLAlchemyError, ValueError) as error:
            # The conversation itself is still deleted by the tracker store; the excerpt
            # goes with the escalation's retention.
            logger.error("Escalation excerpt not erased (%s)", type(error).__name__)
            return False
