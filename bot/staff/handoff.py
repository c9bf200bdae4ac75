"""Live handoff from the dashboard: a handler joins a relative's conversation, writes to
them, and hands back to the bot or ends the conversation.

Everything goes through Rasa's HTTP API (JWT, RASA_INTERNAL_URL), so it works whichever
Rasa server the request lands on:
- join / hand back / end: `POST /conversations/<id>/execute?output_channel=latest` runs
  action_handoff_start / _end / _close (actions/handoff.py); their messages go out in the
  channel the relative last wrote from.
- a handler's message: `POST /conversations/<id>/tracker/events?output_channel=latest&
  execute_side_effects=true` with a bot event marked `{"custom": {"sender": "staff"}}`; it
  is stored (redacted) in the conversation and sent to the relative. The socket.io channel
  sends it as one message with `"sender": "staff"` (bot/channels/socketio.py).

A web chat lives in one Rasa server's memory; with several servers, SOCKET_REDIS_URL lets
every server's socket.io reach every browser (bot/channels/socketio.py).
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import aiohttp

from bot.conversation import NOT_DELIVERED, STAFF_MARK, UNREACHABLE
from bot.rasa_client import service_token

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15
MAX_MESSAGE_CHARS = 2000


class HandoffError(RuntimeError):
    """Rasa could not be reached or refused; `code` names it for the dashboard."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _why_refused(body: str) -> str:
    """A messaging relative who cannot be reached is told apart (bot/channels/messaging.py)."""
    for code in (UNREACHABLE, NOT_DELIVERED):
        if code in body:
            return code
    return "rasa_refused"


class RasaConversations:
    def __init__(self, base_url: str, jwt_secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.jwt_secret = jwt_secret

    async def execute(self, conversation_id: str, action: str) -> None:
        await self._post(
            f"/conversations/{quote(conversation_id, safe='')}/execute",
            {"output_channel": "latest"},
            {"name": action},
        )

    async def send_staff_message(self, conversation_id: str, text: str) -> None:
        text = (text or "").strip()
        if not text:
            raise HandoffError("message_empty")
        if len(text) > MAX_MESSAGE_CHARS:
            raise HandoffError("message_too_long")
        event = {"event": "bot", "text": text, "data": {"custom": STAFF_MARK}}
        await self._post(
            f"/conversations/{quote(conversation_id, safe='')}/tracker/events",
            {"output_channel": "latest", "execute_side_effects": "true"},
            [event],
        )

    async def _post(self, path: str, params: dict, body) -> None:
        headers = {"Authorization": f"Bearer {service_token(self.jwt_secret)}"}
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(
                    self.base_url + path, params=params, json=body, headers=headers
                ) as response,
            ):
                if response.status >= 400:
                    logger.error("Rasa refused a handoff call: HTTP %s", response.status)
                    raise HandoffError(_why_refused(await response.text()))
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.error("Rasa not reachable for a handoff call: %s", type(error).__name__)
            raise HandoffError("rasa_unreachable") from error
