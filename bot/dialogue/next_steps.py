"""Guided next steps: the quick replies that end a topic's answer (data/texts/next_steps.yml).

Each topic lists two or three natural next questions as buttons: the web chat and
Telegram show them as buttons, SMS and WhatsApp as numbered choices
(bot/channels/rendering.py). A button's payload is a topic intent ("/ask_confidentiality")
or the deeper step of a topic ("/follow_up{"topic":"social_services"}").
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import yaml

from bot.dialogue.follow_up import FOLLOW_UP_INTENT, TOPIC_ENTITY
from bot.settings import PROJECT_ROOT

NEXT_STEPS_FILE = PROJECT_ROOT / "data/texts/next_steps.yml"
MAX_BUTTONS = 3

Button = dict[str, str]


@cache
def load_next_steps(path: Path = NEXT_STEPS_FILE) -> dict[str, list[Button]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))["next_steps"]
    return {topic: [dict(button) for button in buttons] for topic, buttons in data.items()}


def deeper_payload(topic: str) -> str:
    return f"/{FOLLOW_UP_INTENT}" + json.dumps({TOPIC_ENTITY: topic}, separators=(",", ":"))


def next_steps(topic: str, without_deeper: bool = False) -> list[Button]:
    """The topic's quick replies; `without_deeper` leaves out its own deeper step (already
    given)."""
    buttons = load_next_steps().get(topic, [])
    if without_deeper:
        buttons = [button for button in buttons if button["payload"] != deeper_payload(topic)]
    return buttons[:MAX_BUTTONS]
