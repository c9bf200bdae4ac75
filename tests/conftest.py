"""Shared fixtures: a real domain, a dispatcher, and trackers built from messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.privacy.redaction import Redactor, load_redactor
from tests.support.settings import (
    configure,  # noqa: F401 (a fixture for every suite)
    settings,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    """The project's real domain, as the action server receives it."""
    return yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def redactor() -> Redactor:
    """The redactor as the servers build it, with the configured contacts' numbers."""
    return load_redactor(settings.contacts_file)


@pytest.fixture(scope="session")
def detector():
    """The risk patterns with the project's spaCy pipeline (bot.risk.RiskDetector), loaded
    once for the run: it takes a few seconds."""
    from bot.risk import RiskDetector

    return RiskDetector.from_files(settings.spacy_model, settings.risk_patterns_file)


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


def parsed_message(
    text: str, intent: str, ranking: list[tuple[str, float]] | None = None
) -> dict[str, Any]:
    ranking = ranking or [(intent, 0.95)]
    return {
        "text": text,
        "intent": {"name": intent, "confidence": ranking[0][1]},
        "intent_ranking": [{"name": name, "confidence": conf} for name, conf in ranking],
        "entities": [],
    }


@pytest.fixture
def make_tracker():
    """Builds a tracker whose latest message is `text` classified as `intent`."""

    def build(
        text: str = "hej",
        intent: str = "greet",
        slots: dict[str, Any] | None = None,
        ranking: list[tuple[str, float]] | None = None,
        sender_id: str = "test-conversation",
        bot_this_turn: tuple[str, ...] = (),
    ) -> Tracker:
        """`bot_this_turn`: responses earlier actions of the turn sent (the risk answer)."""
        message = parsed_message(text, intent, ranking)
        sent = [{"event": "bot", "metadata": {"utter_action": name}} for name in bot_this_turn]
        return Tracker(
            sender_id=sender_id,
            slots={"person_relation": None, "person_age_group": None, **(slots or {})},
            latest_message=message,
            events=[{"event": "user", "text": text, "parse_data": message}, *sent],
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )

    return build


def response_names(dispatcher: CollectingDispatcher) -> list[str]:
    """The responses sent, in order; a message that carries several lists them all."""
    return [
        name
        for message in dispatcher.messages
        for name in message.get("parts") or [message["response"]]
    ]
