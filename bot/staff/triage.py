"""Triage at a glance: what the queue shows of each escalation beside its level (issue 20).

Pure pieces, no database and no words (the Swedish is in the templates and in the queue's
script): how long the relative has waited and how urgent that is, a one-line preview of
the redacted excerpt, the relative's presence in the web chat, and the queue's orders.

- Waiting time counts from `escalations.waiting_since` (the relative's first message no
  handler has answered) to the server's `now`, in whole minutes; the browser shows the
  server's figure, so a wrong clock on a handler's computer changes nothing.
- The preview is the first line of the excerpt, which is already the redacted signal words
  (bot/privacy/redaction.py): cut to PREVIEW_CHARS with an ellipsis. A request for a person
  without a signal has no excerpt; the template says so in words.
"""

from __future__ import annotations

from datetime import datetime

PREVIEW_CHARS = 100
ELLIPSIS = "…"

# The queue's orders (query parameter `sort`); the first is the default.
SORTS = ("level", "confirmed", "waiting")

# How urgent a waiting time is: a CSS class (wait-<name>) and, on the page, an icon and a word.
WAIT_NONE, WAIT_OK, WAIT_WARN, WAIT_ALERT = "none", "ok", "warn", "alert"

# conversation_presence: the web chat is open, was closed; None: nothing is known (a
# messaging channel, or the chat never connected).
PRESENT, LEFT = "here", "left"


def preview(excerpt: str | None) -> str:
    """The excerpt's first non-empty line, at most PREVIEW_CHARS long (with an ellipsis
    when cut); "" when there is no excerpt."""
    for line in (excerpt or "").splitlines():
        line = " ".join(line.split())
        if line:
            if len(line) <= PREVIEW_CHARS:
                return line
            return line[: PREVIEW_CHARS - 1].rstrip() + ELLIPSIS
    return ""


def waiting_minutes(since: datetime | None, now: datetime) -> int | None:
    """Whole minutes from `since` to `now`; None when nobody is waiting. Never negative:
    a row written by a server whose clock runs ahead is "0 min", not "-2 min"."""
    if since is None:
        return None
    return max(0, int((now - since).total_seconds() // 60))


def waiting_class(minutes: int | None, warn_minutes: int, alert_minutes: int) -> str:
    """none, ok, warn (from STAFF_WAIT_WARN_MINUTES) or alert (STAFF_WAIT_ALERT_MINUTES)."""
    if minutes is None:
        return WAIT_NONE
    if minutes >= alert_minutes:
        return WAIT_ALERT
    if minutes >= warn_minutes:
        return WAIT_WARN
    return WAIT_OK


def presence_of(sockets: int | None) -> str | None:
    """The relative's web chat from its socket count (None: no row, nothing known)."""
    if sockets is None:
        return None
    return PRESENT if sockets > 0 else LEFT


def sort_of(value: str | None) -> str:
    """A known order, or the default."""
    return value if value in SORTS else SORTS[0]
