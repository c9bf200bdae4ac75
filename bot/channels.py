"""Input channels. Same URLs and protocol as Rasa's own, with stricter input checks."""

from __future__ import annotations

from typing import Any

from rasa.core.channels.rest import RestInput
from sanic.exceptions import InvalidUsage
from sanic.request import Request

MAX_SENDER_LENGTH = 128


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
        return sender

    def _extract_message(self, req: Request) -> str | None:
        message = self._body(req).get("message")
        if message is not None and not isinstance(message, str):
            raise InvalidUsage("'message' must be a string.")
        return message
