"""A safety net for logs: identifiers in any log line are masked before it is written.

Neither Vägvisaren nor Rasa logs message text at INFO level, but an exception from a
library can carry a piece of a message, in its message or in its traceback. The filter is
attached to every handler of every logger by the server entry points (bot/servers.py).
"""

from __future__ import annotations

import logging

from bot.privacy.redaction import redact

_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        # A traceback is text too (Rasa, Sanic and engineio log exceptions with it): it is
        # formatted here, masked, and kept as the record's exception text (issue 17).
        if record.exc_info:
            record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install() -> None:
    """On the handlers of the root logger and of every logger that has its own."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
                handler.addFilter(RedactingFilter())
