"""Which milieu a conversation is about, from the relative's words: some services work
with one milieu only (Exit with white-power milieus), and a relative worried about a
jihadist son or a gang should not be sent there (blind round 2 of issue 16).

Unknown (no words for any milieu) keeps every service: the description says what each is for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.text import fold

WHITE_POWER = "white_power"
ISLAMIST = "islamist"
LEFT_WING = "left_wing"
GANGS = "gangs"
HONOUR = "honour"

# Folded (no å/ä/ö), whole words or word starts.
_WORDS = {
    WHITE_POWER: r"nazi\w*|nynazi\w*|vit makt|vitmakt\w*|hogerextrem\w*|nmr|nordiska motstand\w*"
    r"|hakkors\w*|rasist\w*|aktivklubb\w*",
    ISLAMIST: r"jihad\w*|islamist\w*|is|isis|daesh|kalifat\w*|hijra|syrien|al-shabaab|shabaab"
    r"|nasheed\w*|kuffar|kafir\w*|svarta flagg\w*|shahid\w*|salafi\w*",
    LEFT_WING: r"vansterextrem\w*|autonom\w*|antifa|anarkist\w*",
    GANGS: r"gang\w*|kriminell\w*|knark\w*|langa\w*|kurir\w*",
    HONOUR: r"heder\w*|hedersrelat\w*|gifta bort|giftas bort|bortgift\w*|tvangsgift\w*"
    r"|oskuld\w*|familjens rykte|slakten skams|kontrollerar (?:hennes|hans|min)",
}
_PATTERNS = {milieu: re.compile(rf"\b(?:{words})\b") for milieu, words in _WORDS.items()}


def milieus_of(texts: Iterable[str]) -> set[str]:
    folded = " ".join(fold(text or "") for text in texts)
    return {milieu for milieu, pattern in _PATTERNS.items() if pattern.search(folded)}
