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
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.bootstrap import services
from bot.contacts import Contact, ContactDirectory, load_directory
from bot.conversation import HANDOFF_SLOT, PARTS_KEY, responses_of
from bot.dialogue.safety_focus import SAFETY_FOCUS_SLOT, reminder_response
from bot.settings import Settings

logger = logging.getLogger(__name__)

MUNICIPALITY_PREFIX = "municipality_"
# Said at most once per turn, however many contact lists the turn has.
SWITCHBOARD = "utter_municipality_switchboard"
# What anonymity means differs per channel: conversation ids of the messaging channels
# start with the channel's name (bot.pseudonym.channel_sender_id); any other is the web.
MESSAGING_CHANNELS = ("sms", "whatsapp", "telegram")
WEB = "web"
# The privacy notice does not come alone before the first answer of a session (in SMS a
# text message of its own): it joins the first message the turn sends, as one opening.
# When the web chat or Telegram's /start opens the conversation, it shows at once, before
# the relative writes (actions/session.py).
NOTICE_DUE_SLOT = "privacy_notice_due"


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
    """An action whose messages are domain responses filled from configuration.

    An answering action sets `keeps_safety_in_focus`: after a serious signal earlier in
    the conversation (bot/dialogue/safety_focus.py) its first message then starts with the
    reminder of 112 or Självmordslinjen, unless the risk screening answered this turn."""

    keeps_safety_in_focus = False
    # Whether the first message this action sends in a session carries the privacy notice.
    carries_the_opening = True

    @property
    def config(self) -> Settings:
        """The action server builds its actions without arguments: their configuration is
        this process's (bot/bootstrap.py)."""
        return services().settings

    def directory(self) -> ContactDirectory:
        return load_directory(self.config.contacts_file)

    def template_values(self) -> dict[str, Any]:
        config = self.config
        return {
            **self.directory().phone_placeholders(),
            "retention_days": config.conversation_retention_days,
            "escalation_retention_days": config.escalation_retention_days,
            "staff_hours": f" ({config.staff_hours})" if config.staff_hours else "",
        }

    def utter(self, dispatcher: CollectingDispatcher, response: str, **values: Any) -> None:
        dispatcher.utter_message(response=response, **self.template_values(), **values)

    def utter_together(
        self,
        dispatcher: CollectingDispatcher,
        domain: dict[str, Any],
        responses: list[str],
        buttons: list[dict[str, str]] | None = None,
        **values: Any,
    ) -> None:
        """Several responses as one chat bubble, in order, a blank line apart. The bubble
        is named after the first; all names are kept under PARTS_KEY for the turn's
        bookkeeping and the tests."""
        filled = {**self.template_values(), **values}
        text = "\n\n".join(render_template(domain, response, filled) for response in responses)
        dispatcher.utter_message(
            response=responses[0],
            text=text,
            buttons=buttons or [],
            **{PARTS_KEY: list(responses)},
            **filled,
        )

    def utter_contacts(
        self,
        dispatcher: CollectingDispatcher,
        domain: dict[str, Any],
        topic: str | list[str],
        switchboard: bool = True,
        closing: str | None = None,
        limit: int | None = None,
        milieus: set[str] | None = None,
        writer_minor: bool = False,
    ) -> None:
        """The enabled contacts for `topic` (or several topics, each contact once) as one
        bubble, with (when `switchboard`) the pointer to the municipality's switchboard if
        the municipality has not filled in its own entries, and an optional `closing`
        response in the same bubble. With a `limit`, the first ones only, and the rest
        behind the quick reply for all contacts. With the conversation's `milieus`, no
        service made for another milieu; with `writer_minor`, services for the under-18s."""
        topics = [topic] if isinstance(topic, str) else list(topic)
        contacts = self.directory().for_topics(topics, milieus, writer_minor)
        more = limit is not None and len(contacts) > limit
        contacts = contacts[:limit] if more else contacts
        parts = ["utter_contact_list"] if contacts else []
        if (
            switchboard
            and any(self._municipality_missing(name) for name in topics)
            and not _sent(dispatcher, SWITCHBOARD)
        ):
            parts.append(SWITCHBOARD)
        if closing:
            parts.append(closing)
        if not parts:
            return
        lines = "\n".join(_contact_line(domain, contact) for contact in contacts)
        self.utter_together(dispatcher, domain, parts, contact_lines=lines)
        if more:
            attach_buttons(dispatcher, topic_buttons(domain, ["contacts"]))

    def _municipality_missing(self, topic: str) -> bool:
        return any(
            contact.id.startswith(MUNICIPALITY_PREFIX) and not contact.enabled
            for contact in self.directory().contacts
            if topic in contact.topics
        )

    def merge_into(
        self,
        dispatcher: CollectingDispatcher,
        domain: dict[str, Any],
        index: int,
        response: str,
        first: bool = False,
    ) -> None:
        """Puts `response` into the message at `index` (at its end, or its beginning when
        `first`), so it reaches the relative in the same chat bubble; its buttons join the
        message's."""
        message = dispatcher.messages[index]
        values = self.template_values()
        if not message.get("text"):  # a single response: Rasa fills its text, so fill it here
            message["text"] = render_template(domain, message["response"], values)
        added = render_template(domain, response, values)
        parts = message.get(PARTS_KEY) or [message["response"]]
        if first:
            message["text"] = f"{added}\n\n{message['text']}"
            message[PARTS_KEY] = [response, *parts]
        else:
            message["text"] = f"{message['text']}\n\n{added}"
            message[PARTS_KEY] = [*parts, response]
        buttons = (domain.get("responses", {}).get(response) or [{}])[0].get("buttons") or []
        message["buttons"] = [*(message.get("buttons") or []), *buttons]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        events = await self.answer(dispatcher, tracker, domain)
        if self.keeps_safety_in_focus:
            self._remind_of_safety(dispatcher, tracker, domain)
        if not self.carries_the_opening:
            return events
        return [*events, *self._open_with_the_notice(dispatcher, tracker, domain)]

    def _open_with_the_notice(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The privacy notice the session start left for the first answer: in front of the
        first message, or after it when that is the greeting or the 112 message (112 is
        never moved down)."""
        if (
            not tracker.get_slot(NOTICE_DUE_SLOT)
            or not dispatcher.messages
            or _notice_sent_this_session(tracker)
        ):
            return []
        first = dispatcher.messages[0]
        name = (first.get(PARTS_KEY) or [first.get("response") or ""])[0]
        after = name == "utter_greet" or name.startswith("utter_risk_acute")
        self.merge_into(
            dispatcher, domain, 0, for_channel("utter_privacy_notice", tracker), not after
        )
        return [SlotSet(NOTICE_DUE_SLOT, False)]

    def _remind_of_safety(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> None:
        reminder = reminder_response(tracker.get_slot(SAFETY_FOCUS_SLOT))
        if (
            reminder is None
            or not dispatcher.messages
            or tracker.get_slot(HANDOFF_SLOT)  # the handler who joined keeps it in view
            or risk_answered_this_turn(tracker)
        ):
            return
        self.merge_into(dispatcher, domain, 0, reminder, first=True)

    @abstractmethod
    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the messages and return the events."""


def person_button(domain: dict[str, Any]) -> dict[str, str]:
    """The quick reply that offers a person, titled as the main menu titles it."""
    return topic_buttons(domain, ["request_human"])[0]


def topic_buttons(domain: dict[str, Any], topics: list[str]) -> list[dict[str, str]]:
    """Quick replies for questions that did not fit in the turn, titled as the menus
    title them."""
    titles = menu_titles(domain)
    payloads = [
        f"/ask_{topic}" if topic != "request_human" else "/request_human" for topic in topics
    ]
    return [
        {"title": titles[payload], "payload": payload} for payload in payloads if payload in titles
    ]


def menu_titles(domain: dict[str, Any]) -> dict[str, str]:
    titles: dict[str, str] = {}
    for menu in ("utter_main_menu", "utter_more_topics"):
        for variation in domain.get("responses", {}).get(menu, []):
            for button in variation.get("buttons", []):
                titles.setdefault(button["payload"], button["title"])
    return titles


def attach_buttons(dispatcher: CollectingDispatcher, buttons: list[dict[str, str]]) -> None:
    """The quick replies go on the turn's last message, under what they follow from."""
    if not dispatcher.messages or not buttons:
        return
    last = dispatcher.messages[-1]
    existing = {button["payload"] for button in last.get("buttons") or []}
    unique = list({button["payload"]: button for button in buttons}.values())
    last["buttons"] = [
        *(last.get("buttons") or []),
        *(button for button in unique if button["payload"] not in existing),
    ]


def _sent(dispatcher: CollectingDispatcher, response: str) -> bool:
    return any(
        response in (message.get(PARTS_KEY) or [message.get("response")])
        for message in dispatcher.messages
    )


def _notice_sent_this_session(tracker: Tracker) -> bool:
    """Whether a message of this session already carried the privacy notice. The slot
    alone does not tell: Rasa collapses the events of a loop's earlier run when the loop
    runs again (`applied_events`), so the two-stage fallback's second turn undid the slot
    that its first turn set, and the notice came twice (blind round 4)."""
    sent = False
    for event in tracker.events:
        if event.get("event") == "session_started":
            sent = False
        elif event.get("event") == "bot" and any(
            name.startswith("utter_privacy_notice") for name in responses_of(event.get("metadata"))
        ):
            sent = True
    return sent


def _this_turns_bot_events(tracker: Tracker) -> list[dict[str, Any]]:
    """The bot messages sent since the relative's latest message, newest first. A message
    the two-stage fallback took as a rephrasing is reverted and uttered again (Rasa's
    `_message_clarification`): what the first pass sent belongs to the same turn."""
    events = list(tracker.events)
    users = [i for i, event in enumerate(events) if event.get("event") == "user"]
    start = users[-1] if users else 0
    if len(users) >= 2 and _uttered_again(events, users[-2], users[-1]):
        start = users[-2]
    return [event for event in reversed(events[start:]) if event.get("event") == "bot"]


def _uttered_again(events: list[dict[str, Any]], before: int, latest: int) -> bool:
    reverted = any(event.get("event") == "rewind" for event in events[before:latest])
    return reverted and events[before].get("text") == events[latest].get("text")


def sent_this_turn(tracker: Tracker) -> list[str]:
    """The responses earlier actions of this turn (the risk screening) already sent."""
    return [
        name
        for event in _this_turns_bot_events(tracker)
        for name in responses_of(event.get("metadata"))
    ]


def sent_last_turn(tracker: Tracker) -> list[str]:
    """The responses the bot sent in answer to the relative's previous message."""
    names: list[str] = []
    users_seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users_seen += 1
            if users_seen == 2:
                break
        elif event.get("event") == "bot" and users_seen == 1:
            names = [*responses_of(event.get("metadata")), *names]
    return names


def risk_answered_this_turn(tracker: Tracker) -> bool:
    """Whether the risk screening (actions/risk.py) replied to the latest message."""
    return any(name.startswith("utter_risk_") for name in sent_this_turn(tracker))


def user_texts(tracker: Tracker) -> list[str]:
    """What the relative wrote in this conversation, in order."""
    return [event.get("text") or "" for event in tracker.events if event.get("event") == "user"]


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def bubbles_this_turn(tracker: Tracker) -> int:
    """How many messages earlier actions of this turn already sent; on a conversation's
    first message that includes the privacy notice the session start sent before it (the
    relative reads them together, except in the web chat, which shows it on opening)."""
    return len(_this_turns_bot_events(tracker)) + len(_opening_bot_events(tracker))


def _opening_bot_events(tracker: Tracker) -> list[dict[str, Any]]:
    """The bot messages of the session start (the privacy notice), when the latest user
    message is the first of the session. Rasa logs them before the `session_started`
    event that the session start returns."""
    events = list(tracker.events)
    users = [i for i, event in enumerate(events) if event.get("event") == "user"]
    if not users:
        return []
    latest = users[-1]
    starts = [
        i
        for i, event in enumerate(events[:latest])
        if event.get("event") == "action" and event.get("name") == "action_session_start"
    ]
    if not starts or any(starts[-1] < i < latest for i in users[:-1]):
        return []
    return [event for event in events[starts[-1] + 1 : latest] if event.get("event") == "bot"]


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
