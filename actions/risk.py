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
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions.answers import situation_response
from actions.base import (
    ResponseAction,
    attach_buttons,
    bubbles_this_turn,
    latest_intent,
    person_button,
    risk_answered_this_turn,
)
from bot.bootstrap import services
from bot.conversation import HANDOFF_SLOT
from bot.dialogue import (
    CHECK_ANSWERED_SLOT,
    CHECK_SLOT,
    MAX_BUBBLES_PER_TURN,
    SUBJECTS_SLOT,
)
from bot.dialogue.next_steps import next_steps
from bot.dialogue.safety_focus import SAFETY_FOCUS_SLOT, focus_of, most_serious
from bot.dialogue.situations import SITUATIONS_WITH_THEIR_OWN_ROUTE, situation_of
from bot.escalations.availability import handler_available
from bot.escalations.escalator import Escalator
from bot.escalations.service import Signal
from bot.privacy.redaction import Redactor, mask
from bot.pseudonym import conversation_ref, message_key
from bot.risk import safety_check
from bot.risk.detector import Screening
from bot.risk.levels import RiskLevel, in_category_order, in_subject_order
from bot.risk.screening import RiskScreen
from bot.settings import Settings
from bot.store.engine import shared_engine
from bot.text import fold

logger = logging.getLogger(__name__)

# Messages that are button payloads ("/ask_police") carry no risk of their own.
PAYLOAD_PREFIX = "/"
CONFIRMED_SLOT = "risk_confirmed"  # the relative said yes to a safety check
CHECK_SUBJECT_SLOT = "risk_check_subject"
CHECKED_SLOT = "risk_checked"  # the categories asked about in this conversation
ANSWER_SLOT = "risk_check_answer"  # the latest answer: yes, no, not_now, dont_know
EARLIER_MESSAGES = 2  # read together with a message that takes a concrete step


def acute_response(screening: Screening, earlier: Tracker | None = None) -> str:
    """112 first, in one short message; with Självmordslinjen for suicide risk, spoken to
    the relative when it is their own. Suicide risk earlier in the conversation counts:
    "ikväll ska jag ta dem" after a message about pills is about the pills."""
    signals = set(earlier.get_slot("risk_signals") or []) if earlier else set()
    subjects = set(earlier.get_slot(SUBJECTS_SLOT) or []) if earlier else set()
    if "suicide" in screening.categories or "suicide" in signals:
        own = _own(screening) or ("suicide" not in screening.categories and "self" in subjects)
        return "utter_risk_acute_suicide_self" if own else "utter_risk_acute_suicide"
    if "threat" in screening.categories and "self" in screening.subjects:
        return "utter_risk_acute_threat_self"
    return "utter_risk_acute"


def why_response(category: str, own: bool) -> str:
    if own and category in ("suicide", "threat"):
        return f"utter_risk_why_{category}_self"
    return f"utter_risk_why_{category}"


def contact_topics(screening: Screening) -> list[str]:
    """Which contact lists follow an elevated answer, one per kind of risk: Självmordslinjen
    first for suicide risk (never the police tip line first), Kvinnofridslinjen for threats
    against the relative, 112 and social services for a child at risk, 112 and the police
    for the rest."""
    categories = set(screening.categories)
    own = _own(screening)
    topics = []
    if "suicide" in categories:
        topics.append("risk_suicide_self" if own else "risk_suicide")
    if "threat" in categories and own:
        topics.append("risk_threat_self")
    if "child_at_risk" in categories:
        topics.append("risk_child")
    others = categories - {"suicide", "threat", "child_at_risk"}
    if others or ("threat" in categories and not own):
        topics.append("risk")
    return topics


# Sure signals after which a counsellor asks one concrete question (is the ticket booked,
# is the weapon at hand, was a date named, are you safe at home now, is the trip close);
# "ja" to any of them is acute, as to the general danger question.
COUNSELLOR_QUESTIONS = ("travel", "weapons", "attack", "threat", "child_at_risk")


