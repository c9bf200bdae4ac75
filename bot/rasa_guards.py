"""The Rasa server's answers to malformed input that Rasa 3.6 met with a 500 or a hang
(issue 17, found by `make fuzz`):

- POST /model/parse with a body that is not `{"text": "<string>"}` (text null, a number,
  a list, invalid JSON, a lone surrogate, more than MAX_MESSAGE_CHARS): Rasa answered 500
  (its own 400 for a failed parse is caught again and turned into a 500). Here: 400.
- An engine.io polling POST with a packet type a client never sends ("6", "0", "2"...):
  python-engineio closed the session and then waited for the client to collect the close
  packet, so the request hung until Sanic's response timeout (60 s), holding a connection
  all the while. Here the session is closed at once and the request gets a 400.
- A websocket handshake that says `Upgrade: websocket` without `Connection: upgrade`:
  python-engineio took it for a polling request and handed Sanic a list of packets as
  the response, a 500. Here: 400, as for any other invalid upgrade.
- A websocket handshake with a key or version the websockets package refuses: Sanic 21.12
  met the refusal with its own error (`Request` has no `_exception`) and a 500. Here: 400.
- A websocket frame that is not an engine.io packet ("罽", a stray byte): the decoding
  error escaped python-engineio's websocket loop and Sanic answered 500. Here the socket
  is closed, as after any other protocol error.
"""

from __future__ import annotations

import json
from typing import Any

from sanic import Sanic, response
from sanic.request import Request

PARSE_PATH = "/model/parse"


def parse_request_problem(body: bytes, max_chars: int) -> str | None:
    """What is wrong with a /model/parse body, or None when Rasa can parse it."""
    try:
        data: Any = json.loads(body or b"null")
    except (ValueError, RecursionError):
        return "The body must be JSON."
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return "The body must be a JSON object with a string 'text'."
    text = data["text"]
    if len(text) > max_chars:
        return f"'text' must be at most {max_chars} characters."
    if text.encode("utf-16", "surrogatepass").decode("utf-16", "replace") != text:
        return "'text' must be valid Unicode."
    if data.get("message_id") is not None and not isinstance(data["message_id"], str):
        return "'message_id' must be a string."
    return None


def refuse_malformed_parse_requests(app: Sanic, max_chars: int) -> None:
    @app.middleware("request")
    async def check_parse_body(request: Request):
        if request.method != "POST" or request.path != PARSE_PATH:
            return None
        problem = parse_request_problem(request.body, max_chars)
        return response.json({"error": problem}, status=400) if problem else None


def answer_unknown_engineio_packets_at_once() -> None:
    from engineio import exceptions
    from engineio.async_socket import AsyncSocket

    if getattr(AsyncSocket.handle_post_request, "answers_at_once", False):
        return
    handle_post_request = AsyncSocket.handle_post_request

    async def close_at_once_on_unknown_packets(self, environ):
        try:
            return await handle_post_request(self, environ)
        except exceptions.UnknownPacketError:
            # Closed without waiting for a poll that may never come; python-engineio's
            # own disconnect then finds it closed and answers the POST with 400.
            await self.close(wait=False, abort=True)
            raise

    close_at_once_on_unknown_packets.answers_at_once = True
    AsyncSocket.handle_post_request = close_at_once_on_unknown_packets


def close_websockets_that_send_garbage() -> None:
    from engineio.async_socket import AsyncSocket

    if getattr(AsyncSocket._websocket_handler, "closes_on_garbage", False):
        return
    websocket_handler = AsyncSocket._websocket_handler

    async def closed_on_garbage(self, ws):
        try:
            return await websocket_handler(self, ws)
        except (ValueError, IndexError, TypeError):  # a frame that is not a packet
            self.upgrading = False
            await self.queue.put(None)  # lets the writer task, if started, end
            await self.close(wait=False, abort=True)
            return None

    closed_on_garbage.closes_on_garbage = True
    AsyncSocket._websocket_handler = closed_on_garbage


def refuse_websocket_connects_without_an_upgrade() -> None:
    from engineio.async_server import AsyncServer

    if getattr(AsyncServer._handle_connect, "needs_an_upgrade", False):
        return
    handle_connect = AsyncServer._handle_connect

    async def connect_real_websockets_only(self, environ, transport, jsonp_index=None):
        connection = [part.strip() for part in environ.get("HTTP_CONNECTION", "").split(",")]
        if transport == "websocket" and "upgrade" not in (part.lower() for part in connection):
            return self._bad_request("Invalid websocket upgrade")
        return await handle_connect(self, environ, transport, jsonp_index)

    connect_real_websockets_only.needs_an_upgrade = True
    AsyncServer._handle_connect = connect_real_websockets_only


def answer_failed_websocket_handshakes_with_400() -> None:
    from sanic.exceptions import InvalidUsage, ServerError
    from sanic.server.protocols.websocket_protocol import WebSocketProtocol

    if getattr(WebSocketProtocol.websocket_handshake, "answers_400", False):
        return
    websocket_handshake = WebSocketProtocol.websocket_handshake

    async def handshake_or_400(self, request, subprotocols=None):
        try:
            return await websocket_handshake(self, request, subprotocols)
        except ServerError:  # Sanic's only answer to any failed handshake
            raise InvalidUsage("Invalid websocket handshake.") from None

    handshake_or_400.answers_400 = True
    WebSocketProtocol.websocket_handshake = handshake_or_400
