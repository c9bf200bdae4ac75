"""The one client of Rasa's JWT-protected HTTP API (RASA_INTERNAL_URL), with a short-lived
service token on every call. Two parts of Vägvisaren call it:

- The action server classifies each question of a multi-question message
  (`RasaParser`, POST /model/parse). A failure counts as "not recognised": the first
  question is still answered, only the extra ones are lost.
- The dashboard's live handoff (`RasaConversations`): a handler joins a relative's
  conversation, writes to them, and hands back to the bot or ends it. It works whichever
  Rasa server the request lands on:
  - join / hand back / end: `POST /conversations/<id>/execute?output_channel=latest` runs
    action_handoff_start / _end / _close (actions/handoff.py); their messages go out in
    the channel the relative last wrote from.
  - a handler's message: `POST /conversations/<id>/tracker/events?output_channel=latest&
    execute_side_effects=true` with a bot event marked `{"custom": {"sender": "staff"}}`
    (bot/conversation.py); it is stored (redacted) in the conversation and sent to the
    relative. The socket.io channel sends it as one message with `"sender": "staff"`
    (bot/channels/socketio.py); with several servers, SOCKET_REDIS_URL lets every
    server's socket.io reach every browser.
  - a handler is typing: `POST /conversations/<id>/staff_typing`, a route of Vägvisaren's
    on the Rasa server (bot/channels/staff_typing.py), shown in the relative's channel where
    it can be. A convenience: it never raises, a failure is logged by its type.
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import quote

import aiohttp
import jwt

from bot.conversation import NOT_DELIVERED, STAFF_MARK, UNREACHABLE

logger = logging.getLogger(__name__)

TOKEN_LIFETIME_SECONDS = 300
PARSE_TIMEOUT_SECONDS = 5
HANDOFF_TIMEOUT_SECONDS = 15
TYPING_TIMEOUT_SECONDS = 3  # a typing indicator that comes later is worth nothing
MAX_STAFF_MESSAGE_CHARS = 2000


def service_token(secret: str, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    payload = {
        "user": {"username": "vagvisaren-action-server", "role": "admin"},
        "iat": issued,
        "exp": issued + TOKEN_LIFETIME_SECONDS,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


class RasaApi:
    def __init__(self, base_url: str, jwt_secret: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.jwt_secret = jwt_secret
        self.timeout_seconds = timeout_seconds

    async def post(self, path: str, body, params: dict | None = None) -> tuple[int, str]:
        """The HTTP status and body of the answer; aiohttp.ClientError or TimeoutError when
        Rasa cannot be reached."""
        headers = {"Authorization": f"Bearer {service_token(self.jwt_secret)}"}
        timeout = aiohttp.ClientTimeout(total=self.timeout_seconds)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(self.base_url + path, params=params, json=body, headers=headers) as answer,
        ):
            return answer.status, await answer.text()


class RasaParser:
    """Classifies a text with POST /model/parse. Failures count as "not recognised"."""

    def __init__(self, base_url: str, jwt_secret: str):
        self.api = RasaApi(base_url, jwt_secret, PARSE_TIMEOUT_SECONDS)

    async def __call__(self, text: str) -> tuple[str | None, float]:
        try:
            status, body = await self.api.post("/model/parse", {"text": text})
            if status >= 400:
                raise aiohttp.ClientResponseError(None, (), status=status)
            intent = json.loads(body).get("intent") or {}
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            # The first question is still answered; only the extra ones are lost.
            logger.warning("Could not classify a clause: %s", type(error).__name__)
            return None, 0.0
        return intent.get("name"), float(intent.get("confidence") or 0.0)


class HandoffError(RuntimeError):
    """Rasa could not be reached or refused; `code` names it for the dashboard."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _why_refused(body: str) -> str:
    """A messaging relative who cannot be reached is told apart: a strict messaging output
    (bot/channels/messaging.py) raises with one of these codes, which Rasa's error answer
    carries in its message."""
    for code in (UNREACHABLE, NOT_DELIVERED):
        if code in body:
            return code
    return "rasa_refused"


class RasaConversations:
    def __init__(self, base_url: str, jwt_secret: str) -> None:
        self.api = RasaApi(base_url, jwt_secret, HANDOFF_TIMEOUT_SECONDS)
        self.typing_api = RasaApi(base_url, jwt_secret, TYPING_TIMEOUT_SECONDS)

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
        if len(text) > MAX_STAFF_MESSAGE_CHARS:
            raise HandoffError("message_too_long")
        event = {"event": "bot", "text": text, "data": {"custom": STAFF_MARK}}
        await self._post(
            f"/conversations/{quote(conversation_id, safe='')}/tracker/events",
            {"output_channel": "latest", "execute_side_effects": "true"},
            [event],
        )

    async def show_typing(self, conversation_id: str) -> bool:
        """Whether Rasa took it; never raises (the handler's typing is a convenience)."""
        path = f"/conversations/{quote(conversation_id, safe='')}/staff_typing"
        try:
            status, _ = await self.typing_api.post(path, {})
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.warning("Rasa not reachable for a typing indicator: %s", type(error).__name__)
            return False
        if status >= 400:
            logger.warning("Rasa refused a typing indicator: HTTP %s", status)
        return status < 400

    async def _post(self, path: str, params: dict, body) -> None:
        try:
            status, text = await self.api.post(path, body, params)
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.error("Rasa not reachable for a handoff call: %s", type(error).__name__)
            raise HandoffError("rasa_unreachable") from error
        if status >= 400:
            logger.error("Rasa refused a handoff call: HTTP %s", status)
            raise HandoffError(_why_refused(text))
