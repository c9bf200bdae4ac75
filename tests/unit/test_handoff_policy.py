"""HandoffPolicy: quiet while a person from staff is in the conversation."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.dialogue.handoff_policy import HandoffPolicy, SafetyCheckPolicy
from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(PROJECT_ROOT / "domain.yml")


def created(policy_class, tmp_path):
    return policy_class.create(
        policy_class.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource(policy_class.__name__),
        ExecutionContext(GraphSchema({})),
    )


@pytest.fixture
def policy(tmp_path) -> HandoffPolicy:
    return created(HandoffPolicy, tmp_path)


def tracker(domain: Domain, handoff: bool, intent: str = "share_worry", answered: bool = False):
    conversation = DialogueStateTracker("relative", domain.slots)
    conversation.update(ActionExecuted(ACTION_LISTEN_NAME))
    conversation.update(SlotSet("handoff", handoff))
    conversation.update(
        UserUttered("min son vill åka", intent={"name": intent, "confidence": 0.9}), domain
    )
    conversation.update(ActionExecuted("action_extract_slots"))
    if answered:
        conversation.update(ActionExecuted("action_delete_conversation"))
        conversation.update(BotUttered("Klart."))
    return conversation


def predicted(policy, domain, conversation) -> str | None:
    prediction = policy.predict_action_probabilities(conversation, domain)
    if max(prediction.probabilities) == 0:
        return None
    return domain.action_names_or_texts[
        prediction.probabilities.index(max(prediction.probabilities))
    ]


def test_with_a_person_in_the_conversation_the_bot_only_listens(policy, domain):
    assert predicted(policy, domain, tracker(domain, handoff=True)) == ACTION_LISTEN_NAME
    assert policy.priority > 6  # above RulePolicy


def test_without_a_person_the_policy_predicts_nothing(policy, domain):
    assert predicted(policy, domain, tracker(domain, handoff=False)) is None


def test_deleting_the_conversation_still_reaches_the_bot(policy, domain):
    conversation = tracker(domain, handoff=True, intent="delete_conversation")
    assert predicted(policy, domain, conversation) is None


def test_once_an_action_answered_the_policy_steps_aside(policy, domain):
    conversation = tracker(domain, handoff=True, answered=True)
    assert predicted(policy, domain, conversation) is None


# -- SafetyCheckPolicy: the safety question and its answer stand alone ------------------------


@pytest.fixture
def check_policy(tmp_path) -> SafetyCheckPolicy:
    return created(SafetyCheckPolicy, tmp_path)


def checked(domain: Domain, intent: str, **slots) -> DialogueStateTracker:
    conversation = DialogueStateTracker("relative", domain.slots)
    conversation.update(ActionExecuted(ACTION_LISTEN_NAME))
    conversation.update(UserUttered("ja", intent={"name": intent, "confidence": 0.9}), domain)
    conversation.update(ActionExecuted("action_extract_slots"))
    for name, value in slots.items():
        conversation.update(SlotSet(name, value))
    return conversation


def test_the_turn_that_asks_the_safety_question_adds_nothing_else(check_policy, domain):
    conversation = checked(domain, "ask_support_for_me", risk_check="suicide")
    assert predicted(check_policy, domain, conversation) == ACTION_LISTEN_NAME


def test_a_yes_to_the_question_is_not_followed_by_the_bare_yes_answer(check_policy, domain):
    conversation = checked(domain, "affirm", risk_check_answered=True)
    assert predicted(check_policy, domain, conversation) == ACTION_LISTEN_NAME


def test_an_answer_that_also_asks_something_is_answered(check_policy, domain):
    conversation = checked(domain, "ask_social_services", risk_check_answered=True)
    assert predicted(check_policy, domain, conversation) is None


@pytest.mark.parametrize("intent", ["request_human", "delete_conversation"])
def test_asking_for_a_person_or_deleting_always_passes(check_policy, domain, intent):
    conversation = checked(domain, intent, risk_check="suicide")
    assert predicted(check_policy, domain, conversation) is None


def test_without_a_safety_question_the_policy_predicts_nothing(check_policy, domain):
    assert predicted(check_policy, domain, checked(domain, "affirm")) is None


def test_the_answer_to_the_relatives_own_suicide_plan_stands_alone(check_policy, domain):
    conversation = checked(
        domain,
        "ask_support_for_me",
        risk_in_message="acute",
        risk_signals=["suicide"],
        risk_subjects=["self"],
    )
    assert predicted(check_policy, domain, conversation) == ACTION_LISTEN_NAME
    other = checked(domain, "ask_police", risk_in_message="acute", risk_signals=["travel"])
    assert predicted(check_policy, domain, other) is None


def answered_after_a_question(
    domain: Domain, asked_about: str, answer: str = "no"
) -> DialogueStateTracker:
    """A question on `asked_about`, the bot's safety question, then "nej"."""
    conversation = DialogueStateTracker("relative", domain.slots)
    conversation.update(ActionExecuted(ACTION_LISTEN_NAME))
    conversation.update(
        UserUttered("ska jag kolla hans mobil", intent={"name": asked_about, "confidence": 0.9}),
        domain,
    )
    conversation.update(ActionExecuted("action_extract_slots"))
    conversation.update(
        BotUttered("Jag vill fråga rakt ut", metadata={"utter_action": "utter_risk_check_danger"})
    )
    conversation.update(ActionExecuted(ACTION_LISTEN_NAME))
    conversation.update(UserUttered("nej", intent={"name": "deny", "confidence": 0.9}), domain)
    conversation.update(ActionExecuted("action_extract_slots"))
    conversation.update(SlotSet("risk_check_answered", True))
    conversation.update(SlotSet("risk_check_answer", answer))
    conversation.update(BotUttered("Tack", metadata={"utter_action": "utter_risk_check_no"}))
    return conversation


def test_after_no_the_question_the_safety_check_set_aside_is_answered(check_policy, domain):
    conversation = answered_after_a_question(domain, "ask_online")
    assert predicted(check_policy, domain, conversation) == "action_answer_topic"
    conversation.update(ActionExecuted("action_answer_topic"))
    assert predicted(check_policy, domain, conversation) == ACTION_LISTEN_NAME


@pytest.mark.parametrize(("asked_about", "answer"), [("ask_online", "yes"), ("share_worry", "no")])
def test_after_yes_or_after_a_story_the_answer_stands_alone(
    check_policy, domain, asked_about, answer
):
    conversation = answered_after_a_question(domain, asked_about, answer)
    assert predicted(check_policy, domain, conversation) == ACTION_LISTEN_NAME
