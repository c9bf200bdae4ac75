"""Consistency of domain, rules and actions: every text the relative can see is reachable
and every placeholder in it can be filled."""

from __future__ import annotations

import re
from collections import Counter

import yaml

from bot.settings import PROJECT_ROOT
from bot.topics import TOPIC_INTENTS
from tests.support.nlu_data import training_examples

PLACEHOLDER = re.compile(r"\{(\w+)\}")
FIXED_INTENTS = {
    "greet", "goodbye", "thank", "affirm", "deny", "bot_challenge", "out_of_scope",
    "ask_anonymity", "request_human", "ask_social_services", "ask_child_custody", "ask_police",
    "ask_how_to_report", "ask_confidentiality", "ask_warning_signs", "ask_how_to_talk",
    "ask_support_for_me", "ask_leaving_support", "ask_returnee", "ask_contacts", "share_worry",
    "delete_conversation",  # issue 4: "radera mitt samtal"
    # issue 15: the questions relatives really ask, the rest of the menu, other languages
    "ask_gangs", "ask_honour", "ask_own_safety", "ask_school", "ask_online", "ask_legal",
    "show_more_topics", "other_language",
    "follow_up",  # issue 16: "konkret?", "vad händer om jag ringer dit?"
}  # fmt: skip
# Set by bot.nlu.language.OtherLanguageClassifier, never by the trained classifier.
NOT_TRAINED = {"other_language"}
NEW_TOPICS = {"ask_gangs", "ask_honour", "ask_own_safety", "ask_school", "ask_online", "ask_legal"}


def rule_steps():
    rules = yaml.safe_load((PROJECT_ROOT / "data/stories/rules.yml").read_text())["rules"]
    return [step for rule in rules for step in rule["steps"]]


def test_intents_are_the_fixed_interface(domain):
    assert set(domain["intents"]) == FIXED_INTENTS


def test_every_intent_has_at_least_40_training_examples():
    counts = Counter(intent for intent, _ in training_examples())
    assert set(counts) == FIXED_INTENTS - NOT_TRAINED
    assert min(counts.values()) >= 40, counts
    assert min(counts[intent] for intent in NEW_TOPICS) >= 60, counts


def test_responses_sent_directly_by_rules_have_no_placeholders(domain):
    """Rasa can fill placeholders only from slots; ours come from the custom actions."""
    direct = {
        step["action"] for step in rule_steps() if step.get("action", "").startswith("utter_")
    }
    for name in direct:
        for variation in domain["responses"][name]:
            assert not PLACEHOLDER.search(variation["text"]), name


# Asked alone, "kan jag prata med en människa?" has an action of its own, which checks for an
# available handler (actions/handoff.py); inside a multi-question message it is a topic.
OWN_ACTION = {"request_human": "action_request_human"}


def test_every_topic_intent_is_answered_by_the_topic_action():
    steps = rule_steps()
    for index, step in enumerate(steps):
        if step.get("intent") in TOPIC_INTENTS:
            expected = OWN_ACTION.get(step["intent"], "action_answer_topic")
            assert steps[index + 1] == {"action": expected}, step


def test_the_menu_is_short_and_the_other_topics_are_behind_more_topics(domain):
    """An SMS shows the menu as a numbered list: a few choices first, "Fler ämnen" last."""
    top = domain["responses"]["utter_main_menu"][0]["buttons"]
    more = domain["responses"]["utter_more_topics"][0]["buttons"]
    assert 5 <= len(top) <= 7 and top[-1]["payload"] == "/show_more_topics"
    payloads = {button["payload"].removeprefix("/") for button in top + more}
    assert payloads <= FIXED_INTENTS
    assert payloads >= set(TOPIC_INTENTS) - {"ask_anonymity", "ask_returnee", "share_worry"}


def test_every_affirmation_response_belongs_to_a_topic_intent(domain):
    names = [name for name in domain["responses"] if name.startswith("utter_ask_affirmation_")]
    assert {name.removeprefix("utter_ask_affirmation_") for name in names} == set(TOPIC_INTENTS)


def test_the_action_server_serves_exactly_the_domains_custom_actions(domain):
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    custom = {name for name in domain["actions"] if name.startswith("action_")}
    assert set(executor.actions) == custom
