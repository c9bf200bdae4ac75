"""Shared base for actions that answer with texts from the domain.

Usage: subclass `ResponseAction`, implement `name()` and `answer()`, and send every message
with `self.utter(dispatcher, "utter_x")`. The base fills the `{phone_<id>}` placeholders from
the contact directory and can append the contacts for a topic as one message, so no phone
number and no Swedish text ever lives in Python:

    class ActionAnswerTopic(ResponseAction):
        def name(self) -> str:
            return "action_answer_topic"

        async def answer(self, dispatcher, tracker, domain):
            self.utter(dispatcher, "utter_police")
            self.utter_contacts(dispatcher, domain, topic="police")
            return []
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.contacts import Contact, ContactDirectory, load_directory
from bot.settings import settings

logger = logging.getLogger(__name__)

MUNICIPALITY_PREFIX = "municipality_"
# Said at most once per turn, however many contact lists the turn has.
SWITCHBOARD = "utter_municipality_switchboard"
# What anonymity means differs per channel: conversation ids of the messaging channels
# start with the channel's name (bot.pseudonym.channel_sender_id); any other is the web.
MESSAGING_CHANNELS = ("sms", "whatsapp", "telegram")
WEB = "web"


def channel_of(tracker: Tracker) -> str:
    """`web`, `sms`, `whatsapp` or `telegram`: where the relative writes from."""
    prefix = (tracker.sender_id or "").split("-", 1)[0]
    return prefix if prefix in MESSAGING_CHANNELS else WEB


def for_channel(response: str, tracker: Tracker) -> str:
    """The channel's own variant of a response: `utter_x_sms` for `utter_x`."""
    return f"{response}_{channel_of(tracker)}"


class _KeepMissing(dict):
    """Leaves unknown `{placeholders}` visible instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_template(domain: dict[str, Any], response: str, values: dict[str, Any]) -> str:
    """The first text variation of a domain response, with values filled in."""
    variations = domain.get("responses", {}).get(response) or [{}]
    return variations[0].get("text", "").format_map(_KeepMissing(values))


def has_response(domain: dict[str, Any], response: str) -> bool:
    return response in domain.get("responses", {})


class ResponseAction(Action, ABC):
    """An action whose messages are domain responses filled from configuration."""

    def directory(self) -> ContactDirectory:
        return load_directory(settings.contacts_file)

    def template_values(self) -> dict[str, Any]:
        return {
            **self.directory().phone_placeholders(),
            "retention_days": settings.conversation_retention_days,
            "escalation_retention_days": settings.escalation_retention_days,
        }

    def utter(self, dispatcher: CollectingDispatcher, response: str, **values: Any) -> None:
        dispatcher.utter_message(response=response, **self.template_values(), **values)

    def utter_contacts(
        self,
        dispatcher: CollectingDispatcher,
        domain: dict[str, Any],
        topic: str,
        switchboard: bool = True,
    ) -> None:
        """All enabled contacts for `topic` as one message, then (with `switchboard`) a
        pointer to the municipality's switchboard if the municipality has not filled in
        its own."""
        contacts = self.directory().for_topic(topic)
        if contacts:
            lines = "\n".join(_contact_line(domain, contact) for contact in contacts)
            self.utter(dispatcher, "utter_contact_list", contact_lines=lines)
        if switchboard and self._municipality_missing(topic) and not _sent(dispatcher, SWITCHBOARD):
            self.utter(dispatcher, SWITCHBOARD)

    def _municipality_missing(self, topic: str) -> bool:
        return any(
            contact.id.startswith(MUNICIPALITY_PREFIX) and not contact.enabled
            for contact in self.directory().contacts
            if topic in contact.topics
        )

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        return await self.answer(dispatcher, tracker, domain)

    @abstractmethod
    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the messages and return the events."""


def _sent(dispatcher: CollectingDispatcher, response: str) -> bool:
    return any(message.get("response") == response for message in dispatcher.messages)


def sent_this_turn(tracker: Tracker) -> list[str]:
    """The responses earlier actions of this turn (the risk screening) already sent."""
    names = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "bot":
            names.append((event.get("metadata") or {}).get("utter_action") or "")
    return names


def _contact_line(domain: dict[str, Any], contact: Contact) -> str:
    if contact.phone and contact.hours:
        template = "utter_contact_line_phone_hours"
    elif contact.phone:
        template = "utter_contact_line_phone"
    else:
        template = "utter_contact_line_service"
    values = {
        "name": contact.name,
        "phone": contact.phone,
        "hours": contact.hours,
        "description": contact.description,
    }
    return render_template(domain, template, values)
