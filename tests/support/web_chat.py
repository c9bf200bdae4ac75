"""A relative in the web chat, as its script talks to the Rasa server: a socket.io client
with a server-issued session id (bot/channels/socketio.py)."""

from __future__ import annotations

import asyncio

import socketio


async def close(client: socketio.AsyncClient) -> None:
    """Leave without waiting for the pending long-poll (the aiohttp that Rasa pins is too
    old for the websocket transport of python-socketio's client)."""
    await client.eio.disconnect(abort=True)


async def session(bot, proposed=None) -> tuple[socketio.AsyncClient, str, asyncio.Queue]:
    client = socketio.AsyncClient()
    confirmed: asyncio.Future = asyncio.get_running_loop().create_future()
    replies: asyncio.Queue = asyncio.Queue()
    client.on("session_confirm", lambda session_id: confirmed.set_result(session_id))
    client.on("bot_uttered", lambda message: replies.put_nowait(message))
    await client.connect(bot.url, socketio_path="/socket.io", transports=["polling"])
    await client.emit("session_request", {"session_id": proposed})
    return client, await asyncio.wait_for(confirmed, 10), replies
