"""The relative ends and deletes the conversation ("radera mitt samtal").

Deleting cannot be undone, so a message classified as delete_conversation deletes only
when it says so in words ("radera", "ta bort", "släng", "glöm", ...) or is the widget's
button payload; anything else classified that way (the classifier once put an HTML snippet
there with 0.99) gets a question with a button instead (action_check_delete_request).

On SMS, WhatsApp and Telegram every request gets that question first, and only an answer to
it in the same conversation (its button, its number, or the request again) deletes: a
webhook call can be captured and replayed (Twilio signs no time, Telegram's secret never
changes), and a replayed request must not delete again what the relative wrote since
(issue 17). The web chat asks in its own window before it sends the payload.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.base import (
    MESSAGING_CHANNELS,
    ResponseAction,
    channel_of,
    for_channel,
    sent_last_turn,
)
from bot.bootstrap import services
from bot.conversation import DELETE_PAYLOAD
from bot.escalations import presence
from bot.escalations.service import forget_conversation
from bot.privacy.tracker_store import DELETE_ACTION
from bot.pseudonym import conversation_ref

logger = logging.getLogger(__name__)

CONFIRM_RESPONSE = "utter_ask_delete_confirm"
# Words that say "delete" (with common typos); matched in lower case.
_DELETE_WORDS = re.compile(
    r"radera|raddera|rdaera|radra|sudda|ta bort|tar bort|ta bor\b|tabort|glöm|glom|rensa|"
    r"delete|deleta|töm|utplåna|kasta|släng|slang|förstör|finns kvar|inte spara|spara inte"
)


def is_deletion_request(text: str) -> bool:
    text = (text or "").strip().lower()
    return text.startswith(DELETE_PAYLOAD) or bool(_DELETE_WORDS.search(text))


def answers_the_question(tracker: Tracker) -> bool:
    """Whether the bot's answer to the relative's previous message asked to confirm."""
    return CONFIRM_RESPONSE in sent_last_turn(tracker)


class ActionCheckDeleteRequest(ResponseAction):
    """Deletes only what was asked for in words, and on a messaging channel only once the
    relative confirmed (see the module docstring)."""

    def name(self) -> str:
        return "action_check_delete_request"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        asked_in_words = is_deletion_request(tracker.latest_message.get("text") or "")
        if channel_of(tracker) in MESSAGING_CHANNELS:
            confirmed = asked_in_words and answers_the_question(tracker)
        else:
            confirmed = asked_in_words
        if confirmed:
            return [FollowupAction(DELETE_ACTION)]
        self.utter(dispatcher, CONFIRM_RESPONSE)
        return []


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
        self.utter(dispatcher, for_channel("utter_conversation_deleted", tracker))
        if escalated:
            self.utter(dispatcher, "utter_conversation_deleted_escalation_kept")
        # The turn ends here. This action runs as a follow-up of the check, which no rule
        # or story covers: the policies would otherwise predict the fallback, and the
        # relative would read "Jag förstår tyvärr fortfarande inte" under "Klart".
        return [FollowupAction("action_listen")]

    def _erase_escalation_excerpt(self, sender_id: str) -> bool:
        """Whether the conversation had an escalation (now without its excerpt). Everything
        else kept of it under its keyed reference goes too: the staff's notes, whether the
        chat was open, a signal waiting in the retry file (issue 17)."""
        parts = services()
        reference = conversation_ref(sender_id, parts.settings.pseudonym_key)
        parts.escalator.retries.drop(reference)
        try:
            presence.forget(parts.escalation_engine, reference)
            return forget_conversation(parts.unit_of_work(), reference)
        except (SQLAlchemyError, ValueError) as error:
            # The conversation itself is still deleted by the tracker store; the excerpt
            # goes with the escalation's retention.
            logger.error("Escalation excerpt not erased (%s)", type(error).__name__)
            return False
