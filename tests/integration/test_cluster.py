"""Two Rasa servers and two action servers behind HAProxy (deployment/haproxy/vagvisaren.cfg)
on PostgreSQL and Redis, as docs/deployment.md sets them up (tools/cluster.py).

- Messages of one conversation sent at the same moment to both servers are handled one
  after the other: every message is in the tracker once, each turn complete before the
  next (the shared lock store; run with CLUSTER_LOCK_STORE=memory to see this fail with
  Rasa's in-memory lock store on each server).
- A handler's message reaches a Telegram relative through the server that did not receive
  the relative's message (the shared address book).
- Only the relatives' paths pass the public frontend; every server answers /ready.
- A Rasa server killed (SIGKILL) mid-conversation: the conversation goes on through the
  other one. (Last in this module: the server stays down.)
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from bot.pseudonym import channel_sender_id
from bot.rasa_client import RasaConversations
from bot.store.redis_outage import RETRY_AFTER_SECONDS
from tests.support.cluster import two_servers
from tests.support.messaging_apis import TELEGRAM_SECRET
from tests.support.servers import TEST_JWT_SECRET, TEST_PSEUDONYM_KEY, admin_token
from tools.cluster import Cluster

# The turns of one conversation, all sent at once (distinct words, nothing the redaction masks).
TURNS = [
    "hej",
    "min bror har börjat träna kampsport med en nazistisk grupp",
    "vad kan jag göra",
    "vad händer om jag ringer socialtjänsten",
    "tack för hjälpen",
    "hej då",
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, messaging_apis):  # messaging_apis: tests/integration/conftest.py
    with two_servers(tmp_path_factory.mktemp("cluster"), messaging_apis) as running:
        yield running


def post(url: str, payload: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def get(url: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def say(base_url: str, sender: str, text: str) -> int:
    status, _ = post(f"{base_url}/webhooks/rest/webhook", {"sender": sender, "message": text})
    return status


def tracker_events(cluster: Cluster, sender: str) -> list[dict]:
    status, body = get(f"{cluster.internal_url}/conversations/{sender}/tracker", admin_token())
    assert status == 200, body
    return body["events"]


def user_texts(events: list[dict]) -> list[str]:
    return [event["text"] for event in events if event["event"] == "user"]


def turns_are_whole(events: list[dict]) -> bool:
    """Each user message's turn ends (action_listen) before the next user message."""
    listening = True
    for event in events:
        if event["event"] == "user":
            if not listening:
                return False
            listening = False
        elif event["event"] == "action" and event.get("name") == "action_listen":
            listening = True
    return listening


def test_messages_of_one_conversation_on_both_servers_are_handled_one_after_another(cluster):
    senders = [f"cluster-{uuid.uuid4().hex[:12]}" for _ in range(6)]
    jobs = [
        (cluster.rasa_url(1 + turn % 2), sender, text)
        for sender in senders
        for turn, text in enumerate(TURNS)
    ]
    with ThreadPoolExecutor(len(jobs)) as pool:
        statuses = list(pool.map(lambda job: say(*job), jobs))
    assert statuses == [200] * len(jobs)
    for sender in senders:
        events = tracker_events(cluster, sender)
        assert sorted(user_texts(events)) == sorted(TURNS), "a message was lost or doubled"
        assert turns_are_whole(events), "two turns of one conversation overlapped"


def new_telegram_chat(messaging_apis) -> int:
    chat_id = 810_000_000 + uuid.uuid4().int % 1_000_000
    messaging_apis.telegram_chats.add(chat_id)
    return chat_id