def unsure_question(category: str, subject: str) -> str:
    """The question when the screening is unsure whether there is danger."""
    if category == "suicide":
        return "utter_risk_check_suicide_self" if subject == "self" else "utter_risk_check_suicide"
    return "utter_risk_check_danger"


def check_question(category: str, subject: str) -> str:
    """A counsellor's concrete question about a sure signal."""
    if category == "threat":
        return "utter_risk_check_threat_self" if subject == "self" else "utter_risk_check_danger"
    return f"utter_risk_check_{category}"


def reply_to_no(category: str | None, subject: str | None) -> str:
    """ "Nej" to the safety question: thanks, and what to do if it changes; to the
    relative asked about their own thoughts of dying, warmth and where to talk about how
    they feel, never a brisk "let us go on"."""
    if category == "suicide" and subject == "self":
        return "utter_risk_check_no_suicide_self"
    return "utter_risk_check_no"


def _counsellor_key(category: str) -> str:
    return f"{category}:asked"


def _subjects_per_category(screening: Screening) -> list[str]:
    """Who is at risk for each category: the match's subject, else the message's hint."""
    by_match = {match.category: match.subject for match in screening.matches}
    default = screening.subjects[0] if screening.subjects else "person"
    return [
        by_match.get(category) or screening.subject_hints.get(category) or default
        for category in screening.categories
    ]


# Intents of a message that tells rather than asks: after the risk answer, no topic answer
# follows in the turn.
STORY_INTENTS = ("share_worry", "out_of_scope", "nlu_fallback")


def _tells_a_story(tracker: Tracker) -> bool:
    return latest_intent(tracker) in STORY_INTENTS


_QUESTION = re.compile(
    r"\?|^\W*(?:(?:ok|okej|ja|nej|men|och)\W+)*"
    r"(?:vad|hur|vem|varfor|vilk\w*|kan|far|maste|ska|blir|finns|gar)\b"
)


def asks_the_bot(text: str) -> bool:
    """Whether a message is a question (a question mark, or a question word first)."""
    return bool(_QUESTION.search(fold(text or "")))


def _doubt_beside_a_question(tracker: Tracker, screening: Screening) -> bool:
    """A doubt with no signal of its own (a time, the model's hunch) in a message that
    asks the bot something: the question gets its answer rather than "kan det hända något
    farligt nu?" (blind round 3: "dit?", "vad händer med henne nu?"). Never for suicide:
    that question is always asked."""
    return (
        screening.level is RiskLevel.NONE
        and screening.check is not None
        and screening.check[0] != "suicide"
        and asks_the_bot(tracker.latest_message.get("text") or "")
    )


def _own(screening: Screening) -> bool:
    return "self" in screening.subjects


def _earlier_texts(tracker: Tracker) -> list[str]:
    """The relative's messages before the latest one, since the session started (button
    payloads left out), at most EARLIER_MESSAGES."""
    texts: list[str] = []
    for event in tracker.events:
        if event.get("event") == "session_started":
            texts = []
        elif event.get("event") == "user":
            texts.append(event.get("text") or "")
    earlier = [text for text in texts[:-1] if text.strip() and not text.startswith(PAYLOAD_PREFIX)]
    return earlier[-EARLIER_MESSAGES:]


