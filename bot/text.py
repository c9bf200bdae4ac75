"""Small text helpers shared by the detectors."""

from __future__ import annotations

import unicodedata

_FOLD = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "ü": "u"})


def fold(text: str) -> str:
    """Lower-case and fold å/ä/ö, the way relatives often type on foreign keyboards."""
    return unicodedata.normalize("NFC", text).lower().translate(_FOLD)
