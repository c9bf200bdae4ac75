"""A safety net for logs: identifiers in any log line are masked before it is written.

Neither Vägvisaren nor Rasa logs message text at INFO level, but an exception from a
library can carry a piece of a message, in its message or in its traceback. The filter is
attached to every handler of every logger by the server entry points (bot/servers.py).
"""

from __future__ import annotations

import logging

from bot.privacy.redaction import Redactor

_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor.redact
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


def install(redactor: Redactor) -> None:
    """On the handlers of the root logger and of every logger that has its own."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(existing, RedactingFilter) for existing in handler.filters):
                handler.addFilter(RedactingFilter(redactor))


# Keys of Rasa's structured log events that can hold what a relative wrote (the list Rasa's
# own anonymiser uses, rasa.utils.log_utils._anonymizer).
MESSAGE_KEYS = (
    "text", "response_text", "user_text", "slot_values", "parse_data_text",
    "parse_data_entities", "prediction_events", "tracker_latest_message", "prefilled_slots",
    "message", "response", "slot_candidates", "rasa_event", "rasa_events", "tracker_states",
    "current_states", "old_states", "successes", "current_entity", "next_entity", "states",
    "entity", "token_text", "user_message", "json_message",
)  # fmt: skip


def _without_message_text(_logger, _name, event_dict: dict) -> dict:
    for key in MESSAGE_KEYS:
        if key in event_dict:
            event_dict[key] = "[utelämnat]"
    return event_dict


def keep_rasa_structlog_free_of_message_text() -> None:
    """Rasa's structured logs (structlog) do not pass through the filter's masking as
    fields: when a message fails, Rasa's REST channel logs `text=` and a traceback with
    every frame's local variables, the relative's message and the conversation id among
    them (issue 17, `make fuzz`). After rasa.utils.log_utils.configure_structlog: message
    fields are replaced, and tracebacks are kept without local variables."""
    import structlog
    from rasa.utils import log_utils
    from structlog.tracebacks import ExceptionDictTransformer

    without_locals = structlog.processors.ExceptionRenderer(
        ExceptionDictTransformer(show_locals=False)
    )
    replacements = {
        id(log_utils._anonymizer): _without_message_text,
        id(structlog.processors.dict_tracebacks): without_locals,
    }
    processors = structlog.get_config()["processors"]
    structlog.configure(
        processors=[replacements.get(id(processor), processor) for processor in processors]
    )
