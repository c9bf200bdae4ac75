"""The web widget's channel: Rasa's socket.io channel (same protocol) with server-issued
private session ids, a handler's messages marked as a person's, presence, typing both ways,
the relative's place in the queue for a person, and the widget's routes (bot/channels/widget).

Events besides Rasa's own (the widget: bot/channels/widget/static/chat.js):
- `typing` {session_id} from the widget, at most every 3 s while the relative types (never
  what they type): recorded for the handler's live view (bot/escalations/presence.py), at
  most once per TYPING_RECORDED_EVERY per conversation.
- `staff_typing` {} to the widget: a handler in the conversation is typing
  (bot/channels/staff_typing.py).
- `queue_place` {session_id} from the widget, answered (socket.io acknowledgement) with the
  relative's place in the queue and the usual wait (bot/escalations/waiting.py); the widget
  asks while it knows the relative waits for a person.
- `queue_changed` {} to the widget: the bot just told the relative they are queued, or that
  a person has joined: ask `queue_place` now.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput

from bot.channels import staff_typing
from bot.channels.abuse_limits import paced, process_limits, source_of
from bot.channels.input_limits import bounded, channel_answer
from bot.channels.widget.routes import add_widget_routes, chat_origin
from bot.conversation import is_from_staff, responses_of
from bot.pseudonym import conversation_ref, is_web_session_id, new_web_session_id

logger = logging.getLogger(__name__)

# The widget says "typing" every 3 s at most; each server writes it at most this often per
# conversation, whatever a client sends.
TYPING_RECORDED_EVERY = 3.0
# A widget asks for its place every 15 s; more often than this it gets the last answer again.
QUEUE_ASKED_EVERY = 2.0
# After these answers the widget asks for its place at once: queued, or a person is here.
QUEUE_RESPONSES = ("utter_request_human_queued", "utter_handoff_joined")


class QueueAwareSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, and after an answer that queued the relative for a person
    or told them a person has joined, `queue_changed` to the conversation's room: the widget
    asks for its place at once (the answer's name is in the message's metadata)."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        queue_changed = any(name.startswith(QUEUE_RESPONSES) for name in responses_of(message))
        await super().send_response(recipient_id, message)
        if queue_changed:
            await self.sio.emit("queue_changed", {}, room=recipient_id)


class StaffAwareSocketIOOutput(QueueAwareSocketIOOutput):
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
        handle = paced(bounded(on_new_message, settings.max_message_chars), limits.per_conversation)
        blueprint = super().blueprint(handle)
        sio, namespace, key = self.sio, self.namespace, settings.pseudonym_key
        if settings.socket_redis_url:
            _share_rooms_through_redis(sio, settings.socket_redis_url)
        # Browsers connect from the chat's own page (a frame of the bot's origin), never
        # from the host page: engineio refuses any other Origin header (the allowed one
        # gets CORS headers, which the long-polling fallback needs).
        sio.eio.cors_allowed_origins = [chat_origin(settings)]
        add_widget_routes(blueprint, settings, self._widget_channel_settings())
        sessions: dict[str, str] = {}  # socket id -> conversation id, for this process

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
            typing.sent(data["session_id"])
            # As Rasa's own handler does, with an output that also tells the widget when its
            # place in the queue changed.
            output = QueueAwareSocketIOOutput(sio, self.bot_message_evt)
            await handle(
                UserMessage(
                    message, output, data["session_id"], input_channel=self.name(), metadata={}
                )
            )

        def own_session(sid: str, data: Any) -> str | None:
            """The session id a socket names, if it is the one this socket joined."""
            session_id = data.get("session_id") if isinstance(data, dict) else None
            if (
                session_id
                and sessions.get(sid) == session_id
                and is_web_session_id(session_id, key)
            ):
                return session_id
            return None

        typing = _RelativeTyping(key)
        places = _QueuePlaces(key)

        async def relative_typing(sid: str, data: Any = None) -> None:
            if session_id := own_session(sid, data):
                typing.typed(session_id)

        async def queue_place(sid: str, data: Any = None) -> dict:
            session_id = own_session(sid, data)
            return await places.answer(sid, session_id) if session_id else {"waiting": False}

        async def show_staff_typing(conversation_id: str) -> bool:
            if not is_web_session_id(conversation_id, key):
                return False
            await sio.emit("staff_typing", {}, room=conversation_id, namespace=namespace)
            return True

        async def forget_socket(sid: str) -> None:
            places.forget(sid)
            await disconnect(sid)

        sio.on("session_request", session_request, namespace=namespace)
        sio.on("disconnect", forget_socket, namespace=namespace)
        sio.on(self.user_message_evt, handle_message, namespace=namespace)
        sio.on("typing", relative_typing, namespace=namespace)
        sio.on("queue_place", queue_place, namespace=namespace)
        staff_typing.register(self.name(), show_staff_typing)
        return blueprint

    def _widget_channel_settings(self) -> tuple[tuple[str, str], ...]:
        return (
            ("socketio_path", self.socketio_path or "/socket.io"),
            ("user_message_evt", self.user_message_evt),
            ("bot_message_evt", self.bot_message_evt),
        )


class _RelativeTyping:
    """Records that a relative is typing, at most once per TYPING_RECORDED_EVERY per
    conversation on this server, in the background (the chat never waits for it); their
    message clears it, so the handler does not read "skriver" after it has arrived."""

    KEPT_SECONDS = 60.0  # a conversation's last write is remembered this long at most

    def __init__(self, key: str) -> None:
        self.key = key
        self.written: dict[str, float] = {}  # session id -> when this server last wrote
        self.tasks: set[asyncio.Task] = set()

    def typed(self, session_id: str) -> None:
        now = time.monotonic()
        self.written = {s: at for s, at in self.written.items() if now - at < self.KEPT_SECONDS}
        if now - self.written.get(session_id, -self.KEPT_SECONDS) < TYPING_RECORDED_EVERY:
            return
        self.written[session_id] = now
        self._write(session_id, typing=True)

    def sent(self, session_id: str) -> None:
        at = self.written.pop(session_id, None)
        if at is not None and time.monotonic() - at < 2 * TYPING_RECORDED_EVERY + 1:
            self._write(session_id, typing=False)  # the live view might still show it

    def _write(self, session_id: str, typing: bool) -> None:
        task = asyncio.ensure_future(_record_typing(session_id, self.key, typing))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class _QueuePlaces:
    """Answers a widget's question for its place in the queue; a widget that asks again
    within QUEUE_ASKED_EVERY gets the same answer without another database read."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.last: dict[str, tuple[float, dict]] = {}  # socket id -> (when, answer)

    async def answer(self, sid: str, session_id: str) -> dict:
        now = time.monotonic()
        asked = self.last.get(sid)
        if asked and now - asked[0] < QUEUE_ASKED_EVERY:
            return asked[1]
        answer = await _queue_status(session_id, self.key)
        self.last[sid] = (now, answer)
        return answer

    def forget(self, sid: str) -> None:
        self.last.pop(sid, None)


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


async def _record_typing(session_id: str, key: str, typing: bool) -> None:
    from bot.bootstrap import services
    from bot.escalations import presence
    from bot.escalations.model import utcnow

    try:
        reference = conversation_ref(session_id, key)
        engine = services().escalation_engine
        moment = utcnow() if typing else None
        await asyncio.to_thread(presence.set_typing, engine, reference, moment)
    except Exception as error:  # typing is a convenience; the chat must go on without it
        logger.warning("Typing not recorded (%s)", type(error).__name__)


async def _queue_status(session_id: str, key: str) -> dict:
    """The relative's place for the widget; `{"unknown": true}` when it cannot be read now
    (the widget keeps what it shows)."""
    from bot.bootstrap import services
    from bot.escalations.waiting import queue_status

    try:
        reference = conversation_ref(session_id, key)
        engine = services().escalation_engine
        status = await asyncio.to_thread(queue_status, engine, reference)
    except Exception as error:
        logger.warning("Place in the queue not read (%s)", type(error).__name__)
        return {"unknown": True}
    return status.as_json()