class ActionValidateSlotMappings(ResponseAction):
    """Screens the latest message; see the module docstring."""

    def __init__(
        self,
        screen: RiskScreen | None = None,
        escalator: Escalator | None = None,
        config: Settings | None = None,
        person_available: Callable[[], bool] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        # The action server builds its actions without arguments: what is not given comes
        # from this process's parts (bot/bootstrap.py), when first needed.
        self._screen = screen
        self._escalator = escalator
        self._config = config
        self._redactor = redactor
        self._person_available = person_available
        self._retry_loop: asyncio.Task | None = None

    def name(self) -> str:
        return "action_validate_slot_mappings"

    @property
    def config(self) -> Settings:
        return self._config or services().settings

    @property
    def screen(self) -> RiskScreen:
        return self._screen or services().screen

    @property
    def escalator(self) -> Escalator:
        return self._escalator or services().escalator

    @property
    def redactor(self) -> Redactor:
        return self._redactor or services().redactor

    def person_available(self) -> bool:
        """Whether a handler can join the chat now: what the answer promises follows it."""
        if self._person_available is not None:
            return self._person_available()
        try:
            return handler_available(shared_engine(self.escalator.database_url))
        except SQLAlchemyError as error:  # nobody can be promised through a store we cannot read
            logger.error("Staff availability unknown (%s)", type(error).__name__)
            return False

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        self._ensure_retry_loop()
        events = await self._screen_and_answer(dispatcher, tracker, domain)
        if risk_answered_this_turn(tracker):
            # The same message again, after the two-stage fallback took it for a rephrasing:
            # the slots are set again (Rasa reverted them), the answer is not.
            dispatcher.messages.clear()
        return events

    async def _screen_and_answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        events = self._close_check(tracker)
        if not text.strip() or text.startswith(PAYLOAD_PREFIX):
            return [*events, SlotSet("risk_in_message", RiskLevel.NONE.value)]
        screening, answer = self._screen_in_context(tracker, text, events)
        confirmed = answer is not None and safety_check.SETTLED[answer].confirmed
        events.append(SlotSet("risk_in_message", screening.level.value))
        with_person = bool(tracker.get_slot(HANDOFF_SLOT))
        if with_person:
            # A handler is in the conversation: the dashboard shows how long this waits.
            self.escalator.relative_wrote(
                conversation_ref(tracker.sender_id, self.config.pseudonym_key)
            )
        check = self._question_to_ask(tracker, screening, answered=answer is not None)
        asking = check is not None and not with_person
        if screening.level is not RiskLevel.NONE:
            events += self._signal(
                dispatcher,
                tracker,
                domain,
                text,
                screening,
                confirmed,
                # Unsure, and asking about the very thing signalled: the answer comes after
                # the reply.
                quiet=asking and check == screening.check and check[0] in screening.categories,
                answered=answer is not None,
            )
        elif answer == safety_check.NO:
            asked = tracker.get_slot(CHECK_SLOT), tracker.get_slot(CHECK_SUBJECT_SLOT)
            self.utter(dispatcher, reply_to_no(*asked))
        if asking:
            events += self._ask(dispatcher, tracker, check, counsellor=check != screening.check)
            self._keep_within_the_turn(dispatcher, tracker, domain)
        elif (
            screening.level is RiskLevel.ELEVATED
            and dispatcher.messages
            and _tells_a_story(tracker)
            and not with_person
        ):
            # Nothing else answers a story in this turn: it ends with a choice of where to
            # go next, as the acknowledgement of a story does.
            attach_buttons(dispatcher, next_steps("share_worry"))
        return events

    def _keep_within_the_turn(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> None:
        """A question that would make the turn longer than MAX_BUBBLES_PER_TURN (after the
        privacy notice on a first message) goes into the message before it."""
        if bubbles_this_turn(tracker) + len(dispatcher.messages) <= MAX_BUBBLES_PER_TURN:
            return
        if len(dispatcher.messages) < 2:
            return
        question = dispatcher.messages.pop()
        self.merge_into(dispatcher, domain, -1, question["response"])

    def _question_to_ask(
        self, tracker: Tracker, screening: Screening, answered: bool
    ) -> tuple[str, str] | None:
        """One safety question per category and conversation, never with a 112 answer:
        when the screening is unsure, its question; when it is sure of a signal a
        counsellor would ask about (a ticket, a weapon, a date, the relative's safety at
        home), that question, after the answer to the signal."""
        if screening.level is RiskLevel.ACUTE:
            return None
        asked = tracker.get_slot(CHECKED_SLOT) or []
        if screening.check:
            if _doubt_beside_a_question(tracker, screening):
                return None
            return screening.check if screening.check[0] not in asked else None
        if answered or screening.level is not RiskLevel.ELEVATED:
            return None
        subjects = _subjects_per_category(screening)
        for category, subject in zip(screening.categories, subjects, strict=True):
            if category in COUNSELLOR_QUESTIONS and _counsellor_key(category) not in asked:
                return category, subject
        return None

    # -- the conversation so far --------------------------------------------------------------

    def _close_check(self, tracker: Tracker) -> list[dict[str, Any]]:
        """An open safety check is answered (or left) by this message: it closes now."""
        events = []
        if tracker.get_slot(CHECK_SLOT):
            events += [SlotSet(CHECK_SLOT, None), SlotSet(CHECK_SUBJECT_SLOT, None)]
        if tracker.get_slot(CHECK_ANSWERED_SLOT):
            events.append(SlotSet(CHECK_ANSWERED_SLOT, False))
        return events

    def _screen_in_context(
        self, tracker: Tracker, text: str, events: list[dict[str, Any]]
    ) -> tuple[Screening, str | None]:
        """This message's screening, raised by the answer to an open safety check and by
        the earlier messages, and the answer to the check (None if it was not one)."""
        check = tracker.get_slot(CHECK_SLOT)
        answer = (
            safety_check.answer_to_check(text, self.screen.detector.patterns) if check else None
        )
        # A reply to the question is read by the patterns only: the trained model knows
        # nothing about "vet inte" and once took it for a new suicide signal.
        screening = self.screen.detector.screen(text) if answer else self.screen.screen(text)
        if answer is None:
            return self._with_earlier_messages(tracker, text, screening), None
        events.append(SlotSet(CHECK_ANSWERED_SLOT, True))
        events.append(SlotSet(ANSWER_SLOT, answer))
        settled = safety_check.SETTLED[answer]
        subject = tracker.get_slot(CHECK_SUBJECT_SLOT) or "person"
        if settled.level.rank > screening.level.rank:
            screening = replace(
                screening,
                level=settled.level,
                categories=in_category_order([*screening.categories, check]),
                subjects=in_subject_order([*screening.subjects, subject]),
                check=None,
            )
        return screening, answer

    def _with_earlier_messages(
        self, tracker: Tracker, text: str, screening: Screening
    ) -> Screening:
        """Signals add up over the conversation: "han pratar om Syrien", later "han har
        köpt biljett", is acute. A concrete step in this message is read together with the
        two messages before it; a bare time after an earlier signal makes the bot ask."""
        if screening.level is RiskLevel.ACUTE or tracker.get_slot("risk_level") == "acute":
            return screening
        earlier = _earlier_texts(tracker)
        if not earlier:
            return screening
        if screening.imminent and not screening.explained:
            together = self.screen.screen("\n".join([*earlier, text]))
            if together.level is RiskLevel.ACUTE:
                return replace(together, check=None)
        signals = tracker.get_slot("risk_signals") or []
        # ...unless the message explains itself ("svampkniven, vi ska ut i skogen i helgen").
        # ...nor a question to the bot ("vad händer med henne nu?", "han fyller 15 i maj,
        # gäller det då?"): it gets its answer, not a safety question (blind round 3).
        if (
            screening.timed
            and screening.level is RiskLevel.NONE
            and signals
            and not (screening.explained or screening.set_aside)
            and not asks_the_bot(text)
        ):
            subjects = tracker.get_slot(SUBJECTS_SLOT) or ["person"]
            return replace(screening, check=(signals[0], subjects[0]))
        return screening

    # -- answering -------------------------------------------------------------------------

    def _signal(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
        text: str,
        screening: Screening,
        confirmed: bool,
        quiet: bool = False,
        answered: bool = False,
    ) -> list[dict[str, Any]]:
        previous_level = RiskLevel.highest(tracker.get_slot("risk_level"))
        previous_signals = set(tracker.get_slot("risk_signals") or [])
        previous_subjects = set(tracker.get_slot(SUBJECTS_SLOT) or [])
        level = RiskLevel.highest(previous_level, screening.level)
        signals = list(in_category_order([*previous_signals, *screening.categories]))
        subjects = list(in_subject_order([*previous_subjects, *screening.subjects]))
        # An unsure signal asked about (quiet) sets no focus yet: after "nej" to "tänker du
        # på att ta ditt liv?" the next answers must not open with Självmordslinjen (blind
        # round 2); "ja" confirms it and sets the focus then.
        new_focus = (
            None
            if quiet
            else focus_of(screening.level, list(screening.categories), _own(screening))
        )
        focus = most_serious(tracker.get_slot(SAFETY_FOCUS_SLOT), new_focus)
        events = [
            SlotSet("risk_level", level.value),
            SlotSet("risk_signals", signals),
            SlotSet(SUBJECTS_SLOT, subjects),
            SlotSet(SAFETY_FOCUS_SLOT, focus),
        ]
        if confirmed:
            events.append(SlotSet(CONFIRMED_SLOT, True))
        # With a person from staff in the conversation, the bot adds only the 112 message:
        # the handler sees the signal and answers the rest themselves.
        with_person = bool(tracker.get_slot(HANDOFF_SLOT))
        # Said again only for a higher level, a new category, or when it turns out to be
        # about the relative themself (then the answer speaks to them).
        newly_own = "self" in screening.subjects and "self" not in previous_subjects
        # The unsure question about this very signal was asked (and the signal kept quiet),
        # and the reply is not a plain yes or no but says it in words ("det vore skönt att
        # inte vakna"): nothing has answered it yet. (After a counsellor's question, asked
        # once the signal was answered, a repeat is not new.)
        open_check = tracker.get_slot(CHECK_SLOT)
        asked = tracker.get_slot(CHECKED_SLOT) or []
        asked_and_told = (
            open_check in screening.categories
            and not answered
            and bool(asked)
            and asked[-1] == open_check
        )
        is_new = (
            level.rank > previous_level.rank
            or not set(screening.categories) <= previous_signals
            or newly_own
            or asked_and_told
        )
        if screening.level is RiskLevel.ACUTE:
            self._respond_acute(dispatcher, screening, not with_person, tracker)
        elif not with_person and not quiet and (is_new or answered):
            situation = situation_of(text)
            route = situation_response(tracker, domain, situation) if situation else None
            self._respond_elevated(dispatcher, domain, screening, situation, route)
        try:
            self._escalate(tracker, text, screening, confirmed)
        except Exception as error:  # the safety answer above must reach the relative regardless
            logger.error("Escalation could not be started: %s", type(error).__name__)
        return events

    def _ask(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        check: tuple[str, str],
        counsellor: bool = False,
    ) -> list[dict[str, Any]]:
        """One safety question per category and conversation; a counsellor's question is
        kept apart, so "han sa något om fredag" after it still makes the bot ask."""
        category, subject = check
        asked = list(tracker.get_slot(CHECKED_SLOT) or [])
        self.utter(
            dispatcher,
            check_question(category, subject) if counsellor else unsure_question(category, subject),
        )
        key = _counsellor_key(category) if counsellor else category
        return [
            SlotSet(CHECK_SLOT, category),
            SlotSet(CHECK_SUBJECT_SLOT, subject),
            SlotSet(CHECKED_SLOT, [*asked, key]),
        ]

    def _respond_acute(
        self,
        dispatcher: CollectingDispatcher,
        screening: Screening,
        offer_human: bool = True,
        tracker: Tracker | None = None,
    ) -> None:
        acute = acute_response(screening, tracker)
        self.utter(dispatcher, acute)
        if offer_human:
            # Spoken to the relative whose own life is in danger: the crisis line while
            # they wait for a person, or instead of one when nobody can join now.
            own = acute == "utter_risk_acute_suicide_self"
            offer = "utter_risk_offer_human_self" if own else "utter_risk_offer_human"
            self.utter(dispatcher, offer + ("_now" if self.person_available() else ""))

    def _respond_elevated(
        self,
        dispatcher: CollectingDispatcher,
        domain: dict[str, Any],
        screening: Screening,
        situation: str | None = None,
        route: str | None = None,
    ) -> None:
        """Two bubbles: the acknowledgement with why it matters, then where to turn with
        who reads (so a question in the same message still fits in the turn)."""
        own = _own(screening)
        acknowledgement = "utter_risk_elevated_self" if own else "utter_risk_elevated"
        reasons = [why_response(category, own) for category in screening.categories]
        self.utter_together(dispatcher, domain, [acknowledgement, *reasons])
        # The municipality's switchboard is office hours and not anonymous: never the
        # pointer after a suicide signal. Who reads and when confidentiality ends comes
        # after the help itself: for suicide risk Självmordslinjen is read before anything
        # about staff or the police.
        now = self.person_available()
        marked = "utter_risk_marked_self" if own else "utter_risk_marked"
        if route and situation in SITUATIONS_WITH_THEIR_OWN_ROUTE:
            # "Pappan slog henne igår": the route for that situation (an investigation at
            # once, socialjouren, Bris for the child) instead of the general contact list.
            self.utter_together(dispatcher, domain, [route, marked + ("_now" if now else "")])
            if now:
                attach_buttons(dispatcher, [person_button(domain)])
            return
        self.utter_contacts(
            dispatcher,
            domain,
            topic=contact_topics(screening),
            switchboard="suicide" not in screening.categories,
            closing=marked + ("_now" if now else ""),
        )
        if now:
            attach_buttons(dispatcher, [person_button(domain)])

    def _escalate(
        self, tracker: Tracker, text: str, screening: Screening, confirmed: bool = False
    ) -> None:
        sender = tracker.sender_id
        signal = Signal(
            conversation_ref=conversation_ref(sender, self.config.pseudonym_key),
            level=screening.level,
            categories=screening.categories,
            excerpt=excerpt(text, screening, self.redactor),
            message_key=message_key(sender, text, self.config.pseudonym_key),
            subjects=screening.subjects,
            confirmed=confirmed,
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


def excerpt(text: str, screening: Screening, redactor: Redactor, context_chars: int = 80) -> str:
    """The redacted words around each signal, so staff see why without the whole message.

    The whole message is redacted first and the windows are cut from that: a window cut
    before redaction left the ends of names and numbers that straddle its edges unmasked
    ("…eter Qendrim Berisha", "…-123 45 67"; issue 17)."""
    findings = redactor.find(text)
    windows = [
        (max(0, match.start - context_chars), min(len(text), match.end + context_chars))
        for match in screening.matches
    ] or [(0, min(len(text), 2 * context_chars))]  # the model alone: the beginning
    pieces = []
    for start, end in windows:
        start, end = _widened_past(findings, start, end, text)
        redacted = mask(text, findings, start, end).strip()
        pieces.append(("…" if start else "") + redacted + ("…" if end < len(text) else ""))
    return " / ".join(dict.fromkeys(pieces))


def _widened_past(findings, start: int, end: int, text: str = "") -> tuple[int, int]:
    """The window grown to whole words, and to take in whole any identifier that straddles
    its edges, so the identifier is masked as one, not cut into an unmasked tail."""
    while 0 < start < len(text) and text[start - 1].isalnum():
        start -= 1
    while 0 < end < len(text) and text[end].isalnum():
        end += 1
    for finding in findings:
        if finding.start < start < finding.end:
            start = finding.start
        if finding.start < end < finding.end:
            end = finding.end
    return start, end
