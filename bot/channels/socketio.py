"""The web widget's channel: Rasa's socket.io channel (same protocol) with server-issued
private session ids, a handler's messages marked as a person's, presence, and the widget's
routes (bot/channels/widget)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.channels.channel import OutputChannel
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput

from bot.channels.abuse_limits import paced, process_limits, source_of
from bot.channels.input_limits import bounded, channel_answer
from bot.channels.widget.routes import add_widget_routes, chat_origin
from bot.conversation import is_from_staff
from bot.pseudonym import conversation_ref, is_web_session_id, new_web_session_id

logger = logging.getLogger(__name__)


class StaffAwareSocketIOOutput(SocketIOOutput):
    """A message a handler wrote (a bot event marked `{"custom": {"sender": "staff"}}` by the
    dashboard, bot/rasa_client.py) goes to the browser as one message:
    `{"text": ..., "sender": "staff"}`, so the widget can show it as a person's."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if is_from_staff(message) and message.get("text"):
            await self._send_message(recipient_id, {"text": message["text"], "sender": "staff"})
            return
        await super().send_response(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"text": text.strip()})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        quick_replies = [
            {"content_type": "text", "title": button["title"], "payload": button["payload"]}
            for button in buttons
        ]
        await self._send_message(
            recipient_id, {"text": text.strip(), "quick_replies": quick_replies}
        )


class PrivateSocketIOInput(SocketIOInput):
    """Rasa's socket.io channel (what the web widget talks to) with private session ids.

    Rasa's own channel accepts any session id a browser proposes and otherwise makes a
    uuid4 (122 random bits). Here the server always issues the id: 128 random bits and a
    tag keyed with PSEUDONYM_KEY (bot/pseudonym.py). A browser may resume a session with an
    id it was given; any other proposed id gets a fresh one, and a message without a valid
    id is ignored. Message metadata from the browser is dropped.

    It also keeps count of the open sockets of each conversation (bot/escalations/
    presence.py), so a handler in the conversation sees when the relative has left, and,
    with SOCKET_REDIS_URL, shares its rooms with the other Rasa servers through Redis.
    """

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_persistence = True  # the session id is the conversation id

    def get_output_channel(self) -> OutputChannel | None:
        if self.sio is None:
            return super().get_output_channel()
        return StaffAwareSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message):
        from bot.bootstrap import services

        settings = services().settings
        limits = process_limits()
        blueprint = super().blueprint(
            paced(bounded(on_new_message, settings.max_message_chars), limits.per_conversation)
        )
        sio, namespace, key = self.sio, self.namespace, settings.pseudonym_key
        if settings.socket_redis_url:
            _share_rooms_through_redis(sio, settings.socket_redis_url)
        # Browsers connect from the chat's own page (a frame of the bot's origin), never
        # from the host page: engineio refuses any other Origin header (the allowed one
        # gets CORS headers, which the long-polling fallback needs).
        sio.eio.cors_allowed_origins = [chat_origin(settings)]
        add_widget_routes(blueprint, settings, self._widget_channel_settings())
        sessions: dict[str, str] = {}  # socket id -> conversation id, for this process
        rasa_handle_message = sio.handlers[namespace or "/"][self.user_message_evt]

        async def refuse(sid: str, kind: str) -> None:
            await sio.emit(
                self.bot_message_evt, {"text": channel_answer(kind)}, room=sid, namespace=namespace
            )

        def source(sid: str) -> str:
            environ = sio.get_environ(sid, namespace=namespace) or {}
            request = environ.get("sanic.request")
            return source_of(request) if request is not None else "unknown"

        async def session_request(sid: str, data: Any = None) -> None:
            proposed = data.get("session_id") if isinstance(data, dict) else None
            if is_web_session_id(proposed, key):
                session_id = proposed
            elif limits.new_chats_per_source.allow(source(sid)):
                session_id = new_web_session_id(key)
            else:
                await refuse(sid, "too_many_chats")  # a flood of new chats from one place
                return
            # Awaited: the python-socketio in the lock made enter_room a coroutine, which
            # Rasa 3.6's own handler never awaits (its rooms stay empty).
            await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)
            previous = sessions.get(sid)
            if previous != session_id:
                sessions[sid] = session_id
                if previous:
                    await _record_presence(previous, key, joined=False)
                await _record_presence(session_id, key, joined=True)

        async def disconnect(sid: str) -> None:
            session_id = sessions.pop(sid, None)
            if session_id:
                await _record_presence(session_id, key, joined=False)

        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict) or not is_web_session_id(data.get("session_id"), key):
                return
            message = data.get("message")
            if not isinstance(message, str):
                return
            if not limits.per_source.allow(source(sid)):
                await refuse(sid, "too_fast")
                return
            await rasa_handle_message(sid, {"session_id": data["session_id"], "message": message})

        sio.on("session_request", session_request, namespace=namespace)
        sio.on("disconnect", disconnect, namespace=namespace)
        sio.on(self.user_message_evt, handle_message, namespace=namespace)
        return blueprint

    def _widget_channel_settings(self) -> tuple[tuple[str, str], ...]:
        return (
            ("socketio_path", self.socketio_path or "/socket.io"),
            ("user_message_evt", self.user_message_evt),
            ("bot_message_evt", self.bot_message_evt),
        )


def _share_rooms_through_redis(sio, url: str) -> None:
    """Every Rasa server's socket.io reaches every browser: emits go through Redis pub/sub,
    and the chat goes on on this server when Redis is down (bot/channels/socket_queue.py). Set
    before the first connection (python-socketio initialises its manager then)."""
    from bot.channels.socket_queue import FailSafeRedisManager

    sio.manager = FailSafeRedisManager(url)
    sio.manager.set_server(sio)


async def _record_presence(session_id: str, key: str, joined: bool) -> None:
    from bot.bootstrap import services
    from bot.escalations import presence

    try:
        reference = conversation_ref(session_id, key)
        engine = services().escalation_engine
        change = presence.joined if joined else presence.left
        await asyncio.to_thread(change, engine, reference)
    except Exception as error:  # presence is a convenience; the chat must go on without it
        logger.warning("Presence not recorded (%s)", type(error).__name__)
