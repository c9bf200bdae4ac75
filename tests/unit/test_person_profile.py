"""Relation and under-18/adult detection from what the relative writes."""

from __future__ import annotations

import pytest

from bot.person_profile import (
    ADULT,
    MINOR,
    YOUNG_ADULT,
    detect_age_group,
    detect_profile,
    detect_relation,
    profile_of_conversation,
)


@pytest.mark.parametrize(
    ("text", "relation", "age_group"),
    [
        ("min son är 16 och har börjat umgås med nazister", "child", MINOR),
        ("Min dotter (22) har konverterat och pratar om kalifatet", "child", ADULT),
        ("min bror som är 19 år har gått med i ett gäng", "sibling", YOUNG_ADULT),
        ("min 16-årige son har nya kompisar", "child", MINOR),
        ("mitt barnbarn går på högstadiet", "grandchild", MINOR),
        ("min son fyllde 20 i våras", "child", YOUNG_ADULT),
        ("min son har fyllt 21", "child", ADULT),
        ("jag är 15 och orolig för min bror", "sibling", None),
        ("jag är orolig för min man", "partner", ADULT),
        ("min son 15 ar", "child", MINOR),
        ("min lillebror ar 17 och pratar om rasekrig", "sibling", MINOR),
        ("hej", None, None),
        ("vad händer om soc kommer", None, None),
    ],
)
def test_detect_profile(text, relation, age_group):
    profile = detect_profile(text)
    assert (profile.relation, profile.age_group) == (relation, age_group)


@pytest.mark.parametrize(
    "text",
    [
        "för 2 år sedan började han prata om det",
        "han har varit med i tre år",
        "hon har bott 5 år i Turkiet",
        "det har pågått i 10 år",
    ],
)
def test_durations_are_not_ages(text):
    assert detect_age_group(text) is None


def test_relation_needs_a_possessive():
    # "son" alone is too ambiguous; "min son" is not.
    assert detect_relation("en son till grannen") is None
    assert detect_relation("min son") == "child"


def test_words_signal_age_group():
    assert detect_age_group("han är bara en tonåring") == MINOR
    assert detect_age_group("hon är vuxen nu") == ADULT
    assert detect_age_group("han är myndig") == ADULT


def test_stated_age_beats_the_partner_guess_in_later_messages():
    profile = profile_of_conversation(["min pojkvän är 17", "vad gör soc"])
    assert (profile.relation, profile.age_group) == ("partner", MINOR)


def test_known_age_beats_the_partner_guess():
    from bot.person_profile import PersonProfile

    profile = profile_of_conversation(["min man"], known=PersonProfile(age_group=MINOR))
    assert (profile.relation, profile.age_group) == ("partner", MINOR)
