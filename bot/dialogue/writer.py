"""What the relative says about themselves: whether they are under 18.

Bris is for children and young people under 18 (the brief); a parent who asks where to
get support for their own sake should not be sent there (blind round 2 of issue 16). A
fifteen-year-old writing about a brother should. The writer is taken to be under 18 only
when they say so, by age or by school year.
"""

from __future__ import annotations

import re

from bot.text import fold

_UNDER_18 = re.compile(
    r"\bjag (?:ar|e)\s+(?:bara\s+)?(1[0-7]|[7-9])\b(?!\s*(?:ar sedan|manader|veckor|dagar|timmar))"
    r"|\bjag gar i (?:sjuan|attan|nian|sexan|[6-9]:an|gymnasiet|ettan|tvaan|trean)\b"
    r"|\bmina foraldrar\b|\bjag ar (?:ett )?barn\b|\bjag ar inte 18\b|\bjag ar under 18\b"
)


def writer_is_minor(texts: list[str]) -> bool:
    return any(_UNDER_18.search(fold(text or "")) for text in texts)
