"""A person from staff in the conversation (live handoff), and the relative's request for one.

The staff dashboard (bot/rasa_client.py) runs the first four through Rasa's HTTP API
(`POST /conversations/<id>/execute?output_channel=latest`), so their messages reach the
relative in the channel they use:

- action_handoff_start: the relative is told a person has joined; slot `handoff` on. From
  then on the bot answers nothing (bot/dialogue/handoff_policy.py): the relative's messages go
  to the handler, and risk screening still runs (an acute message still gets 112 first).
- action_handoff_end: back to the bot; the relative is told.
- action_handoff_close: the handler ends the conversation; the relative is told.
- action_handoff_transfer: another handler takes over the conversation (issue 20); the
  relative is told, and a person stays in it (slot `handoff` stays on).

action_request_human answers "kan jag prata med en människa?": when a handler is available
the relative is put in the dashboard's queue and told someone will join (on Telegram, SMS
and WhatsApp with their place in the queue and the usual wait, bot/escalations/waiting.py;
the web chat shows both itself, updated); otherwise they get the people they can call, with
opening hours from the contact directory.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.base import ResponseAction, user_texts
from bot.bootstrap import Services, services
from bot.conversation import HANDOFF_SLOT
from bot.dialogue.writer import writer_is_minor
from bot.escalations.availability import handler_available
from bot.escalations.service import Change, Outcome, request_person
from bot.escalations.waiting import QueueStatus, queue_status
from bot.notify import Notification
from bot.pseudonym import conversation_ref

logger = logging.getLogger(__name__)


def _then_listen(*events) -> list:
    """These actions run from the dashboard, between two user messages: the conversation
    must end up waiting for the relative (action_listen), or Rasa's rules, which expect a
    user message right after action_listen, would not match the next message."""
    return [*events, ActionExecuted("action_listen")]


class _HandoffStep(ResponseAction):
    """Tells the relative what happened and switches slot `handoff`. Abstract (no name), so
    the action server does not register it as an action of its own."""

    response: str
    person_present: bool

    @abstractmethod
    def name(self) -> str: ...

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        self.utter(dispatcher, self.response)
        return _then_listen(SlotSet(HANDOFF_SLOT, self.person_present))


class ActionHandoffStart(_HandoffStep):
    response, person_present = "utter_handoff_joined", True

    def name(self) -> str:
        return "action_handoff_start"


class ActionHandoffEnd(_HandoffStep):
    response, person_present = "utter_handoff_returned", False

    def name(self) -> str:
        return "action_handoff_end"


class ActionHandoffClose(_HandoffStep):
    response, person_present = "utter_handoff_ended", False

    def name(self) -> str:
        return "action_handoff_close"


class ActionHandoffTransfer(_HandoffStep):
    response, person_present = "utter_handoff_transferred", True

    def name(self) -> str:
        return "action_handoff_transfer"


class ActionRequestHuman(ResponseAction):
    def name(self) -> str:
        return "action_request_human"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        answer_request_for_a_person(self, dispatcher, tracker, domain)
        return []


def answer_request_for_a_person(
    action: ResponseAction, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
) -> None:
    """Queue for an available handler, or give the contacts. Also used when the request is
    one question of several in a message (actions/answers.py)."""
    if tracker.get_slot(HANDOFF_SLOT):
        return  # a person is already here
    if _queue_for_a_handler(tracker.sender_id):
        _tell_the_relative_they_are_queued(action, dispatcher, tracker, domain)
    else:
        action.utter(dispatcher, "utter_request_human")
        action.utter_contacts(
            dispatcher,
            domain,
            topic="request_human",
            writer_minor=writer_is_minor(user_texts(tracker)),
        )


# Channels that push nothing while the relative waits: an SMS costs the relative and may be
# read by others on their phone. Their answer says the place and the usual wait now; the web
# chat shows them itself, kept up to date (bot/channels/socketio.py).
CHANNELS_WITHOUT_QUEUE_UPDATES = ("telegram", "twilio")


def _tell_the_relative_they_are_queued(
    action: ResponseAction, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
) -> None:
    status = None
    if tracker.get_latest_input_channel() in CHANNELS_WITHOUT_QUEUE_UPDATES:
        status = _place_in_the_queue(tracker.sender_id)
    if status is None or not status.waiting:
        action.utter(dispatcher, "utter_request_human_queued")
        return
    action.utter_together(
        dispatcher,
        domain,
        [
            "utter_request_human_queued_place",
            _usual_wait_response(status.typical_minutes),
            "utter_request_human_queued_meanwhile",
        ],
        queue_place=status.place,
        queue_wait_minutes=status.typical_minutes,
    )


def _usual_wait_response(minutes: int | None) -> str:
    if minutes is None:
        return "utter_queue_wait_unknown"
    return "utter_queue_wait_one_minute" if minutes == 1 else "utter_queue_wait_estimate"


def _place_in_the_queue(sender_id: str) -> QueueStatus | None:
    """None when it cannot be read: the relative is told they are queued, without a place."""
    parts = services()
    try:
        reference = conversation_ref(sender_id, parts.settings.pseudonym_key)
        return queue_status(parts.escalation_engine, reference)
    except (SQLAlchemyError, ValueError) as error:
        logger.error("Place in the queue not read (%s)", type(error).__name__)
        return None


def _queue_for_a_handler(sender_id: str) -> bool:
    """Whether a handler is available (and the relative is now in their queue)."""
    parts = services()
    try:
        if not handler_available(parts.escalation_engine):
            return False
        reference = conversation_ref(sender_id, parts.settings.pseudonym_key)
        outcome = request_person(parts.unit_of_work(), reference)
    except (SQLAlchemyError, ValueError) as error:
        # Nobody can be reached through a store we cannot write: give the contacts.
        logger.error("Request for a person not queued (%s)", type(error).__name__)
        return False
    _tell_staff_a_person_was_asked_for(parts, outcome)
    return True


def _tell_staff_a_person_was_asked_for(parts: Services, outcome: Outcome) -> None:
    """The e-mail/webhook notification (NOTIFY_PERSON_REQUESTS), when the request created
    or changed the escalation (asking again while queued is no news). In the background:
    the relative's answer never waits for a mail server."""
    if not parts.settings.notify_person_requests:
        return
    if outcome.change not in (Change.CREATED, Change.UPDATED):
        return
    notification = Notification(
        change="person_requested",
        escalation_id=outcome.escalation_id,
        level=outcome.level.value,
        categories=outcome.categories,
        at=outcome.at,
    )
    try:
        parts.notifier.notify_in_background(notification)
    except RuntimeError as error:  # no event loop to send from: the queue still shows it
        logger.error("Staff not notified of a request for a person (%s)", type(error).__name__)
