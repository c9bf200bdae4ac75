"""Rasa's own conversation tests, run on the model `make test` trained."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from bot.settings import PROJECT_ROOT
from tests.support.settings import settings

pytestmark = pytest.mark.slow

RASA = [sys.executable, "-m", "rasa"]


def run_rasa(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*RASA, *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **settings.rasa_environment()},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_conversation_stories_pass_without_prediction_errors(tmp_path):
    assert settings.model_path.exists(), "run `make test`, which trains the model first"
    result = run_rasa(
        "test",
        "core",
        "--model",
        str(settings.model_path),
        "--stories",
        "tests/conversations/test_stories.yml",
        "--e2e",
        "--fail-on-prediction-errors",
        "--out",
        str(tmp_path),
    )
    output = result.stdout + result.stderr
    failure = output[output.find("WrongPredictionException") :][:3000]
    assert result.returncode == 0, failure or output[-3000:]
    # Rasa reads only files named test_*.yml as test stories and passes on zero stories:
    # make sure every story and every action was really evaluated.
    story_count = (
        (PROJECT_ROOT / "tests/conversations/test_stories.yml").read_text().count("- story:")
    )
    correct = re.findall(r"Correct:\s+(\d+) / (\d+)", output)
    assert correct[0] == (str(story_count), str(story_count)), correct
    actions_correct, actions_total = correct[1]
    assert actions_correct == actions_total and int(actions_total) > 2 * story_count


def test_training_data_validates():
    result = run_rasa(
        "data", "validate", "--data", "data/nlu", "data/stories", "--fail-on-warnings"
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    # The only warnings allowed: responses that the custom actions send.
    unused = {
        line.split("'")[1]
        for line in result.stderr.splitlines()
        if "is not used in any story or rule" in line
    }
    sent_by_actions = {
        name
        for name in unused
        if name.startswith(
            (
                "utter_ask_affirmation_",
                "utter_contact",
                "utter_default",
                "utter_risk_",
                "utter_conversation_deleted_",
                "utter_privacy_notice_",
                "utter_anonymity_",
                "utter_handoff_",
                "utter_request_human",
                "utter_queue_wait_",  # actions/handoff.py: the place in the queue (issue 20)
                "utter_ask_delete_confirm",
                "utter_follow_up_",
                "utter_keep_safe_",
                "utter_share_worry_",
                "utter_situation_",  # bot/dialogue/situations.py
            )
        )
        or _without_age_group(name.removeprefix("utter_")) in _topics()
        or name
        in {
            "utter_who_reads",
            "utter_other_language",
            "utter_municipality_switchboard",
            "utter_ask_rephrase",
            "utter_out_of_scope",
            # action_answer_short_reply
            "utter_greet",
            "utter_main_menu",
            "utter_affirm",
            "utter_deny",
            "utter_thank",
            "utter_goodbye",
            "utter_bot_challenge",
        }
    }
    assert unused == sent_by_actions


def _without_age_group(name: str) -> str:
    """The topic of a topic answer or of its deeper step ("social_services_more_minor")."""
    for group in ("_minor", "_young_adult", "_adult"):
        name = name.split(group)[0]
    return name.removesuffix("_more")


def _topics() -> set[str]:
    from bot.topics import TOPIC_INTENTS, topic_for_intent

    return {topic_for_intent(intent) for intent in TOPIC_INTENTS}
