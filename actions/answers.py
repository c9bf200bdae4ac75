"""Answers to the relative's questions, tailored to who they worry about."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import (
    SWITCHBOARD,
    ResponseAction,
    attach_buttons,
    bubbles_this_turn,
    for_channel,
    has_response,
    latest_intent,
    person_button,
    responses_of,
    risk_answered_this_turn,
    sent_last_turn,
    sent_this_turn,
    topic_buttons,
    user_texts,
)
from actions.handoff import answer_request_for_a_person
from bot.dialogue import CHECK_ANSWERED_SLOT, MAX_BUBBLES_PER_TURN, set_aside
from bot.dialogue.follow_up import (
    CURRENT_TOPIC_SLOT,
    DEEPENED_IN,
    DEEPER,
    FIRST_ANSWER,
    FOLLOW_UP_INTENT,
    TOPIC_STEP_SLOT,
    Step,
    named_topic,
    plan_follow_up,
)
from bot.dialogue.milieu import milieus_of
from bot.dialogue.next_steps import next_steps
from bot.dialogue.situations import (
    ACUTE_TRACK,
    TALKING_TOPICS,
    for_honour_control,
    is_situation,
    on_the_acute_track,
    response_of,
    situation_of,
    topic_followed_up_in,
    with_situation,
)
from bot.dialogue.writer import writer_is_minor
from bot.person_profile import (
    ADULT,
    MINOR,
    YOUNG_ADULT,
    PersonProfile,
    detect_age_group,
    profile_of_conversation,
)
from bot.rasa_client import RasaParser
from bot.text import fold
from bot.topics import (
    TOPIC_INTENTS,
    Classifier,
    answer_topics,
    sharpen,
    topic_for_intent,
    topic_named_in,
)

CONTACTS_SHOWN = 3


class ActionAnswerTopic(ResponseAction):
    """Answers every question in the latest message (bot.topics), each in the variant for
    the person's age group when we know it, with that topic's contacts and quick replies
    for the natural next questions; and follow-ups ("konkret?", "vad händer om jag ringer
    dit?") within the topic of the conversation (bot.dialogue.follow_up).

    A turn stays within MAX_BUBBLES_PER_TURN messages, the risk answer's included: a
    question that does not fit is offered as a quick reply instead.

    It also remembers who the relative worries about (relation, age group) in the slots.
    That is worked out here, where it is used, rather than in a slot validation action,
    which would cost one more call to the action server on every message."""

    def __init__(self, classify: Classifier | None = None):
        self._classify = classify

    @property
    def classify(self) -> Classifier:
        if self._classify is None:
            self._classify = RasaParser(self.config.rasa_internal_url, self.config.rasa_jwt_secret)
        return self._classify

    keeps_safety_in_focus = True

    def name(self) -> str:
        return "action_answer_topic"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        profile = remembered_profile(tracker)
        events = profile_slot_events(tracker, profile)
        # After "nej" to the risk screening's safety question, the question it set aside
        # is answered now (SafetyCheckPolicy runs this action for it).
        message = set_aside_message(tracker) or tracker.latest_message
        text = message.get("text") or ""
        situation = situation_of(text)
        if situation and any(
            name.startswith(response_of(situation)) for name in sent_this_turn(tracker)
        ):
            # The risk answer gave this situation's route already.
            return events
        new_topic = names_another_topic(tracker, text)
        if latest_intent(tracker) == FOLLOW_UP_INTENT and situation is None and new_topic is None:
            return [*events, *self.answer_follow_up(dispatcher, tracker, domain, profile)]
        if latest_intent(tracker) == FOLLOW_UP_INTENT:
            topics = [new_topic] if new_topic else []
        else:
            topics = await answer_topics(message, self.classify)
        topics = sharpen(topics, text, tracker.get_slot(CURRENT_TOPIC_SLOT))
        if _NAMES_CHILDREN.search(fold(text)):
            # "kommer soc ta barnen?" from a partner: the answer for a child, whoever the
            # conversation was about (blind round 3 answered it for an adult).
            profile = PersonProfile(relation=profile.relation, age_group=MINOR)
        # The concrete situation the words name, instead of the block the classifier
        # chose; other questions in the message are still answered.
        topics = with_situation(topics, situation)
        topics = keep_on_the_acute_track(tracker, topics)
        topics = for_honour_control(topics, milieus_of(user_texts(tracker)), profile.age_group)
        if topics == ["share_worry"] and adds_an_age_to_the_topic(tracker, domain):
            # "han är 16" right after an answer that depends on the age: that answer
            # again, now for a minor or an adult.
            return [*events, *self.answer_follow_up(dispatcher, tracker, domain, profile)]
        if risk_answered_this_turn(tracker):
            # The risk answer already replied to the story; questions in the same message
            # are still answered.
            topics = [topic for topic in topics if topic != "share_worry"]
        return [*events, *self.answer_topics(dispatcher, tracker, domain, topics, profile)]

    def answer_topics(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        topics: list[str],
        profile: PersonProfile,
    ) -> list[dict[str, Any]]:
        room = max(1, MAX_BUBBLES_PER_TURN - bubbles_this_turn(tracker))
        # The risk answer of this turn gave the contacts that matter most.
        with_contacts = not risk_answered_this_turn(tracker)
        switchboard = SWITCHBOARD not in sent_this_turn(tracker)
        answered: list[str] = []
        deferred: list[str] = []
        for topic in topics:
            if len(dispatcher.messages) >= room:
                deferred.append(topic)
                continue
            if topic == "request_human":
                answer_request_for_a_person(self, dispatcher, tracker, domain)
                continue
            self.utter_answer(dispatcher, tracker, domain, topic, profile)
            answered.append(topic)
        if answered and with_contacts and len(dispatcher.messages) < room:
            # Short: a few contacts, the rest behind a quick reply (the contacts topic lists
            # them all).
            limit = None if "contacts" in answered else CONTACTS_SHOWN
            self.utter_contacts(
                dispatcher,
                domain,
                answered,
                switchboard=switchboard,
                limit=limit,
                milieus=milieus_of(user_texts(tracker)),
                writer_minor=writer_is_minor(user_texts(tracker)),
            )
        if not answered:
            return []
        buttons = [*topic_buttons(domain, deferred), *next_steps(answered[-1])]
        attach_buttons(dispatcher, buttons)
        # A follow-up most often means the main question: the message's own topic.
        primary = topic_for_intent(latest_intent(tracker))
        return remember_topic(primary if primary in answered else answered[0], FIRST_ANSWER)

    def utter_answer(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        topic: str,
        profile: PersonProfile,
    ) -> None:
        if topic == "share_worry" and has_response(domain, f"utter_share_worry_{profile.relation}"):
            # Listening first: the story acknowledged for who it is about.
            self.utter(dispatcher, f"utter_share_worry_{profile.relation}")
            return
        if is_situation(topic):
            self.utter(dispatcher, situation_response(tracker, domain, topic))
            return
        if topic == "anonymity":
            # What holds differs per channel; who reads, and when confidentiality ends,
            # is the same everywhere.
            self.utter_together(
                dispatcher, domain, [for_channel("utter_anonymity", tracker), "utter_who_reads"]
            )
            return
        first = response_for(topic, profile.age_group, domain)
        deeper = response_for(f"{topic}_more", profile.age_group, domain)
        sent = sent_in_conversation(tracker)
        if first in sent and deeper not in sent and has_response(domain, deeper):
            # Asked again in other words: the next layer, not the same block word for word
            # (blind round 2 found verbatim repeats on 8 turns).
            self.utter(dispatcher, deeper)
            return
        self.utter(dispatcher, first)

    def answer_follow_up(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        profile: PersonProfile,
    ) -> list[dict[str, Any]]:
        named = named_topic(tracker.latest_message.get("entities"))
        current = tracker.get_slot(CURRENT_TOPIC_SLOT) or asked_before(tracker)
        topic = named or current
        if keep_on_the_acute_track(tracker, [topic]) == [ACUTE_TRACK]:
            # "hur menar du?" after advice on talking to him, while a plan is known.
            self.utter(dispatcher, situation_response(tracker, domain, ACUTE_TRACK))
            attach_buttons(dispatcher, next_steps(ACUTE_TRACK))
            return remember_topic(ACUTE_TRACK, DEEPER)
        # An older quick reply names a topic the conversation has left: its deeper step.
        step_reached = tracker.get_slot(TOPIC_STEP_SLOT) if topic == current else FIRST_ANSWER
        plan = plan_follow_up(
            topic,
            step_reached,
            new_age_group=states_new_age_group(tracker),
            has_age_variants=topic is not None and has_age_variants(topic, domain),
            has_deeper_step=topic is not None and has_response(domain, f"utter_{topic}_more"),
        )
        if plan.step is Step.UNKNOWN:
            self.utter(dispatcher, "utter_follow_up_unknown")
            return []
        if plan.step is Step.ANSWER_FOR_AGE:
            self.utter(dispatcher, response_for(topic, profile.age_group, domain))
            attach_buttons(dispatcher, next_steps(topic))
            return remember_topic(topic, FIRST_ANSWER)
        if plan.step is Step.DEEPER:
            self.utter(dispatcher, response_for(f"{topic}_more", profile.age_group, domain))
            attach_buttons(dispatcher, next_steps(topic, without_deeper=True))
            return remember_topic(topic, DEEPER)
        self.utter(dispatcher, "utter_follow_up_end")
        attach_buttons(dispatcher, [*next_steps(topic, without_deeper=True), person_button(domain)])
        return remember_topic(topic, DEEPER)


class ActionAnswerOutOfScope(ResponseAction):
    """Out-of-scope messages get a polite "I can't help with that" and the menu, unless the
    message carried a risk signal: then it is in scope, whatever the classifier thought.
    The risk answer of this turn covers it; without one (the signal was already answered
    earlier in the conversation) the relative gets the acknowledgement of their story."""

    keeps_safety_in_focus = True

    def name(self) -> str:
        return "action_answer_out_of_scope"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        answered = answer_situation(self, dispatcher, tracker, domain)
        if answered is not None:
            return answered
        if risk_answered_this_turn(tracker):
            return []
        if tracker.get_slot("risk_in_message") in ("elevated", "acute"):
            self.utter(dispatcher, "utter_share_worry")
            attach_buttons(dispatcher, next_steps("share_worry"))
            return []
        self.utter(dispatcher, "utter_out_of_scope")
        self.utter(dispatcher, "utter_main_menu")
        return []


class ActionAnswerShortReply(ResponseAction):
    """ "Hej", "ja", "nej", "tack", "hej då", "är du en robot?": the short reply named after
    the intent (with the topic menu after a greeting or a bare yes). As an action rather
    than a rule's plain response it can fill in the contacts' numbers, carry the privacy
    notice in SMS and WhatsApp, and follow `safety_focus`: after a serious signal the
    variations of utter_deny, utter_thank and utter_goodbye keep 112 or Självmordslinjen in
    view (domain.yml)."""

    FOLLOWED_BY_THE_MENU = ("greet", "affirm")
    SAID_BY_THE_RISK_ANSWER = ("affirm", "deny", "thank", "goodbye")

    def name(self) -> str:
        return "action_answer_short_reply"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if answer_open_question(self, dispatcher, tracker):
            return []
        intent = latest_intent(tracker)
        if intent in self.SAID_BY_THE_RISK_ANSWER and risk_answered_this_turn(tracker):
            # "och nu ringer de hem..." taken for a goodbye: the risk answer replied, and a
            # "Ta hand om dig" after 112 would close what must stay open.
            return []
        self.utter(dispatcher, f"utter_{intent}")
        if intent in self.FOLLOWED_BY_THE_MENU:
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


def situation_response(tracker: Tracker, domain: dict[str, Any], situation: str) -> str:
    """The situation's answer: the channel's own where what holds differs per channel,
    else for the age of the person the conversation is about; said once, then its
    `_again` variant where there is one (the acute track asked about again)."""
    base = f"utter_situation_{situation}"
    if has_response(domain, for_channel(base, tracker)):
        return for_channel(base, tracker)
    if base in sent_in_conversation(tracker) and has_response(domain, f"{base}_again"):
        return f"{base}_again"
    return response_for(f"situation_{situation}", remembered_profile(tracker).age_group, domain)


def answer_situation(
    action: ResponseAction,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
) -> list[dict[str, Any]] | None:
    """The answer for the situation the latest message names (bot.dialogue.situations),
    for a message the classifier did not file under a topic; None when it names none or
    the turn has no room left."""
    situation = situation_of(tracker.latest_message.get("text") or "")
    if situation is None or bubbles_this_turn(tracker) >= MAX_BUBBLES_PER_TURN:
        return None
    action.utter(dispatcher, situation_response(tracker, domain, situation))
    attach_buttons(dispatcher, next_steps(situation))
    return remember_topic(situation, FIRST_ANSWER)


# "vet inte", "nej", "allt" in reply to the story's open question ("Vad oroar dig mest
# just nu?"): not "Okej, det går bra", which closes the conversation, but a choice.
_UNSURE = re.compile(
    r"^\W*(?:nej|na|vet (?:inte|ej)|ingen aning|allt|allting|oklart|osaker|"
    r"jag vet inte|vet inte riktigt|typ allt|nej inte direkt|inget sarskilt)\W*$"
)


def answer_open_question(
    action: ResponseAction, dispatcher: CollectingDispatcher, tracker: Tracker
) -> bool:
    """Answers a short unsure reply to the story's open question with a choice of
    directions; False when the latest message is not one."""
    asked = any(name.startswith("utter_share_worry") for name in sent_last_turn(tracker))
    text = fold(tracker.latest_message.get("text") or "")
    if not asked or not _UNSURE.match(text) or risk_answered_this_turn(tracker):
        return False
    action.utter(dispatcher, "utter_share_worry_unsure")
    attach_buttons(dispatcher, next_steps("share_worry"))
    return True


def sent_in_conversation(tracker: Tracker) -> set[str]:
    """Every response the bot has sent in this conversation, parts of messages included."""
    return {
        name
        for event in tracker.events
        if event.get("event") == "bot"
        for name in responses_of(event.get("metadata"))
    }


def set_aside_message(tracker: Tracker) -> dict[str, Any] | None:
    """The message the safety question was asked about, when the latest message only
    answered that question ("nej", "vet inte"); None otherwise."""
    if not tracker.get_slot(CHECK_ANSWERED_SLOT) or latest_intent(tracker) in TOPIC_INTENTS:
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
    texts = user_texts(tracker)
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


def states_new_age_group(tracker: Tracker) -> bool:
    """Whether the latest message states an age group other than the one known before it
    ("och om han är 19?" after talking about a 16-year-old)."""
    texts = user_texts(tracker)
    stated = detect_age_group(texts[-1]) if texts else None
    if stated is None:
        return False
    before = profile_of_conversation(
        texts[:-1], known=PersonProfile(age_group=tracker.get_slot("person_age_group"))
    )
    return stated != before.age_group


# "han är 16", "och om hon är 19?": a short message that only adds an age.
AGE_DETAIL_MAX_WORDS = 8


def adds_an_age_to_the_topic(tracker: Tracker, domain: dict[str, Any]) -> bool:
    """A short message that states a new age while the conversation is on a topic whose
    answer depends on the age; a longer story with an age is a story."""
    topic = tracker.get_slot(CURRENT_TOPIC_SLOT)
    text = tracker.latest_message.get("text") or ""
    return (
        topic is not None
        and len(text.split()) <= AGE_DETAIL_MAX_WORDS
        and has_age_variants(topic, domain)
        and states_new_age_group(tracker)
    )


AGE_GROUPS = (MINOR, YOUNG_ADULT, ADULT)


def has_age_variants(topic: str, domain: dict[str, Any]) -> bool:
    return any(response_for(topic, group, domain) != f"utter_{topic}" for group in AGE_GROUPS)


def asked_before(tracker: Tracker) -> str | None:
    """The topic of the latest earlier message that asked about one, when no answer set
    the topic: the risk screening answered that message (an elevated answer, a safety
    question) instead of the topic action."""
    users = [event for event in tracker.events if event.get("event") == "user"]
    for event in reversed(users[:-1]):
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if topic := topic_for_intent(intent):
            return topic
    return None


_NAMES_CHILDREN = re.compile(
    r"\b(?:barnen|barnet|ungarna|mina barn|vara barn|vart barn|mitt barn|smabarnen"
    r"|lillebror|lillasyster|bebisen)\b"
)


def names_another_topic(tracker: Tracker, text: str) -> str | None:
    """For a follow-up without a quick reply's topic: the topic its words name, when that
    is not the topic the conversation is on."""
    if named_topic(tracker.latest_message.get("entities")):
        return None
    named = topic_named_in(text)
    current = tracker.get_slot(CURRENT_TOPIC_SLOT)
    if named is None or named == current or DEEPENED_IN.get(named) == current:
        return None
    return named


def keep_on_the_acute_track(tracker: Tracker, topics: list[str | None]) -> list[str]:
    """While a plan, a weapon or a trip is known to be acute, advice on talking to the
    person or reading signs gives way to the acute track (police, not a talk at home);
    after a 112 answer of this turn for another danger (a threat), such advice is left
    out: 112 stands alone. Each topic once."""
    acute = on_the_acute_track(tracker.get_slot("risk_level"), tracker.get_slot("risk_signals"))
    acute_now = any(name.startswith("utter_risk_acute") for name in sent_this_turn(tracker))
    kept: list[str] = []
    for topic in topics:
        if topic is None:
            continue
        if topic in TALKING_TOPICS and acute:
            topic = ACUTE_TRACK
        elif topic in TALKING_TOPICS and acute_now:
            continue
        if topic not in kept:
            kept.append(topic)
    return kept


def remember_topic(topic: str, step: str) -> list[dict[str, Any]]:
    return [
        SlotSet(CURRENT_TOPIC_SLOT, DEEPENED_IN.get(topic) or topic_followed_up_in(topic)),
        SlotSet(TOPIC_STEP_SLOT, step),
    ]


def response_for(topic: str, age_group: str | None, domain: dict[str, Any]) -> str:
    """`utter_<topic>_<age_group>` when the domain has it (a young adult's falls back to
    the adult one), else `utter_<topic>`."""
    groups = [age_group, ADULT] if age_group == YOUNG_ADULT else [age_group]
    for group in filter(None, groups):
        if has_response(domain, f"utter_{topic}_{group}"):
            return f"utter_{topic}_{group}"
    return f"utter_{topic}"


__all__ = [
    "answer_situation",
    "ActionAnswerOtherLanguage",
    "ActionAnswerOutOfScope",
    "ActionAnswerShortReply",
    "ActionAnswerTopic",
    "response_for",
    "topic_for_intent",
]
