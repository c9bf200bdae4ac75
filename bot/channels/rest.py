"""Rasa's REST channel (POST /webhooks/rest/webhook), same URL and protocol, with stricter
input checks and one chat message per response."""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import response
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from bot.channels.abuse_limits import paced, process_limits, source_of
from bot.channels.input_limits import bounded, channel_answer, usable_id

logger = logging.getLogger(__name__)

MAX_SENDER_LENGTH = 128


# Rasa's web outputs cut a text at every blank line into separate chat messages. Here one
# response is one message, its paragraphs kept (the widget shows line breaks), so a turn
# is as many messages as the answers say (at most three, issue 16), on the web as in SMS
# and Telegram.


class WholeMessagesCollector(CollectingOutputChannel):
    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._persist_message(self._message(recipient_id, text=text.strip()))


class CheckedRestInput(RestInput):
    """Rasa's REST channel (POST /webhooks/rest/webhook), but a body that is not a JSON
    object with a string `sender` gets a 400 instead of an internal server error."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        body = request.json
        if not isinstance(body, dict):
            raise InvalidUsage("The body must be a JSON object with 'sender' and 'message'.")
        return body

    async def _extract_sender(self, req: Request) -> str | None:
        sender = self._body(req).get("sender")
        if sender is not None and (not isinstance(sender, str) or len(sender) > MAX_SENDER_LENGTH):
            raise InvalidUsage(
                f"'sender' must be a string of at most {MAX_SENDER_LENGTH} characters."
            )
        if not usable_id(sender):
            raise InvalidUsage("'sender' must be printable text.")
        return sender

    def blueprint(self, on_new_message):
        async def whole_messages(message: UserMessage) -> None:
            # Rasa's route builds its own collector: it is given ours (same state, one
            # method changed), so the JSON answer lists one message per response.
            if type(message.output_channel) is CollectingOutputChannel:
                message.output_channel.__class__ = WholeMessagesCollector
            await on_new_message(message)

        from bot.bootstrap import services

        settings = services().settings
        limits = process_limits()
        blueprint = super().blueprint(
            paced(bounded(whole_messages, settings.max_message_chars), limits.per_conversation)
        )

        @blueprint.middleware("request")
        async def limit_per_source(request: Request):
            if request.method == "POST" and not limits.per_source.allow(source_of(request)):
                return response.json([{"text": channel_answer("too_fast")}], status=429)
            return None

        return blueprint

    def _extract_message(self, req: Request) -> str | None:
        message = self._body(req).get("message")
        if not isinstance(message, str):
            raise InvalidUsage("'message' must be a string.")
        return message
