"""Session start: the short privacy notice opens every session, with the first answer or,
when the chat is opened before the relative writes, on its own; and the session is counted
for the statistics (conversation_counts, bot/statistics/counts.py).

Why here: Rasa runs action_session_start exactly when a session begins, on every channel
(a new conversation, or a relative who writes again after session_expiration_time), and
nowhere else sees that moment once. The widget's "/session_start" runs the action a second
time in the same session (the branch that shows the notice): that run is not counted. The
count is written in a thread of the default executor after the answer is built, so a slow
or unreachable store never delays the relative; a failure is logged by its type only.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import NOTICE_DUE_SLOT, ResponseAction, for_channel
from bot.bootstrap import services
from bot.escalations.model import utcnow
from bot.statistics.counts import count_conversation

logger = logging.getLogger(__name__)
# The counts being written: kept so that the event loop does not lose them half-way.
_counting: set[asyncio.Future] = set()


class ActionSessionStart(ResponseAction):
    carries_the_opening = False  # it decides when the notice shows

    def name(self) -> str:
        return "action_session_start"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if _opened_by_the_widget(tracker):
            # The chat was opened (the web widget, Telegram's /start): the notice now, before
            # the relative writes; then a fresh session again, so the opening message plays
            # no part in what follows.
            if tracker.get_slot(NOTICE_DUE_SLOT):
                self.utter(dispatcher, for_channel("utter_privacy_notice", tracker))
            return [SessionStarted(), ActionExecuted("action_listen")]
        count_in_background()
        # What the relative told us in an earlier session stays, as Rasa's default
        # session start does with carry_over_slots_to_new_session.
        carried = [SlotSet(name, value) for name, value in _slots_to_carry(tracker, domain)]
        # One opening: the first answer carries the notice (actions/base.py).
        carried.append(SlotSet(NOTICE_DUE_SLOT, True))
        return [SessionStarted(), *carried, ActionExecuted("action_listen")]


def count_in_background() -> None:
    """One more conversation in this hour, written off the event loop."""
    started = utcnow()
    counting = asyncio.get_running_loop().run_in_executor(None, _count, started)
    _counting.add(counting)
    counting.add_done_callback(_counted)


def _count(started: datetime) -> None:
    count_conversation(services().escalation_engine, started)


def _counted(counting: asyncio.Future) -> None:
    _counting.discard(counting)
    if not counting.cancelled() and (error := counting.exception()) is not None:
        logger.error("Conversation not counted for the statistics (%s)", type(error).__name__)


def _opened_by_the_widget(tracker: Tracker) -> bool:
    """The web widget opens a new conversation with the message "/session_start", so the
    privacy notice shows before the relative writes. Rasa runs this action for the new
    conversation and then again for that intent; the second time it shows the notice."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent != "session_start":
        return False
    users_seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users_seen += 1
            if users_seen > 1:  # the relative has written in this session
                return False
        elif event.get("event") == "session_started":
            return users_seen == 1
    return False


def _slots_to_carry(tracker: Tracker, domain: dict[str, Any]) -> list[tuple[str, Any]]:
    session_config = domain.get("session_config", {})
    if not session_config.get("carry_over_slots_to_new_session", True):
        return []
    return [
        (name, value)
        for name, value in tracker.current_slot_values().items()
        if value is not None and name not in NOT_CARRIED_OVER
    ]


# Per-message and per-session values that must not leak into the next session.
NOT_CARRIED_OVER = {"session_started_metadata", "risk_in_message", NOTICE_DUE_SLOT}
