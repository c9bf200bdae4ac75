"""Two-stage fallback: answer the likely question, or ask whether we guessed right.

Rasa's built-in `action_default_ask_affirmation` asks in English using the intent's
name. A counsellor answers a question they half understood rather than ask "did you mean
...?" (blind round 3: "Förlåt, jag förstod inte" to clear questions scored nothing), so a
message whose likeliest intent is a topic, with some confidence, gets that topic's answer;
otherwise this asks with `utter_ask_affirmation_<intent>`, or asks the relative to
rephrase when there is no such response.
"""

from __future__ import annotations

import copy
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import ActionAnswerTopic, answer_open_question, answer_situation
from actions.base import ResponseAction, has_response, risk_answered_this_turn
from bot.dialogue.follow_up import FOLLOW_UP_INTENT
from bot.topics import TOPIC_INTENTS

FALLBACK_INTENT = "nlu_fallback"

# When the message was answered after all (a situation, the risk answer), the two-stage
# fallback must not wait for a "did you mean" reply: Rasa would take the next message as the
# rephrasing, revert it and run it again, and the risk screening would answer it twice.
END_THE_FALLBACK = [ActiveLoop(None), FollowupAction("action_listen")]


# A topic guessed at least this surely is answered instead of asked about, when it is
# clearly ahead of the next guess or there is no "did you mean" question for it.
ANSWER_THE_GUESS_FROM = 0.25
CLEAR_LEAD = 0.15
# An unclear message at least this long is taken as the relative's story.
A_STORY_FROM_WORDS = 15


def best_guess(latest_message: dict[str, Any]) -> tuple[str | None, float]:
    guesses = _guesses(latest_message)
    return guesses[0] if guesses else (None, 0.0)


def _guesses(latest_message: dict[str, Any]) -> list[tuple[str | None, float]]:
    return [
        (ranked.get("name"), float(ranked.get("confidence") or 0.0))
        for ranked in latest_message.get("intent_ranking") or []
        if ranked.get("name") != FALLBACK_INTENT
    ]


def _clear_lead(latest_message: dict[str, Any]) -> bool:
    """Whether the likeliest intent is well ahead of the next ("soc?? polis??" is not)."""
    guesses = _guesses(latest_message)
    runner_up = guesses[1][1] if len(guesses) > 1 else 0.0
    return bool(guesses) and guesses[0][1] - runner_up >= CLEAR_LEAD


async def answer_the_guess(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
) -> list[dict[str, Any]] | None:
    """The topic answer for the likeliest topic (or follow-up) of an unclear message;
    None when the guess is no topic or too unsure."""
    intent, confidence = best_guess(tracker.latest_message)
    clear = (
        intent in (*TOPIC_INTENTS, FOLLOW_UP_INTENT)
        and confidence >= ANSWER_THE_GUESS_FROM
        and (
            not has_response(domain, f"utter_ask_affirmation_{intent}")
            or _clear_lead(tracker.latest_message)
        )
    )
    if not clear:
        if len((tracker.latest_message.get("text") or "").split()) < A_STORY_FROM_WORDS:
            return None
        # A long message the classifier could not place is a story: it is heard, with a
        # choice of directions, not met with "förstod inte" (blind round 4).
        intent, confidence = "share_worry", confidence
    guessed = copy.copy(tracker)
    guessed.latest_message = {
        **tracker.latest_message,
        "intent": {"name": intent, "confidence": confidence},
    }
    events = await ActionAnswerTopic().answer(dispatcher, guessed, domain)
    return events if dispatcher.messages else None


async def answered_after_all(
    action: ResponseAction,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    open_question: bool = False,
) -> list[dict[str, Any]] | None:
    """The events that end the fallback when the unclear message was answered after all:
    by its situation, (with `open_question`) as a reply to the story's open question, by
    this turn's risk answer (no "I did not understand" after it, and the message with its
    signal stays), or as its likeliest topic; None when nothing answered it.

    The answered message must not leave the fallback waiting: Rasa would take the next
    message as its rephrasing and run it twice, or, after the last stage, run that stage
    again until its limit and leave the next message unanswered (blind rounds 3 and 4)."""
    answered = answer_situation(action, dispatcher, tracker, domain)
    if answered is None and open_question and answer_open_question(action, dispatcher, tracker):
        answered = []
    if answered is None and risk_answered_this_turn(tracker):
        answered = []
    if answered is None:
        answered = await answer_the_guess(dispatcher, tracker, domain)
    return None if answered is None else [*answered, *END_THE_FALLBACK]


class ActionDefaultAskAffirmation(ResponseAction):
    def name(self) -> str:
        return "action_default_ask_affirmation"

    keeps_safety_in_focus = True

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        answered = await answered_after_all(self, dispatcher, tracker, domain, open_question=True)
        if answered is not None:
            return answered
        guess, _confidence = best_guess(tracker.latest_message)
        response = f"utter_ask_affirmation_{guess}"
        if guess and has_response(domain, response):
            self.utter(dispatcher, response)
        else:
            self.utter(dispatcher, "utter_ask_rephrase")
        return []


class ActionDefaultFallback(ResponseAction):
    """Last stage of the fallback: like Rasa's own, but `utter_default` can name the
    configured emergency number."""

    keeps_safety_in_focus = True

    def name(self) -> str:
        return "action_default_fallback"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        answered = await answered_after_all(self, dispatcher, tracker, domain)
        if answered is not None:
            return answered
        self.utter(dispatcher, "utter_default")
        # Forget the message we could not understand, so it does not steer what follows.
        return [UserUtteranceReverted()]
