"""A handler in a relative's conversation is typing: the relative's channel shows it where
it can.

- Web chat (bot/channels/socketio.py): an event to the conversation's socket.io room; the
  widget shows "Personal skriver …" for a few seconds or until the message arrives. With
  SOCKET_REDIS_URL the event reaches the browser whichever Rasa server it is connected to.
- Telegram (bot/channels/telegram.py): sendChatAction "typing" (Telegram shows it for five
  seconds or until the next message).
- SMS and WhatsApp: nothing; there is no such thing in SMS, and nothing is sent that the
  relative did not ask for.

Each channel registers how it shows it when Rasa builds it. The dashboard calls
`POST /conversations/<conversation_id>/staff_typing` on the Rasa server (bot/rasa_client.py),
beside Rasa's own conversation API and protected like it (the JWT, role admin); it is not
under /webhooks/ or /socket.io/, the only paths the load balancer lets through
(deployment/haproxy/vagvisaren.cfg). Typing is a convenience: a channel that fails is logged
by the error's type, and the answer still says 200 with where it was shown.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sanic import Sanic, response
from sanic.request import Request

logger = logging.getLogger(__name__)

# conversation id -> whether this channel showed it (False: not a conversation of its own)
ShowTyping = Callable[[str], Awaitable[bool]]

_channels: dict[str, ShowTyping] = {}


def register(channel: str, show: ShowTyping) -> None:
    _channels[channel] = show


async def show_staff_typing(conversation_id: str) -> list[str]:
    """The channels that showed it."""
    shown = []
    for channel, show in list(_channels.items()):
        try:
            if await show(conversation_id):
                shown.append(channel)
        except Exception as error:  # a convenience: never fails the handler's typing
            logger.warning("%s: staff typing not shown (%s)", channel, type(error).__name__)
    return shown


def add_staff_typing_route(app: Sanic) -> None:
    from rasa.server import requires_auth

    @app.post("/conversations/<conversation_id:path>/staff_typing", name="vagvisaren_staff_typing")
    @requires_auth(app)
    async def staff_typing(request: Request, conversation_id: str):
        return response.json({"shown_in": await show_staff_typing(conversation_id)})
