"""Risk screening of every user message, before anything else answers it.

Rasa runs `action_extract_slots` after every user message, whatever the conversation is
doing (an answer, a form, a fallback), and it calls `action_validate_slot_mappings` when
the domain lists it. That makes this action the one place where every message passes,
and its messages reach the relative before any other reply of the same turn.

- acute: "ring 112 nu" (and Mind Självmordslinjen 90101 for suicide risk) comes first, in
  one short message; then the offer of a human.
- elevated: acknowledge, say briefly why it matters, give the right contacts; once per new
  category or level rise, so the conversation can go on.
- an escalation is stored and staff are notified in the background (bot/escalations), so
  a slow or failing database never holds up the safety answer.
"""

from __future__ import annotations

import asyncio
import logging
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import ResponseAction
from bot.dialogue import HANDOFF_SLOT
from bot.escalations.escalator import Escalator
from bot.escalations.service import Signal
from bot.notify import Notifier
from bot.privacy.redaction import redact
from bot.pseudonym import conversation_ref, message_key
from bot.risk.detector import Screening
from bot.risk.levels import RiskLevel, in_category_order
from bot.risk.screening import RiskScreen, default_screen
from bot.settings import Settings, settings

logger = logging.getLogger(__name__)

# Messages that are button payloads ("/ask_police") carry no risk of their own.
PAYLOAD_PREFIX = "/"


@lru_cache(maxsize=1)
def default_escalator() -> Escalator:
    return Escalator(
        settings.escalation_database_url, Notifier(settings), settings.escalation_retry_file
    )


class ActionValidateSlotMappings(ResponseAction):
    """Screens the latest message; see the module docstring."""

    def __init__(
        self,
        screen: RiskScreen | None = None,
        escalator: Escalator | None = None,
        config: Settings = settings,
    ) -> None:
        self._screen = screen
        self._escalator = escalator
        self.config = config
        self._retry_loop: asyncio.Task | None = None

    def name(self) -> str:
        return "action_validate_slot_mappings"

    @property
    def screen(self) -> RiskScreen:
        return self._screen or default_screen()

    @property
    def escalator(self) -> Escalator:
        return self._escalator or default_escalator()

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        self._ensure_retry_loop()
        text = tracker.latest_message.get("text") or ""
        if not text.strip() or text.startswith(PAYLOAD_PREFIX):
            return [SlotSet("risk_in_message", RiskLevel.NONE.value)]
        screening = self.screen.screen(text)
        events = [SlotSet("risk_in_message", screening.level.value)]
        if screening.level is RiskLevel.NONE:
            return events
        previous_level = RiskLevel.highest(tracker.get_slot("risk_level"))
        previous_signals = set(tracker.get_slot("risk_signals") or [])
        level = RiskLevel.highest(previous_level, screening.level)
        signals = list(in_category_order([*previous_signals, *screening.categories]))
        events += [SlotSet("risk_level", level.value), SlotSet("risk_signals", signals)]

        # With a person from staff in the conversation, the bot adds only the 112 message:
        # the handler sees the signal and answers the rest themselves.
        with_person = bool(tracker.get_slot(HANDOFF_SLOT))
        if screening.level is RiskLevel.ACUTE:
            self._respond_acute(dispatcher, screening, offer_human=not with_person)
        elif with_person:
            pass
        elif level.rank > previous_level.rank or not set(screening.categories) <= previous_signals:
            self._respond_elevated(dispatcher, domain, screening)
        try:
            self._escalate(tracker, text, screening)
        except Exception as error:  # the safety answer above must reach the relative regardless
            logger.error("Escalation could not be started: %s", type(error).__name__)
        return events

    def _respond_acute(
        self, dispatcher: CollectingDispatcher, screening: Screening, offer_human: bool = True
    ) -> None:
        if "suicide" in screening.categories:
            self.utter(dispatcher, "utter_risk_acute_suicide")
        else:
            self.utter(dispatcher, "utter_risk_acute")
        if offer_human:
            self.utter(dispatcher, "utter_risk_offer_human")

    def _respond_elevated(
        self, dispatcher: CollectingDispatcher, domain: dict[str, Any], screening: Screening
    ) -> None:
        self.utter(dispatcher, "utter_risk_elevated")
        for category in screening.categories:
            self.utter(dispatcher, f"utter_risk_why_{category}")
        self.utter_contacts(dispatcher, domain, topic="risk")
        if "suicide" in screening.categories:
            self.utter_contacts(dispatcher, domain, topic="risk_suicide")

    def _escalate(self, tracker: Tracker, text: str, screening: Screening) -> None:
        sender = tracker.sender_id
        signal = Signal(
            conversation_ref=conversation_ref(sender, self.config.pseudonym_key),
            level=screening.level,
            categories=screening.categories,
            excerpt=excerpt(text, screening),
            message_key=message_key(sender, text, self.config.pseudonym_key),
        )
        self.escalator.submit(signal)

    def _ensure_retry_loop(self) -> None:
        if self._retry_loop is None or self._retry_loop.done():
            self._retry_loop = asyncio.get_running_loop().create_task(
                _retry_forever(self.escalator, self.config.escalation_retry_seconds)
            )


async def _retry_forever(escalator: Escalator, interval_seconds: float) -> None:
    while True:
        await asyncio.sleep(interval_seconds)
        try:
            await escalator.retry_pending()
        except Exception as error:  # the loop must survive anything; logged without content
            logger.error("Escalation retry failed: %s", type(error).__name__)


def excerpt(text: str, screening: Screening, context_chars: int = 80) -> str:
    """The redacted words around each signal, so staff see why without the whole message."""
    pieces = []
    for match in screening.matches:
        start = max(0, match.start - context_chars)
        end = min(len(text), match.end + context_chars)
        pieces.append(
            ("…" if start else "") + text[start:end].strip() + ("…" if end < len(text) else "")
        )
    if not pieces:  # raised by the trained model alone: the beginning of the message
        pieces.append(text[: 2 * context_chars] + ("…" if len(text) > 2 * context_chars else ""))
    return redact(" / ".join(dict.fromkeys(pieces)))
