"""HandoffPolicy: while a person from staff is in the conversation, the bot stays quiet.

With the slot `handoff` on (actions/handoff.py), every user message is answered with
`action_listen` only: the relative's words reach the handler through the tracker store,
and the bot does not talk over them. Risk screening still runs (it is part of
`action_extract_slots`, before any policy), and a few intents still go to the bot
(`pass_through_intents`, by default deleting the conversation).

It outranks RulePolicy (priority 6) only while handoff is on; otherwise it predicts nothing.
Configured in config.yml:

    policies:
      - name: bot.dialogue.handoff_policy.HandoffPolicy
      - name: bot.dialogue.handoff_policy.SafetyCheckPolicy

SafetyCheckPolicy, below, keeps the bot quiet in the same way for one turn: after the
relative answered the risk screening's safety question.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.conversation import HANDOFF_SLOT
from bot.dialogue import (
    CHECK_ANSWER_SLOT,
    CHECK_ANSWERED_SLOT,
    CHECK_SLOT,
    SUBJECTS_SLOT,
    TOPIC_ACTION,
    set_aside,
)
from bot.topics import TOPIC_INTENTS

EXTRACT_SLOTS = "action_extract_slots"


class _ListeningPolicy(Policy):
    """Predicts with certainty the action `_action` names (`action_listen` when
    `_keeps_quiet` says so), else nothing; nothing to train."""

    def train(
        self,
        training_trackers: list[TrackerWithCachedStates],
        domain: Domain,
        **kwargs: Any,
    ) -> Resource:
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        action = self._action(tracker)
        if action:
            probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities)

    def _action(self, tracker: DialogueStateTracker) -> str | None:
        return ACTION_LISTEN_NAME if self._keeps_quiet(tracker) else None

    def _keeps_quiet(self, tracker: DialogueStateTracker) -> bool:
        raise NotImplementedError


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class HandoffPolicy(_ListeningPolicy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 7, "pass_through_intents": ["delete_conversation"]}

    def _keeps_quiet(self, tracker: DialogueStateTracker) -> bool:
        if not tracker.get_slot(HANDOFF_SLOT):
            return False
        intent = _latest_intent(tracker)
        if intent in self.config.get("pass_through_intents", []):
            return False
        return _answering_a_user_message(tracker)


def _answering_a_user_message(tracker: DialogueStateTracker) -> bool:
    """Whether the newest turn is a user message no action has answered yet."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return True
        if isinstance(event, ActionExecuted) and event.action_name != EXTRACT_SLOTS:
            return False
    return False


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False
)
class SafetyCheckPolicy(_ListeningPolicy):
    """The risk screening's safety question stands alone, and so does its answer.

    - The risk action has just asked "tänker du på att ta ditt liv?" (slot `risk_check`
      is set only in the turn that asked it; the next message closes it): the bot adds
      nothing, so the question is not buried under an answer to the rest of the message.
    - The relative answered it ("ja", "nej", "vet inte"): the risk action has answered
      them, so a "ja" is not followed by "Bra. Vad vill du veta mer om?". A reply that
      also asks something (another intent) is answered as usual.

    - The relative wrote about their own suicide plan and got the 112 and Självmordslinjen
      answer: that answer stands alone too (not followed by "stöd för dig som anhörig").

    Asking for a person and deleting the conversation always pass through."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "priority": 7,
            "quiet_intents": ["affirm", "deny", "nlu_fallback", "out_of_scope", "thank"],
            "pass_through_intents": ["delete_conversation", "request_human"],
        }

    def _action(self, tracker: DialogueStateTracker) -> str | None:
        if self._answers_the_set_aside_question(tracker):
            return TOPIC_ACTION
        return super()._action(tracker)

    def _keeps_quiet(self, tracker: DialogueStateTracker) -> bool:
        intent = _latest_intent(tracker)
        if intent in self.config.get("pass_through_intents", []):
            return False
        just_asked = bool(tracker.get_slot(CHECK_SLOT)) or _own_suicide_crisis(tracker)
        answered = self._answered_in_words(tracker)
        if answered and tracker.latest_action_name == TOPIC_ACTION:
            return True  # the question the safety check set aside has just been answered
        return (just_asked or answered) and _answering_a_user_message(tracker)

    def _answered_in_words(self, tracker: DialogueStateTracker) -> bool:
        """The message only answered the safety question ("nej", "vet inte")."""
        return bool(tracker.get_slot(CHECK_ANSWERED_SLOT)) and _latest_intent(
            tracker
        ) in self.config.get("quiet_intents", [])

    def _answers_the_set_aside_question(self, tracker: DialogueStateTracker) -> bool:
        """After "nej", "inte nu" or "vet inte", the question the safety check set aside
        ("ska jag kolla hans mobil?") is answered; after "ja" the 112 answer stands alone."""
        return (
            self._answered_in_words(tracker)
            and tracker.get_slot(CHECK_ANSWER_SLOT) != "yes"
            and _answering_a_user_message(tracker)
            and set_aside_intent(tracker) in ANSWERED_AFTER_A_CHECK
        )


# The story itself was met by the risk answer; a question is answered once the check is.
ANSWERED_AFTER_A_CHECK = set(TOPIC_INTENTS) - {"share_worry", "request_human"}


def set_aside_intent(tracker: DialogueStateTracker) -> str | None:
    """The intent of the message the latest safety question was asked about."""
    turns = (
        ("user", "", event)
        if isinstance(event, UserUttered)
        else ("bot", (event.metadata or {}).get("utter_action") or "", event)
        for event in reversed(tracker.events)
        if isinstance(event, UserUttered | BotUttered)
    )
    message = set_aside(turns)
    return (message.intent or {}).get("name") if message else None


def _own_suicide_crisis(tracker: DialogueStateTracker) -> bool:
    return (
        tracker.get_slot("risk_in_message") == "acute"
        and "suicide" in (tracker.get_slot("risk_signals") or [])
        and "self" in (tracker.get_slot(SUBJECTS_SLOT) or [])
    )


def _latest_intent(tracker: DialogueStateTracker) -> str | None:
    return (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
