"""What the relative has told us about the person they worry about.

Only two coarse facts are kept: the relation ("son", "brother", ...) and the age group:
under 18, 18-20 or older. Both change which answer is right (LVU applies to children, and
to 18- and 19-year-olds for their own behaviour until 21; from 20 support is voluntary).
Exact ages, names and other details are never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.conversation import RELATIONS
from bot.text import fold

MINOR = "minor"
YOUNG_ADULT = "young_adult"
ADULT = "adult"
ADULT_AGE = 18
OLDER_ADULT_AGE = 21

# A relation only counts after a possessive ("min son", "mitt barnbarn", "var dotter").
_POSSESSIVE = r"(?:min|mitt|mina|var|vart|vara|hans|hennes)"
_RELATION_RE = re.compile(
    rf"\b{_POSSESSIVE}\s+(?:[\w-]+\s+)?({'|'.join(sorted(RELATIONS, key=len, reverse=True))})\b"
)

# Ages: "16 år", "16-årig", "16 åring", "(16)", "är 16", "fyllt 22".
_AGE_PATTERNS = [
    re.compile(r"\b(\d{1,2})\s*(?:-\s*)?(?:ar|arig\w*|aring\w*|arsaldern|bast)\b"),
    re.compile(r"\((\d{1,2})\)"),
    re.compile(r"\b(?:ar|fyllt|fyller|fyllde|blivit)\s+(\d{1,2})\b"),
]
_MINOR_WORDS = re.compile(
    r"\b(tonaring\w*|tonars\w*|hogstadie\w*|mellanstadie\w*|omyndig\w*|minderarig\w*"
    r"|under 18|inte fyllt 18|gar i (?:sjuan|attan|nian|ettan pa gymnasiet))\b"
)
_ADULT_WORDS = re.compile(r"\b(vuxen|vuxna|myndig|over 18|fyllt 18)\b")
_ADULT_RELATIONS = {"partner"}


@dataclass(frozen=True)
class PersonProfile:
    relation: str | None = None
    age_group: str | None = None


def _age_group_from_number(text: str) -> str | None:
    for pattern in _AGE_PATTERNS:
        for match in pattern.finditer(text):
            age = int(match.group(1))
            # Numbers below 5 are more likely counts ("2 år sedan" is caught below).
            if 5 <= age <= 99 and not _is_duration(text, match) and not _is_own(text, match):
                return _age_group(age)
    return None


_OWN_AGE_BEFORE = re.compile(r"\bjag\s+(?:ar\s+)?(?:bara\s+|sjalv\s+)?$")


def _is_own(text: str, match: re.Match[str]) -> bool:
    """'jag är 15 och orolig för min bror': the relative's own age, not the person's."""
    return bool(_OWN_AGE_BEFORE.search(text[max(0, match.start() - 16) : match.start()]))


def _age_group(age: int) -> str:
    if age < ADULT_AGE:
        return MINOR
    return YOUNG_ADULT if age < OLDER_ADULT_AGE else ADULT


def _is_duration(text: str, match: re.Match[str]) -> bool:
    """'för 2 år sedan', 'i tre år': a time span, not an age."""
    before = text[max(0, match.start() - 12) : match.start()]
    after = text[match.end() : match.end() + 8]
    return bool(_DURATION_BEFORE.search(before)) or "sedan" in after


# Words before a number that make it a time span: "i 3 år", "bott 5 år", "varit 2 år".
_DURATION_BEFORE = re.compile(
    r"\b(for|i|sedan|senaste|pa|under|efter|bott|varit|levt|pagatt|jobbat|suttit|hallit pa)\s*$"
)


def detect_relation(text: str) -> str | None:
    match = _RELATION_RE.search(fold(text))
    return RELATIONS[match.group(1)] if match else None


def detect_age_group(text: str) -> str | None:
    """The age group a message states, by number or by word; None when it states none."""
    folded = fold(text)
    by_number = _age_group_from_number(folded)
    if by_number:
        return by_number
    if _MINOR_WORDS.search(folded):
        return MINOR
    if _ADULT_WORDS.search(folded):
        return ADULT
    return None


def detect_profile(text: str) -> PersonProfile:
    return profile_of_conversation([text])


def profile_of_conversation(texts: list[str], known: PersonProfile | None = None) -> PersonProfile:
    """The newest relation and age group stated across the relative's messages, on top of
    what was `known` before (e.g. carried over from an earlier session). A partner is taken
    to be an adult only when no age is known at all."""
    relation, age_group = (known.relation, known.age_group) if known else (None, None)
    for text in texts:
        relation = detect_relation(text) or relation
        age_group = detect_age_group(text) or age_group
    if age_group is None and relation in _ADULT_RELATIONS:
        age_group = ADULT
    return PersonProfile(relation=relation, age_group=age_group)
