"""Multi-turn conversations as relatives write them (tests/data/dialogues.yml), through the
running bot: every turn within three messages, on the expected topic, with the expected
answers; follow-ups that only make sense in context are answered within the topic."""

from __future__ import annotations

import pytest

from bot.dialogue import MAX_BUBBLES_PER_TURN
from tests.support.servers import TEST_JWT_SECRET
from tools.transcripts import RestConversations, load_dialogues, run_dialogue

pytestmark = pytest.mark.slow

DIALOGUES = load_dialogues()


def test_there_are_enough_conversations_of_every_kind():
    assert len(DIALOGUES) >= 20
    assert {dialogue.channel for dialogue in DIALOGUES} >= {"web", "sms", "telegram"}
    assert sum(not dialogue.in_training for dialogue in DIALOGUES) >= 3
    assert sum(dialogue.transcript for dialogue in DIALOGUES) == 5


def with_known_issues(dialogues):
    return [
        pytest.param(
            dialogue,
            id=dialogue.id,
            marks=[pytest.mark.xfail(strict=True, reason=dialogue.known_issue)]
            if dialogue.known_issue
            else [],
        )
        for dialogue in dialogues
    ]


def risk_answered(responses: list[str]) -> bool:
    """An elevated answer or a safety question (not 112) took the turn."""
    return not any(name.startswith("utter_risk_acute") for name in responses) and any(
        name.startswith(("utter_risk_elevated", "utter_risk_check_")) for name in responses
    )


@pytest.mark.parametrize("dialogue", with_known_issues(DIALOGUES))
def test_every_turn_is_answered_as_expected(bot, dialogue):
    results = run_dialogue(RestConversations(bot.url, TEST_JWT_SECRET), dialogue)
    for number, (turn, result) in enumerate(zip(dialogue.turns, results, strict=True), 1):
        where = f"{dialogue.id}, turn {number} {turn.say!r}: {result.responses}"
        assert result.bubbles <= MAX_BUBBLES_PER_TURN, where
        assert not set(turn.absent) & set(result.responses), where
        if turn.or_risk and risk_answered(result.responses):
            continue
        assert all(name in result.responses for name in turn.expect), where
        assert not turn.any_of or set(turn.any_of) & set(result.responses), where
        if turn.topic:
            topics = [turn.topic] if isinstance(turn.topic, str) else turn.topic
            assert result.slots["current_topic"] in topics, where
        texts = " ".join(message.get("text") or "" for message in result.messages)
        assert "{" not in texts, where
