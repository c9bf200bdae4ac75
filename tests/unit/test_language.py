"""Which messages are in another language than Swedish (bot/nlu/language.py)."""

from __future__ import annotations

import pytest

from bot.nlu.language import is_other_language


@pytest.mark.parametrize(
    "text",
    [
        "My brother has joined a gang and I do not know what to do",
        "please help me, my son wants to go to Syria",
        "ابني يريد السفر إلى سوريا",
        "پسرم می خواهد به سوریه برود",
        "Wiilkayga ayaa raba inuu u safro Suuriya",
        "ወደይ ናብ ሶርያ ክኸይድ ይደሊ",
        "Oğlum Suriye'ye gitmek istiyor, ne yapmalıyım?",
        "Mój syn chce wyjechać do Syrii",
        "Мой сын хочет уехать в Сирию",
    ],
)
def test_other_languages_are_recognised(text):
    assert is_other_language(text)


@pytest.mark.parametrize(
    "text",
    [
        "kan soc ta mina barn",
        "min son har börjat umgås med nazister",
        "han sitter pa discord och delar memes hela dagarna",
        "vad hander om jag ringer polisen",
        "ar det olagligt att vara med i nmr",
        "Min son värvas via Snapchat",
        "livradd for min son",
        "ok",
        "hej",
        "IS",
        "thanks",
        "/ask_police",
        "kolla https://example.org/a-long-english-page-about-something",
    ],
)
def test_swedish_and_short_messages_are_not(text):
    assert not is_other_language(text)
