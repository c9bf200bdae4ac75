"""Which milieu a conversation is about, from the relative's words (bot/dialogue/milieu.py)."""

from __future__ import annotations

import pytest

from bot.dialogue.milieu import milieus_of


@pytest.mark.parametrize(
    ("text", "milieus"),
    [
        ("min son umgås med nazister", {"white_power"}),
        ("han har ritat hakkors på bänken", {"white_power"}),
        ("han vill åka till Syrien", {"islamist"}),
        ("han kollar på nasheeds och säger att vi är kuffar", {"islamist"}),
        ("han har ett stort nätverk av vänner", set()),
        ("hon är med i en autonom grupp", {"left_wing"}),
        ("min son är med i ett gäng och langar", {"gangs"}),
        ("min son mår dåligt och sover inte", set()),
    ],
)
def test_the_milieu_is_read_from_the_relatives_words(text, milieus):
    assert milieus_of([text]) == milieus
