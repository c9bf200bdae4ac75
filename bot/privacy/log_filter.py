"""A safety net for logs: identifiers in any log line are masked before it is written.

Neither Vägvisaren nor Rasa logs message text at INFO level, but an exception from a
library can carry a piece of a message. The filter is attached to every handler of the
root logger by the server entry points (bot/servers.py).
"""

from __future__ import annotations

import logging

from bot.privacy.redaction import redact


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install() -> None:
    for handler in logging.getLogger().handlers:
        if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
            handler.addFilter(RedactingFilter())