def telegram_message(cluster: Cluster, node: int, chat_id: int, text: str) -> int:
    update = {
        "update_id": chat_id,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": chat_id, "type": "private", "first_name": "Anna"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Anna"},
            "text": text,
        },
    }
    status, _ = post(
        f"{cluster.rasa_url(node)}/webhooks/telegram/webhook",
        update,
        {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    return status


def test_a_handlers_message_reaches_a_telegram_relative_through_the_other_server(
    cluster, messaging_apis
):
    chat_id = new_telegram_chat(messaging_apis)
    assert telegram_message(cluster, 1, chat_id, "hej") == 200
    conversation = channel_sender_id("telegram", str(chat_id), TEST_PSEUDONYM_KEY)
    start = messaging_apis.telegram.count()
    handler = RasaConversations(cluster.rasa_url(2), TEST_JWT_SECRET)
    asyncio.run(handler.send_staff_message(conversation, "Hej, jag arbetar på kommunen."))
    delivered = messaging_apis.telegram.wait_for(
        start, "sendMessage", lambda call: call["chat_id"] == chat_id, seconds=30
    )
    assert "kommunen" in delivered[0]["text"]


async def long_polling_turns(url: str, texts: list[str]) -> tuple[list, set[str]]:
    """A web chat on long-polling only (as behind a proxy that blocks websockets): one
    reply per message, each through a new poll request; and the cookies it was given."""
    cookies = aiohttp.CookieJar(unsafe=True)  # aiohttp keeps no cookies of IP hosts otherwise
    async with aiohttp.ClientSession(cookie_jar=cookies) as http:
        client = socketio.AsyncClient(http_session=http, reconnection=False)
        confirmed: asyncio.Future = asyncio.get_running_loop().create_future()
        replies: asyncio.Queue = asyncio.Queue()
        client.on("session_confirm", lambda session_id: confirmed.set_result(session_id))
        client.on("bot_uttered", lambda message: replies.put_nowait(message))
        await client.connect(url, socketio_path="/socket.io", transports=["polling"])
        try:
            await client.emit("session_request", {"session_id": None})
            session_id = await asyncio.wait_for(confirmed, 20)
            answered = []
            for text in texts:
                await client.emit("user_uttered", {"message": text, "session_id": session_id})
                answered.append(await asyncio.wait_for(replies.get(), 60))
                while not replies.empty():
                    replies.get_nowait()
            return answered, {cookie.key for cookie in cookies}
        finally:
            await client.eio.disconnect(abort=True)


def test_a_long_polling_web_chat_stays_on_its_server_through_the_load_balancer(cluster):
    """Every poll after the handshake must reach the server that holds the session: HAProxy
    sends it there by the vv_server cookie (a browser's chat frame is same-origin)."""
    answered, cookies = asyncio.run(long_polling_turns(cluster.public_url, TURNS[:4]))
    assert len(answered) == 4 and all(reply.get("text") for reply in answered)
    assert cookies == {"vv_server"}


def test_only_the_relatives_paths_pass_the_public_frontend(cluster):
    assert get(f"{cluster.public_url}/model/parse")[0] == 404
    assert get(f"{cluster.public_url}/conversations/x/tracker", admin_token())[0] == 404
    assert get(f"{cluster.public_url}/status", admin_token())[0] == 404
    assert say(cluster.public_url, f"cluster-{uuid.uuid4().hex[:12]}", "hej") == 200


def test_every_server_is_ready(cluster):
    for node in cluster.nodes:
        assert get(f"{node.rasa_url}/ready") == (200, {"status": "ready", "degraded": []})
        assert get(f"{node.rasa_url}/health") == (200, {"status": "ok"})
        assert get(f"{node.action_url}/ready")[0] == 200
    assert get(f"{cluster.nodes[0].staff_url}/ready")[0] == 200


def outage_lines(cluster: Cluster, purpose: str) -> dict[str, int]:
    """Per Rasa server log: how often it said Redis for `purpose` is unreachable."""
    return {
        path.parent.name: path.read_text(errors="replace").count(
            f"Redis (REDIS_URL) for {purpose} is unreachable"
        )
        for path in Path(cluster.workdir).glob("node*/rasa.log")
    }


def test_with_redis_down_both_servers_go_on_and_nothing_is_lost(cluster, messaging_apis):
    senders = {node: f"cluster-{uuid.uuid4().hex[:12]}" for node in (1, 2)}
    chat_id = new_telegram_chat(messaging_apis)
    cluster.redis.stop()
    try:
        for text in TURNS[:3]:
            for node, sender in senders.items():
                assert say(cluster.rasa_url(node), sender, text) == 200
        start = messaging_apis.telegram.count()
        assert telegram_message(cluster, 1, chat_id, "hej") == 200
        assert messaging_apis.telegram.since(start, "sendMessage"), "no answer over Telegram"
        status, body = get(f"{cluster.rasa_url(1)}/ready")
        assert status == 200 and body["degraded"] == ["lock_store"]
    finally:
        cluster.redis.start()
    assert outage_lines(cluster, "Rasa's lock store") == {"node1": 1, "node2": 1}
    time.sleep(RETRY_AFTER_SECONDS + 1)  # the servers try Redis again after this pause
    for text in TURNS[3:]:
        for node, sender in senders.items():
            assert say(cluster.rasa_url(3 - node), sender, text) == 200
    for sender in senders.values():
        events = tracker_events(cluster, sender)
        assert user_texts(events) == TURNS
        assert turns_are_whole(events)
    logs = "".join(p.read_text(errors="replace") for p in Path(cluster.workdir).glob("node*/*.log"))
    assert "Redis for Rasa's lock store is reachable again" in logs
    assert get(f"{cluster.rasa_url(1)}/ready") == (200, {"status": "ready", "degraded": []})


def test_a_rasa_server_killed_mid_conversation_the_other_goes_on(cluster):
    sender = f"cluster-{uuid.uuid4().hex[:12]}"
    assert say(cluster.public_url, sender, TURNS[0]) == 200
    cluster.kill("rasa", 2)
    for text in TURNS[1:]:
        assert say(cluster.public_url, sender, text) == 200
    events = tracker_events(cluster, sender)
    assert user_texts(events) == TURNS
    assert turns_are_whole(events)


def test_logs_hold_no_message_text(cluster):
    logs = "".join(
        path.read_text(errors="replace") for path in Path(cluster.workdir).rglob("*.log")
    )
    for text in TURNS[1:]:
        assert text not in logs
