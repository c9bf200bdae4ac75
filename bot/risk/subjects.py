"""Who is at risk in a signal: the relative themself, the person they worry about, a child,
or others.

The answer and the contacts differ (the relative's own thoughts of dying are answered to
them, with Självmordslinjen first), and staff see it in the queue. It is read from the
words around the signal, with cue lists from the pattern file (`subjects:`):

- suicide: the nearest speaker before the signal or inside it, in its clause, then its
  sentence ("jag vill dö", "ta livet av mig" -> self; "han vill dö", "ta livet av sig" ->
  the person); with nobody named anywhere in the message ("orkar inte leva längre"), the
  writer speaks of themself;
- threats, weapons, attacks: the relative when they are the object ("hotar mig", "vid vår
  dörr"); a child when a child is named (threats); others when others are named;
- otherwise the category's default (`subjects.defaults`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the pattern file names these cue lists; only its type is needed here
    from bot.risk.patterns import Patterns

Spans = Callable[[tuple[str, ...]], list[tuple[int, int]]]

SPEAKER = "speaker"  # first-person words: jag, mig, mitt
OTHER_SPEAKER = "other_speaker"  # third-person words: han, hon, sig, sonen
HARMED_SELF = "harmed_self"  # the relative as the object: mig, oss, vår dörr
CHILD = "child"
THIRD_PARTY = "third_party"
CUE_NAMES = (SPEAKER, OTHER_SPEAKER, HARMED_SELF, CHILD, THIRD_PARTY)
CHILD_CATEGORIES = ("threat", "grooming", "travel")
OBJECT_CATEGORIES = ("threat", "weapons", "attack")


def subject_of(
    category: str, tokens, start: int, end: int, patterns: Patterns, spans: Spans
) -> str:
    cues = patterns.subject_cues
    default = patterns.subject_defaults.get(category, "person")
    sentence = {i for i in range(len(tokens)) if tokens.sentence_of[i] == tokens.sentence_of[start]}

    def in_sentence(name: str) -> bool:
        return any(first in sentence for first, _ in spans(cues.get(name, ())))

    if category == "suicide":
        return _speaker(tokens, start, end, cues, spans) or default
    if category in OBJECT_CATEGORIES and in_sentence(HARMED_SELF):
        return "self"
    if category in CHILD_CATEGORIES and in_sentence(CHILD):
        return "child"
    if category == "threat" and in_sentence(THIRD_PARTY):
        return "third_party"
    return default


def _speaker(tokens, start: int, end: int, cues: dict, spans: Spans) -> str | None:
    """The nearest speaker inside the signal or before it, in its clause, then its
    sentence, then the message; "self" when the message names nobody else at all."""
    own = {first for first, _ in spans(cues.get(SPEAKER, ()))}
    other = {first for first, _ in spans(cues.get(OTHER_SPEAKER, ()))}
    whole = [0] * len(tokens)
    for unit in (tokens.clause_of, tokens.sentence_of, whole):
        positions = [i for i in range(len(tokens)) if unit[i] == unit[start] and i < end]
        for position in reversed(positions):
            if position in own:
                return "self"
            if position in other:
                return "person"
    return None if other else "self"
