"""Answers to the relative's questions, tailored to who they worry about."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import SWITCHBOARD, ResponseAction, for_channel, has_response, sent_this_turn
from actions.handoff import answer_request_for_a_person
from bot.dialogue import CHECK_ANSWERED_SLOT, set_aside
from bot.person_profile import ADULT, YOUNG_ADULT, PersonProfile, profile_of_conversation
from bot.rasa_client import RasaParser
from bot.settings import settings
from bot.topics import TOPIC_INTENTS, Classifier, answer_topics, topic_for_intent


class ActionAnswerTopic(ResponseAction):
    """Answers every question in the latest message (bot.topics), each in the variant for
    a minor or an adult when we know which it is, followed by that topic's contacts.

    It also remembers who the relative worries about (relation, under 18 or adult) in the
    slots. That is worked out here, where it is used, rather than in a slot validation
    action, which would cost one more call to the action server on every message."""

    def __init__(self, classify: Classifier | None = None):
        self.classify = classify or RasaParser(settings.rasa_internal_url, settings.rasa_jwt_secret)

    def name(self) -> str:
        return "action_answer_topic"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        profile = remembered_profile(tracker)
        age_group = profile.age_group
        # After "nej" to the risk screening's safety question, the question it set aside
        # is answered now (SafetyCheckPolicy runs this action for it).
        message = set_aside_message(tracker) or tracker.latest_message
        topics = await answer_topics(message, self.classify)
        if topics == ["share_worry"] and age_group:
            # "han är 16" right after a general answer that asked for the age: give that
            # answer again, now for a minor or an adult.
            topics = [pending_age_topic(tracker) or "share_worry"]
        if risk_answered_this_turn(tracker):
            # The risk answer already replied to the story; questions in the same message
            # are still answered.
            topics = [topic for topic in topics if topic != "share_worry"]
        # The risk answer may already have pointed to the switchboard in this turn.
        switchboard = SWITCHBOARD not in sent_this_turn(tracker)
        for topic in topics:
            if topic == "request_human":
                answer_request_for_a_person(self, dispatcher, tracker, domain)
                continue
            if topic == "anonymity":
                # What holds differs per channel; who reads, and when confidentiality
                # ends, is the same everywhere.
                self.utter(dispatcher, for_channel("utter_anonymity", tracker))
                self.utter(dispatcher, "utter_who_reads")
                continue
            self.utter(dispatcher, response_for(topic, age_group, domain))
            self.utter_contacts(dispatcher, domain, topic, switchboard=switchboard)
        return profile_slot_events(tracker, profile)


class ActionAnswerOutOfScope(ResponseAction):
    """Out-of-scope messages get a polite "I can't help with that" and the menu, unless the
    message carried a risk signal: then it is in scope, whatever the classifier thought.
    The risk answer of this turn covers it; without one (the signal was already answered
    earlier in the conversation) the relative gets the acknowledgement of their story."""

    def name(self) -> str:
        return "action_answer_out_of_scope"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if risk_answered_this_turn(tracker):
            return []
        if tracker.get_slot("risk_in_message") in ("elevated", "acute"):
            self.utter(dispatcher, "utter_share_worry")
            return []
        self.utter(dispatcher, "utter_out_of_scope")
        self.utter(dispatcher, "utter_main_menu")
        return []


class ActionAnswerOtherLanguage(ResponseAction):
    """A message in another language (bot/nlu/language.py): that the chat is in Swedish,
    in English and Swedish, with 112. The risk screening has read it like any other."""

    def name(self) -> str:
        return "action_answer_other_language"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        self.utter(dispatcher, "utter_other_language")
        return []


def risk_answered_this_turn(tracker: Tracker) -> bool:
    """Whether the risk screening (actions/risk.py) replied to the latest message."""
    return any(name.startswith("utter_risk_") for name in sent_this_turn(tracker))


def set_aside_message(tracker: Tracker) -> dict[str, Any] | None:
    """The message the safety question was asked about, when the latest message only
    answered that question ("nej", "vet inte"); None otherwise."""
    if (
        not tracker.get_slot(CHECK_ANSWERED_SLOT)
        or tracker.latest_message.get("intent", {}).get("name") in TOPIC_INTENTS
    ):
        return None
    turns = (
        (event["event"], (event.get("metadata") or {}).get("utter_action") or "", event)
        for event in reversed(tracker.events)
        if event.get("event") in ("user", "bot")
    )
    message = set_aside(turns)
    if message is None:
        return None
    return {**(message.get("parse_data") or {}), "text": message.get("text") or ""}


def remembered_profile(tracker: Tracker) -> PersonProfile:
    """Who the relative worries about, from everything they wrote in this conversation
    (the newest statement wins) and what earlier sessions carried over in the slots."""
    texts = [event.get("text") or "" for event in tracker.events if event.get("event") == "user"]
    carried_over = PersonProfile(
        relation=tracker.get_slot("person_relation"),
        age_group=tracker.get_slot("person_age_group"),
    )
    return profile_of_conversation(texts, known=carried_over)


def profile_slot_events(tracker: Tracker, profile: PersonProfile) -> list[dict[str, Any]]:
    slots = {"person_relation": profile.relation, "person_age_group": profile.age_group}
    return [
        SlotSet(name, value)
        for name, value in slots.items()
        if value is not None and tracker.get_slot(name) != value
    ]


# General answers that end by asking whether the person is under 18 or an adult.
ASKS_FOR_AGE = {"utter_social_services": "social_services", "utter_child_custody": "child_custody"}


def pending_age_topic(tracker: Tracker) -> str | None:
    """The topic whose general answer asked for the age, if that was the bot's last answer."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return ASKS_FOR_AGE.get((event.get("metadata") or {}).get("utter_action"))
    return None


def response_for(topic: str, age_group: str | None, domain: dict[str, Any]) -> str:
    """`utter_<topic>_<age_group>` when the domain has it (a young adult's falls back to
    the adult one), else `utter_<topic>`."""
    groups = [age_group, ADULT] if age_group == YOUNG_ADULT else [age_group]
    for group in filter(None, groups):
        if has_response(domain, f"utter_{topic}_{group}"):
            return f"utter_{topic}_{group}"
    return f"utter_{topic}"


__all__ = [
    "ActionAnswerOtherLanguage",
    "ActionAnswerOutOfScope",
    "ActionAnswerTopic",
    "response_for",
    "topic_for_intent",
]
