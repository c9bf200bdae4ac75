"""Two-stage fallback: ask whether we guessed the topic right, in Swedish.

Rasa's built-in `action_default_ask_affirmation` asks in English using the intent's
name; this one picks the domain response `utter_ask_affirmation_<intent>` for the most
likely intent, or asks the relative to rephrase when there is no such response.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import answer_open_question, answer_situation
from actions.base import ResponseAction, has_response, risk_answered_this_turn

FALLBACK_INTENT = "nlu_fallback"

# When the message was answered after all (a situation, the risk answer), the two-stage
# fallback must not wait for a "did you mean" reply: Rasa would take the next message as the
# rephrasing, revert it and run it again, and the risk screening would answer it twice.
END_THE_FALLBACK = [ActiveLoop(None), FollowupAction("action_listen")]


def best_guess_intent(latest_message: dict[str, Any]) -> str | None:
    for ranked in latest_message.get("intent_ranking") or []:
        if ranked.get("name") != FALLBACK_INTENT:
            return ranked.get("name")
    return None


class ActionDefaultAskAffirmation(ResponseAction):
    def name(self) -> str:
        return "action_default_ask_affirmation"

    keeps_safety_in_focus = True

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        answered = answer_situation(self, dispatcher, tracker, domain)
        if answered is not None:
            # Not understood as a topic, but the words name a situation with its answer.
            return [*answered, *END_THE_FALLBACK]
        if answer_open_question(self, dispatcher, tracker):
            return END_THE_FALLBACK
        if risk_answered_this_turn(tracker):
            # The risk answer of this turn replied to the message: no "did you mean" after
            # it (the relative who just wrote about wanting to die must not read "I did not
            # understand").
            return END_THE_FALLBACK
        guess = best_guess_intent(tracker.latest_message)
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
        answered = answer_situation(self, dispatcher, tracker, domain)
        if answered is not None:
            return [*answered, *END_THE_FALLBACK]
        if risk_answered_this_turn(tracker):
            # Understood well enough: the risk answer replied, and the message (with the
            # signal it carried) must stay in the conversation.
            return []
        self.utter(dispatcher, "utter_default")
        # Forget the message we could not understand, so it does not steer what follows.
        return [UserUtteranceReverted()]
