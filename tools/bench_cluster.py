"""`make bench-cluster`: simulated relatives on every channel against the cluster of
tools/cluster.py (two Rasa servers, two action servers, the dashboard, HAProxy, PostgreSQL,
Redis), with a Rasa server and an action server killed (SIGKILL) mid-run.

    python -m tools.bench_cluster [--relatives 100] [--minutes 10] [--seed 17]

1. A fresh cluster: its own PostgreSQL databases (dropped after), its own Redis, secrets made
   for the run, LOG_LEVEL WARNING, the servers' logs in results/cluster/. Telegram and
   Twilio are the local stand-ins of the test suite (tests/support/messaging_apis.py,
   imported from there: this tool runs from a checkout, like the tests), staff
   notifications go to a local webhook receiver (tests/support/staff_receivers.py).
2. N relatives (default 100) for M minutes (default 10), each one conversation: REST
   through HAProxy's public frontend (~30 %), the web chat's socket.io over a websocket
   (~30 %) and over long-polling only (~20 %, kept on one server by HAProxy's `vv_server`
   cookie), Telegram (~10 %) and SMS through Twilio (~10 %). Each cycles through
   tools/bench.py's CONVERSATION with 3-8 s between messages (seeded); ~20 % send a risk
   message once, at a random moment, so escalations happen throughout. Per message: when
   it was sent, the time to the first answer (REST, Telegram and Twilio: the HTTP response,
   the stand-ins record the answers; socket.io: the first `bot_uttered`), and whether it
   went through.
3. Faults: at 30 % of the run Rasa server 2 is killed and restarted at once, at 60 %
   action server 1 (both from the main thread: a child gets SIGTERM when the thread that
   started it ends; the load runs in a thread of its own). Socket.io clients reconnect
   (python-socketio) and resume their conversation with `session_request` and the session
   id they had; reconnections are counted and the id is checked.
4. A handler's messages (Rasa's API, as the dashboard sends them), alternately through
   server 1 and server 2 (server 1 while server 2 is down), to web, Telegram and SMS
   relatives before, during and after each fault; each must arrive.
5. Saturation: N closed-loop REST senders without pauses against Rasa server 1 alone, then
   through HAProxy (both servers): messages per second, and what the machine's CPU did.
6. Checks from PostgreSQL: per conversation the messages that went through against the
   user events stored (none lost, none doubled; texts compared after the bot's own
   redaction), every conversation went on after the kill, each conversation's escalation
   once per level (the table, and staff notified once per escalation and level); latency
   p50/p95 before, during (kill -> the restarted server ready) and after the kill, per
   channel; failures by phase (a message under way at a kill says so). Also: a 30 s time
   series (messages, latency, CPU, the cluster's CPU per message), the servers' /ready
   polled as HAProxy checks it (4 s timeout), and the warnings in the servers' logs.

A socket.io message counts as gone through when an answer came after it: under load, the
late tail of the previous turn can be taken for it (the relative waits until the answers
stop for a second before thinking on), and the report then shows the answer it took.

A readable report is printed and results/bench-cluster.json written (with every message
and every web chat's connection events). The exit status is 1 when a message that went
through was not stored or one was stored twice, an escalation or its notification
doubled, a handler's message was refused or did not arrive, or a web chat came back with
another conversation id.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import secrets
import shutil
import statistics
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import socketio
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from bot.launcher import NO_TRAFFIC_LIMITS
from bot.privacy.redaction import load_redactor
from bot.pseudonym import channel_sender_id, conversation_ref
from bot.rasa_client import HandoffError, RasaConversations
from bot.settings import PROJECT_ROOT, Settings
from tests.support.messaging_apis import (
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    TWILIO_SID,
    TWILIO_SMS_NUMBER,
    TWILIO_TOKEN,
    TWILIO_WEBHOOK_URL,
    MessagingApis,
    start_messaging_apis,
)
from tests.support.staff_receivers import webhook_receiver
from tools.bench import CONVERSATION
from tools.cluster import (
    DEFAULT_POSTGRES,
    Cluster,
    PrivateRedis,
    drop_postgres_database,
    haproxy_binary,
    postgres_database,
)

RESULTS = PROJECT_ROOT / "results/bench-cluster.json"
WORKDIR = PROJECT_ROOT / "results/cluster"
TRACKER_DB = "vagvisaren_bench_cluster_tracker"
ESCALATION_DB = "vagvisaren_bench_cluster_escalations"

RISK_MESSAGE = "min son har köpt flygbiljett till syrien och åker i morgon bitti"
CHANNELS = ("rest", "websocket", "polling", "telegram", "sms")
SHARES = {"rest": 0.3, "websocket": 0.3, "polling": 0.2, "telegram": 0.1, "sms": 0.1}
RISK_SHARE = 0.2
THINK_SECONDS = (3.0, 8.0)
KILL_RASA_AT, KILL_ACTIONS_AT = 0.3, 0.6
REQUEST_TIMEOUT = 90  # HAProxy gives a server 60 s
REPLY_TIMEOUT = 90  # socket.io: the first bot_uttered after a message
RECONNECT_TIMEOUT = 120  # socket.io: how long a relative waits for the chat to come back
DELIVERY_TIMEOUT = 30  # a handler's message
PHASES = ("before", "during", "after")
PHASE_NAMES = {
    "before": "before the kill",
    "during": "Rasa 2 down (kill -> ready)",
    "after": "after Rasa 2 is back",
}


def _aiohttp_39_websocket_timeout() -> None:
    """python-engineio 4.15 passes `aiohttp.ClientWSTimeout(ws_close=...)` (aiohttp >= 3.10)
    to ws_connect; the aiohttp Rasa pins (3.9) takes that close timeout as a number. Only in
    this load generator's process."""
    if not hasattr(aiohttp, "ClientWSTimeout"):
        aiohttp.ClientWSTimeout = lambda ws_close=10.0, ws_receive=None: ws_close


# --- what happened --------------------------------------------------------------------


@dataclass
class Timeline:
    """Wall-clock times (time.time(), as Rasa's event timestamps), set by the main thread."""

    start: float = 0.0
    end: float = 0.0
    rasa_kill: float | None = None
    rasa_ready: float | None = None
    actions_kill: float | None = None
    actions_ready: float | None = None
    load_done: float | None = None

    def phase(self, at: float) -> str:
        if self.rasa_kill is None or at < self.rasa_kill:
            return "before"
        if self.rasa_ready is None or at < self.rasa_ready:
            return "during"
        return "after"

    def actions_down(self, at: float) -> bool:
        return (
            self.actions_kill is not None
            and at >= self.actions_kill
            and (self.actions_ready is None or at < self.actions_ready)
        )

    def rasa2_down(self) -> bool:
        return self.rasa_kill is not None and self.rasa_ready is None

    def relative(self) -> dict[str, float | None]:
        def since(value: float | None) -> float | None:
            return None if value is None else round(value - self.start, 1)

        return {
            "rasa2_killed_s": since(self.rasa_kill),
            "rasa2_ready_s": since(self.rasa_ready),
            "actions1_killed_s": since(self.actions_kill),
            "actions1_ready_s": since(self.actions_ready),
            "load_ended_s": since(self.load_done),
        }


@dataclass
class Sent:
    relative: int
    channel: str
    conversation: str
    text: str
    at: float  # when the relative sent it (wall clock)
    latency_ms: float | None = None  # to the first answer
    accepted: bool = False  # the server took it: HTTP 200; socket.io: an answer came
    answered: bool = False  # the relative got an answer
    error: str = ""
    waited_ms: float = 0.0  # socket.io: waiting for the chat to reconnect first
    emitted_at: float | None = None  # socket.io: when the message went into the socket
    answer: str = ""  # socket.io: the start of the first bot message after it
    ended_at: float = 0.0  # when the relative had its answer, or gave up


@dataclass
class HandlerMessage:
    round: str
    channel: str
    relative: int
    server: int
    server_note: str
    at: float
    sent: bool = False
    error: str = ""
    delivered: bool = False
    delay_ms: float | None = None


@dataclass
class Context:
    public_url: str
    rasa_urls: dict[int, str]
    jwt_secret: str
    pseudonym_key: str
    apis: MessagingApis
    timeline: Timeline
    seed: int
    sent: list[Sent] = field(default_factory=list)
    handler: list[HandlerMessage] = field(default_factory=list)
    relatives: list[Relative] = field(default_factory=list)
    error: str = ""


# --- the relatives ----------------------------------------------------------------------


class Relative:
    channel = ""

    def __init__(self, index: int, ctx: Context, rng: random.Random, risk_at: float | None):
        self.index = index
        self.ctx = ctx
        self.rng = rng
        self.risk_at = risk_at
        self.risk_sent = False
        self.conversation = ""
        self.accepted = 0

    async def open(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def close(self) -> None:
        pass

    def next_text(self, turn: int) -> str:
        if self.risk_at is not None and not self.risk_sent and time.time() >= self.risk_at:
            self.risk_sent = True
            return RISK_MESSAGE
        return CONVERSATION[turn % len(CONVERSATION)]

    async def run(self) -> None:
        timeline = self.ctx.timeline
        await asyncio.sleep(self.rng.uniform(0, THINK_SECONDS[1]))
        turn = 0
        while time.time() < timeline.end:
            message = self.next_text(turn)
            if message != RISK_MESSAGE:
                turn += 1
            record = Sent(self.index, self.channel, self.conversation, message, time.time())
            try:
                await self.say(record)
            except Exception as error:  # any failure of the client itself is a failure
                record.error = record.error or f"client {type(error).__name__}"
            record.ended_at = time.time()
            self.accepted += record.accepted
            self.ctx.sent.append(record)
            await asyncio.sleep(self.rng.uniform(*THINK_SECONDS))

    async def say(self, record: Sent) -> None:
        raise NotImplementedError

    async def post(self, path: str, record: Sent, **kwargs: Any) -> tuple[int, str]:
        started = time.monotonic()
        try:
            async with self.session.post(f"{self.ctx.public_url}{path}", **kwargs) as reply:
                body = await reply.text()
                status = reply.status
        except asyncio.TimeoutError:
            record.error = "timeout"
            return 0, ""
        except aiohttp.ClientError as error:
            record.error = f"connection {type(error).__name__}"
            return 0, ""
        record.latency_ms = (time.monotonic() - started) * 1000
        if status != 200:
            record.error = f"HTTP {status}"
        record.accepted = status == 200
        return status, body


class RestRelative(Relative):
    channel = "rest"

    async def open(self, session: aiohttp.ClientSession) -> None:
        await super().open(session)
        self.conversation = f"bench-{self.ctx.seed}-{self.index}-{secrets.token_hex(6)}"

    async def say(self, record: Sent) -> None:
        payload = {"sender": self.conversation, "message": record.text}
        status, body = await self.post("/webhooks/rest/webhook", record, json=payload)
        if status == 200:
            try:
                record.answered = bool(json.loads(body))
            except ValueError:
                record.answered = False
            if not record.answered:
                record.error = "no answer"


class TelegramRelative(Relative):
    channel = "telegram"
    numbers = iter(range(1, 10**9))

    async def open(self, session: aiohttp.ClientSession) -> None:
        await super().open(session)
        self.chat_id = 820_000_000 + self.index
        self.ctx.apis.telegram_chats.add(self.chat_id)
        self.conversation = channel_sender_id("telegram", str(self.chat_id), self.ctx.pseudonym_key)

    def address_matches(self, call: dict) -> bool:
        return str(call.get("chat_id")) == str(self.chat_id)

    async def say(self, record: Sent) -> None:
        number = next(self.numbers)
        chat = {"id": self.chat_id, "type": "private", "first_name": "Anna"}
        update = {
            "update_id": 500_000 + number,
            "message": {
                "message_id": number,
                "date": int(time.time()),
                "chat": chat,
                "from": {"id": self.chat_id, "is_bot": False, "first_name": "Anna"},
                "text": record.text,
            },
        }
        recorder = self.ctx.apis.telegram
        start = recorder.count()
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        status, _ = await self.post(
            "/webhooks/telegram/webhook", record, json=update, headers=headers
        )
        if status == 200:
            calls = recorder.since(start, "sendMessage")
            record.answered = any(self.address_matches(call) for call in calls)
            if not record.answered:
                record.error = "no answer"


class SmsRelative(Relative):
    channel = "sms"
    numbers = iter(range(1, 10**9))
    validator = RequestValidator(TWILIO_TOKEN)

    async def open(self, session: aiohttp.ClientSession) -> None:
        await super().open(session)
        self.phone = f"+46709{self.index:06d}"
        self.conversation = channel_sender_id("sms", self.phone, self.ctx.pseudonym_key)

    def address_matches(self, call: dict) -> bool:
        return call.get("To") == self.phone

    async def say(self, record: Sent) -> None:
        fields = {
            "MessageSid": f"SM{next(self.numbers):032d}",
            "AccountSid": TWILIO_SID,
            "From": self.phone,
            "To": TWILIO_SMS_NUMBER,
            "Body": record.text,
            "NumMedia": "0",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            # Signed over the public address Twilio is told, as Twilio does.
            "X-Twilio-Signature": self.validator.compute_signature(TWILIO_WEBHOOK_URL, fields),
        }
        recorder = self.ctx.apis.twilio
        start = recorder.count()
        body = urllib.parse.urlencode(fields)
        status, _ = await self.post("/webhooks/twilio/webhook", record, data=body, headers=headers)
        if status == 200:
            record.answered = any(self.address_matches(c) for c in recorder.since(start))
            if not record.answered:
                record.error = "no answer"


class SocketRelative(Relative):
    """The web chat: socket.io with a server-issued session id, resumed after every
    reconnection with `session_request` (as the widget does)."""

    def __init__(self, *args: Any, transport: str) -> None:
        super().__init__(*args)
        self.transport = transport
        self.channel = transport
        self.session_id: str | None = None
        self.ready: asyncio.Event | None = None
        self.pending: asyncio.Future | None = None
        self.connects = 0
        self.disconnects = 0
        self.session_changes: list[dict] = []
        self.staff_received: dict[str, float] = {}
        self.events: list[tuple[float, str]] = []  # (wall clock, connect/disconnect/...)
        self.last_answer = 0.0
        self.client: socketio.AsyncClient | None = None
        self.http: aiohttp.ClientSession | None = None

    async def open(self, session: aiohttp.ClientSession) -> None:
        await super().open(session)
        self.ready = asyncio.Event()
        # Its own cookie jar: HAProxy's `vv_server` cookie keeps a long-polling chat on its
        # server; aiohttp's default jar ignores cookies of an IP address.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        client = socketio.AsyncClient(
            http_session=self.http,
            reconnection=True,
            reconnection_delay=1,
            reconnection_delay_max=5,
            request_timeout=30,
            engineio_logger=self.engineio_logger(),
        )
        self.client = client

        async def connected() -> None:
            self.connects += 1
            self.events.append((time.time(), "connect"))
            await client.emit("session_request", {"session_id": self.session_id})

        async def confirmed(session_id: str) -> None:
            if self.session_id is None:
                self.session_id = session_id
                self.conversation = session_id
            elif session_id != self.session_id:
                self.events.append((time.time(), "other conversation id"))
                self.session_changes.append(
                    {"at": time.time(), "had": self.session_id, "got": session_id}
                )
            self.ready.set()

        async def disconnected(*reason: Any) -> None:
            self.disconnects += 1
            self.events.append((time.time(), f"disconnect {reason[0] if reason else ''}".strip()))
            self.ready.clear()

        async def uttered(message: Any) -> None:
            now = time.monotonic()
            if isinstance(message, dict) and message.get("sender") == "staff":
                self.staff_received.setdefault(str(message.get("text")), time.time())
                return
            self.last_answer = now
            if self.pending is not None and not self.pending.done():
                text = message.get("text") if isinstance(message, dict) else None
                self.pending.set_result((now, str(text or "")[:40]))

        client.on("connect", connected)
        client.on("session_confirm", confirmed)
        client.on("disconnect", disconnected)
        client.on("bot_uttered", uttered)
        deadline = time.monotonic() + RECONNECT_TIMEOUT
        while True:
            try:
                await client.connect(
                    self.ctx.public_url,
                    socketio_path="/socket.io",
                    transports=[self.transport],
                    wait_timeout=30,
                )
                break
            except socketio.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(2)
        await asyncio.wait_for(self.ready.wait(), 30)

    def engineio_logger(self) -> logging.Logger:
        """engine.io's warnings (a request refused, the connection given up), with their
        time, into this relative's connection events."""
        relative = self

        class Recorder(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                relative.events.append((record.created, f"engine.io: {record.getMessage()}"))

        logger = logging.getLogger(f"bench_cluster.engineio.{self.index}")
        logger.setLevel(logging.WARNING)
        logger.propagate = False
        logger.handlers = [Recorder()]
        return logger

    async def say(self, record: Sent) -> None:
        started = time.monotonic()
        if not self.ready.is_set():
            try:
                await asyncio.wait_for(self.ready.wait(), RECONNECT_TIMEOUT)
            except asyncio.TimeoutError:
                record.error = "not reconnected"
                return
        record.waited_ms = (time.monotonic() - started) * 1000
        record.conversation = self.session_id
        self.pending = asyncio.get_running_loop().create_future()
        record.emitted_at = time.time()
        try:
            await self.client.emit(
                "user_uttered", {"session_id": self.session_id, "message": record.text}
            )
        except Exception as error:
            record.error = f"emit {type(error).__name__}"
            return
        try:
            answered_at, record.answer = await asyncio.wait_for(self.pending, REPLY_TIMEOUT)
        except asyncio.TimeoutError:
            record.error = "no answer"
            return
        finally:
            self.pending = None
        record.latency_ms = (answered_at - started) * 1000
        record.accepted = record.answered = True
        # The relative reads the whole answer (a turn may be several messages) before
        # thinking about the next one: until nothing more came for a second.
        deadline = time.monotonic() + 20
        while time.monotonic() - self.last_answer < 1.0 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        client = self.client
        if client is None:
            return
        client.reconnection = False
        with contextlib.suppress(Exception):
            if client._reconnect_task is not None and client._reconnect_abort is not None:
                client._reconnect_abort.set()
            # Without waiting for a pending long-poll (tests/support/web_chat.py).
            await asyncio.wait_for(client.eio.disconnect(abort=True), 5)
        with contextlib.suppress(Exception):
            await self.http.close()


def make_relatives(ctx: Context, count: int, minutes: float) -> list[Relative]:
    rng = random.Random(ctx.seed)
    quotas = {channel: count * share for channel, share in SHARES.items()}
    channels = {channel: int(quota) for channel, quota in quotas.items()}
    by_remainder = sorted(quotas, key=lambda c: quotas[c] - channels[c], reverse=True)
    for channel in by_remainder[: count - sum(channels.values())]:
        channels[channel] += 1
    plan = [channel for channel in CHANNELS for _ in range(channels[channel])]
    rng.shuffle(plan)
    risky = set(rng.sample(range(count), round(count * RISK_SHARE)))
    relatives: list[Relative] = []
    for index, channel in enumerate(plan):
        own = random.Random(f"{ctx.seed}-{index}")
        risk_at = None
        if index in risky:
            risk_at = ctx.timeline.start + own.uniform(0.05, 0.9) * minutes * 60
        args = (index, ctx, own, risk_at)
        if channel in ("websocket", "polling"):
            relatives.append(SocketRelative(*args, transport=channel))
        else:
            kind = {"rest": RestRelative, "telegram": TelegramRelative, "sms": SmsRelative}
            relatives.append(kind[channel](*args))
    return relatives


# --- a handler's messages -------------------------------------------------------------------


class Handler:
    """Sends a handler's messages as the dashboard does (Rasa's API, JWT), alternately
    through server 1 and server 2, and checks that each arrives."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rng = random.Random(f"{ctx.seed}-handler")
        self.number = 0
        self.turn = 0

    def targets(self) -> list[Relative]:
        chosen: list[Relative] = []
        wanted = {"websocket": 2, "polling": 1, "telegram": 1, "sms": 1}
        for channel, count in wanted.items():
            candidates = [
                relative
                for relative in self.ctx.relatives
                if relative.channel == channel
                and relative.accepted > 0
                and (not isinstance(relative, SocketRelative) or relative.ready.is_set())
            ]
            chosen += self.rng.sample(candidates, min(count, len(candidates)))
        return chosen

    async def round(self, name: str) -> None:
        await asyncio.gather(*(self.send(name, target) for target in self.targets()))

    def server(self) -> tuple[int, str]:
        self.turn += 1
        server = 1 + self.turn % 2
        if server == 2 and self.ctx.timeline.rasa2_down():
            return 1, "server 2 down: through server 1"
        return server, ""

    async def send(self, name: str, relative: Relative) -> None:
        self.number += 1
        words = f"Hej, jag arbetar på kommunen och läser det du skriver (meddelande {self.number})."
        server, note = self.server()
        channel = relative.channel
        record = HandlerMessage(name, channel, relative.index, server, note, time.time())
        self.ctx.handler.append(record)
        apis = self.ctx.apis
        recorder = apis.telegram if channel == "telegram" else apis.twilio
        start = recorder.count()
        rasa = RasaConversations(self.ctx.rasa_urls[server], self.ctx.jwt_secret)
        try:
            await rasa.send_staff_message(relative.conversation, words)
            record.sent = True
        except HandoffError as error:
            record.error = error.code
            return
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while time.monotonic() < deadline:
            if isinstance(relative, SocketRelative):
                arrived = relative.staff_received.get(words)
            else:
                calls = recorder.since(start, "sendMessage" if channel == "telegram" else None)
                text_of = "text" if channel == "telegram" else "Body"
                matching = [
                    call
                    for call in calls
                    if relative.address_matches(call) and words in str(call.get(text_of))
                ]
                arrived = time.time() if matching else None
            if arrived is not None:
                record.delivered = True
                record.delay_ms = round((arrived - record.at) * 1000, 1)
                return
            await asyncio.sleep(0.2)


async def handler_rounds(ctx: Context) -> None:
    handler = Handler(ctx)
    timeline = ctx.timeline
    length = timeline.end - timeline.start
    rounds = [
        ("before the kill", lambda: timeline.start + 0.15 * length),
        ("Rasa 2 down", lambda: timeline.rasa_kill and timeline.rasa_kill + 5),
        ("Rasa 2 back", lambda: timeline.rasa_ready and timeline.rasa_ready + 10),
        ("action server 1 down", lambda: timeline.actions_kill and timeline.actions_kill + 2),
        ("near the end", lambda: timeline.start + 0.92 * length),
    ]
    for name, when in rounds:
        while (when() is None or time.time() < when()) and time.time() < timeline.end:
            await asyncio.sleep(0.2)
        if time.time() >= timeline.end - DELIVERY_TIMEOUT / 2:
            continue  # too late for this round
        await handler.round(name)


# --- the load ------------------------------------------------------------------------------


async def load(ctx: Context, count: int, minutes: float) -> None:
    _aiohttp_39_websocket_timeout()
    ctx.relatives = make_relatives(ctx, count, minutes)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    connector = aiohttp.TCPConnector(limit=0)
    # No cookies: REST clients and the providers' webhooks are balanced by HAProxy, not stuck.
    async with aiohttp.ClientSession(
        timeout=timeout, connector=connector, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        opening = [relative.open(session) for relative in ctx.relatives]
        results = await asyncio.gather(*opening, return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise RuntimeError(f"{len(failures)} relatives could not start: {failures[0]!r}")
        try:
            await asyncio.gather(
                *(relative.run() for relative in ctx.relatives), handler_rounds(ctx)
            )
        finally:
            await asyncio.gather(*(relative.close() for relative in ctx.relatives))


def run_load(ctx: Context, count: int, minutes: float) -> None:
    """The load's own thread with its own event loop (the main thread kills and restarts)."""
    try:
        asyncio.run(load(ctx, count, minutes))
    except BaseException:
        ctx.error = traceback.format_exc()
    finally:
        ctx.timeline.load_done = time.time()


async def saturate(url: str, senders: int, seconds: float, tag: str) -> dict:
    """Closed loop: `senders` REST clients, each sending its next message as soon as the
    last was answered, a new conversation after each pass through the script."""
    latencies: list[float] = []
    errors = Counter()
    deadline = time.monotonic() + seconds

    async def sender(session: aiohttp.ClientSession, number: int) -> None:
        passes = 0
        while time.monotonic() < deadline:
            passes += 1
            conversation = f"saturate-{tag}-{number}-{passes}-{secrets.token_hex(4)}"
            for message in CONVERSATION:
                if time.monotonic() >= deadline:
                    return
                started = time.monotonic()
                payload = {"sender": conversation, "message": message}
                try:
                    async with session.post(f"{url}/webhooks/rest/webhook", json=payload) as r:
                        await r.read()
                        if r.status != 200:
                            errors[f"HTTP {r.status}"] += 1
                            continue
                except asyncio.TimeoutError:
                    errors["timeout"] += 1
                    continue
                except aiohttp.ClientError as error:
                    errors[f"connection {type(error).__name__}"] += 1
                    continue
                latencies.append((time.monotonic() - started) * 1000)

    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(
        timeout=timeout,
        connector=aiohttp.TCPConnector(limit=0),
        cookie_jar=aiohttp.DummyCookieJar(),
    ) as session:
        started = time.monotonic()
        await asyncio.gather(*(sender(session, n) for n in range(senders)))
        elapsed = time.monotonic() - started
    return {
        "messages": len(latencies),
        "seconds": round(elapsed, 1),
        "messages_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "errors": dict(errors),
    }


# --- CPU -----------------------------------------------------------------------------------


class CpuSampler:
    """Once a second: the machine's busy CPU and each role's share of it (the cluster's
    processes by role, PostgreSQL's processes, this load generator, everything else)."""

    def __init__(self, cluster: Cluster, redis: PrivateRedis, interval: float = 1.0) -> None:
        self.cluster, self.redis, self.interval = cluster, redis, interval
        self.samples: list[tuple[float, float, dict[str, float]]] = []  # (t, dt, cpu-s)
        self._seen: dict[int, float] = {}
        self._processes: dict[int, psutil.Process] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def roles(self) -> dict[str, list[int]]:
        roles: dict[str, list[int]] = defaultdict(list)
        for number, node in enumerate(self.cluster.nodes, start=1):
            for name, process in node.processes.items():
                roles[f"{name}{number}" if name != "staff" else "staff"].append(process.pid)
        if self.cluster.haproxy is not None:
            roles["haproxy"].append(self.cluster.haproxy.pid)
        if self.redis.process is not None:
            roles["redis"].append(self.redis.process.pid)
        roles["load generator"].append(os.getpid())
        for process in psutil.process_iter(["name"]):
            if process.info["name"] in ("postgres", "postmaster"):
                roles["postgresql"].append(process.pid)
        return roles

    def _cpu_seconds(self, pid: int) -> float:
        process = self._processes.get(pid)
        if process is None:
            process = self._processes[pid] = psutil.Process(pid)
        times = process.cpu_times()
        return times.user + times.system

    def _run(self) -> None:
        last = psutil.cpu_times()
        last_t = time.time()
        while not self._stop.wait(self.interval):
            now = psutil.cpu_times()
            t = time.time()
            busy = (sum(now) - now.idle - now.iowait) - (sum(last) - last.idle - last.iowait)
            per_role: dict[str, float] = {"machine": max(busy, 0.0)}
            for role, pids in self.roles().items():
                used = 0.0
                for pid in pids:
                    try:
                        total = self._cpu_seconds(pid)
                    except psutil.Error:
                        continue
                    used += max(total - self._seen.get(pid, total), 0.0)
                    self._seen[pid] = total
                per_role[role] = used
            self.samples.append((t, t - last_t, per_role))
            last, last_t = now, t

    def summary(self, start: float, end: float) -> dict:
        """The machine's busy share and each role's share of all cores, from start to end."""
        chosen = [(dt, roles) for t, dt, roles in self.samples if start < t <= end + 0.5]
        wall = sum(dt for dt, _ in chosen)
        if not wall:
            return {}
        capacity = wall * psutil.cpu_count()
        totals: Counter = Counter()
        for _, roles in chosen:
            totals.update(roles)
        tracked = sum(value for role, value in totals.items() if role != "machine")
        shares = {
            role: round(100 * value / capacity, 1)
            for role, value in sorted(totals.items(), key=lambda item: -item[1])
            if role != "machine"
        }
        shares["other processes"] = round(100 * max(totals["machine"] - tracked, 0) / capacity, 1)
        cluster = sum(v for k, v in totals.items() if k not in ("machine", "load generator"))
        return {
            "machine_busy_percent": round(100 * totals["machine"] / capacity, 1),
            "cluster_cores": round(cluster / wall, 2),  # the cluster's CPU, in cores
            **shares,
        }

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


class ReadyProbe:
    """GET /ready on each Rasa server every 2 s with HAProxy's check timeout (4 s), as
    HAProxy checks them: when it would have taken a server out (two failures in a row)."""

    def __init__(self, urls: dict[int, str], interval: float = 2.0, timeout: float = 4.0):
        self.urls, self.interval, self.timeout = urls, interval, timeout
        self.samples: list[tuple[float, int, float | None, str]] = []  # t, server, ms, result
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(server,), daemon=True) for server in urls
        ]

    def _run(self, server: int) -> None:
        while not self._stop.wait(self.interval):
            started = time.time()
            try:
                with urllib.request.urlopen(f"{self.urls[server]}/ready", timeout=self.timeout):
                    result = "ok"
            except urllib.error.HTTPError as error:
                result = f"HTTP {error.code}"
            except (urllib.error.URLError, ConnectionError) as error:
                reason = getattr(error, "reason", error)
                result = "timeout" if isinstance(reason, TimeoutError) else "refused"
            except TimeoutError:
                result = "timeout"
            elapsed = (time.time() - started) * 1000
            self.samples.append((started, server, elapsed, result))

    def out_periods(self, start: float) -> dict[str, list[list[float]]]:
        """Per server, from when to when two or more checks in a row failed."""
        periods: dict[str, list[list[float]]] = {}
        for server in self.urls:
            runs, failing = [], []
            for t, s, _, result in self.samples:
                if s != server:
                    continue
                if result != "ok":
                    failing.append(t)
                    continue
                if len(failing) >= 2:
                    runs.append([round(failing[0] - start, 1), round(t - start, 1)])
                failing = []
            if len(failing) >= 2:
                runs.append([round(failing[0] - start, 1), None])
            periods[f"rasa {server}"] = runs
        return periods

    def __enter__(self) -> ReadyProbe:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


# --- checks -------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1)


def latency_table(ctx: Context) -> dict:
    timeline = ctx.timeline
    table: dict[str, dict[str, dict]] = {}
    for channel in (*CHANNELS, "all"):
        rows = {}
        for phase in (*PHASES, "whole run"):
            chosen = [
                record
                for record in ctx.sent
                if channel in ("all", record.channel)
                and phase in ("whole run", timeline.phase(record.at))
            ]
            answered = [r.latency_ms for r in chosen if r.answered and r.latency_ms is not None]
            rows[phase] = {
                "messages": len(chosen),
                "failed": sum(1 for r in chosen if r.error),
                "p50_ms": percentile(answered, 50),
                "p95_ms": percentile(answered, 95),
            }
        table[channel] = rows
    actions = [r for r in ctx.sent if timeline.actions_down(r.at)]
    answered = [r.latency_ms for r in actions if r.answered and r.latency_ms is not None]
    table["all"]["action server 1 down"] = {
        "messages": len(actions),
        "failed": sum(1 for r in actions if r.error),
        "p50_ms": percentile(answered, 50),
        "p95_ms": percentile(answered, 95),
    }
    return table


def when(timeline: Timeline, record: Sent) -> str:
    """A failed message that was under way when a server was killed says so."""
    for moment, what in ((timeline.rasa_kill, "Rasa 2"), (timeline.actions_kill, "actions 1")):
        if moment is not None and record.at <= moment <= (record.ended_at or record.at):
            return f" (under way at the kill of {what})"
    if timeline.actions_down(record.at):
        return " (action server 1 down)"
    return ""


def failures_by_phase(ctx: Context) -> dict:
    timeline = ctx.timeline
    failures: dict[str, Counter] = {phase: Counter() for phase in PHASES}
    for record in ctx.sent:
        if record.error:
            phase = timeline.phase(record.at)
            failures[phase][f"{record.channel}: {record.error}{when(timeline, record)}"] += 1
    return {phase: dict(counter.most_common()) for phase, counter in failures.items()}


def sockets_summary(ctx: Context) -> dict:
    sockets = [r for r in ctx.relatives if isinstance(r, SocketRelative)]
    per_transport = {}
    for transport in ("websocket", "polling"):
        chosen = [r for r in sockets if r.transport == transport]
        per_transport[transport] = {
            "clients": len(chosen),
            "reconnections": sum(max(r.connects - 1, 0) for r in chosen),
            "clients_that_reconnected": sum(1 for r in chosen if r.connects > 1),
            "same_conversation_after_reconnecting": sum(
                1 for r in chosen if r.connects > 1 and not r.session_changes
            ),
            "conversation_id_changed": [
                {"relative": r.index, **change} for r in chosen for change in r.session_changes
            ],
        }
    return per_transport


def handler_summary(ctx: Context) -> dict:
    def count(records: list[HandlerMessage]) -> dict:
        return {
            "sent": sum(1 for r in records if r.sent),
            "delivered": sum(1 for r in records if r.delivered),
            "refused": sum(1 for r in records if not r.sent),
        }

    by_channel = {
        channel: count([r for r in ctx.handler if r.channel == channel])
        for channel in ("websocket", "polling", "telegram", "sms")
    }
    by_server = {
        f"server {server}": count([r for r in ctx.handler if r.server == server])
        for server in (1, 2)
    }
    by_round = {}
    for record in ctx.handler:
        by_round.setdefault(record.round, []).append(record)
    delays = [r.delay_ms for r in ctx.handler if r.delay_ms is not None]
    return {
        "by_channel": by_channel,
        "by_server": by_server,
        "by_round": {name: count(records) for name, records in by_round.items()},
        "delivery_p50_ms": percentile(delays, 50),
        "delivery_max_ms": max(delays) if delays else None,
        "not_delivered": [asdict(r) for r in ctx.handler if r.sent and not r.delivered],
        "refused": [asdict(r) for r in ctx.handler if not r.sent],
        "notes": sorted({r.server_note for r in ctx.handler if r.server_note}),
    }


def is_subsequence(part: list[str], whole: list[str]) -> bool:
    remaining = iter(whole)
    return all(any(item == candidate for candidate in remaining) for item in part)


def align(stored: list[str], sent: list[str]) -> list[bool]:
    """Which sent messages the stored ones are (stored in the order sent: each stored text
    is the next sent message with that text)."""
    flags = [False] * len(sent)
    position = 0
    for message in stored:
        while position < len(sent) and sent[position] != message:
            position += 1
        if position == len(sent):
            break
        flags[position] = True
        position += 1
    return flags


def connection_events(relative: Relative, start: float, end: float) -> list[str]:
    if not isinstance(relative, SocketRelative):
        return []
    return [f"{t - relative.ctx.timeline.start:.1f} s {what}" for t, what in relative.events
            if start <= t <= end]  # fmt: skip


def broke_after(relative: Relative, record: Sent) -> float | None:
    """Seconds from the message going into the socket to the socket breaking, if it broke
    within 10 s."""
    if not isinstance(relative, SocketRelative) or record.emitted_at is None:
        return None
    for t, what in relative.events:
        if what.startswith("disconnect") and 0 <= t - record.emitted_at <= 10:
            return round(t - record.emitted_at, 1)
    return None


def read_user_events(tracker_url: str) -> dict[str, list[tuple[float, str]]]:
    engine = create_engine(tracker_url, future=True)
    stored: dict[str, list[tuple[float, str]]] = defaultdict(list)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT sender_id, timestamp, data FROM events"
                    " WHERE type_name = 'user' ORDER BY id"
                )
            )
            for sender, timestamp, data in rows:
                stored[sender].append((timestamp, json.loads(data).get("text") or ""))
    finally:
        engine.dispose()
    return stored


def verify_storage(ctx: Context, tracker_url: str, redact) -> dict:
    """Per conversation: the messages that went through against the user events stored.
    Counted per text (robust), and each message placed by order for the details."""
    stored = read_user_events(tracker_url)
    timeline = ctx.timeline
    sent_by: dict[str, list[Sent]] = defaultdict(list)
    for record in ctx.sent:
        sent_by[ctx.relatives[record.relative].conversation].append(record)
    totals = Counter()
    details: list[dict] = []
    not_continued, not_after_actions = [], []
    for relative in ctx.relatives:
        conversation = relative.conversation
        records = sorted(sent_by.get(conversation, []), key=lambda r: r.at)
        events = stored.get(conversation, [])
        texts = [event_text for _, event_text in events]
        expected = [redact(r.text) for r in records]
        attempted = Counter(expected)
        accepted = Counter(e for e, r in zip(expected, records, strict=True) if r.accepted)
        kept = Counter(texts)
        lost = duplicated = failed_but_stored = 0
        for message in set(attempted) | set(kept):
            s, a, n = kept[message], accepted[message], attempted[message]
            lost += max(a - s, 0)
            duplicated += max(s - n, 0)
            failed_but_stored += max(min(s, n) - a, 0)
        unmatched = sorted(set(kept) - set(attempted))
        in_order = is_subsequence(texts, expected)
        totals.update(
            attempted=len(records),
            accepted=sum(accepted.values()),
            stored=len(texts),
            lost=lost,
            duplicated=duplicated,
            failed_but_stored=failed_but_stored,
            out_of_order=0 if in_order else 1,
        )
        flags = align(texts, expected) if in_order else [None] * len(records)
        for number, (record, kept_it) in enumerate(zip(records, flags, strict=True)):
            if kept_it is None or record.accepted == kept_it:
                continue
            following = records[number + 1].at if number + 1 < len(records) else timeline.end
            details.append(
                {
                    "what": "lost" if record.accepted else "failed but stored",
                    "conversation": conversation,
                    "relative": relative.index,
                    "channel": relative.channel,
                    "t_s": round(record.at - timeline.start, 1),
                    "phase": timeline.phase(record.at),
                    "text": record.text[:40],
                    "error": record.error,
                    "latency_ms": round(record.latency_ms or 0),
                    "answer_taken_for_its_own": record.answer,
                    "under_way_at_a_kill": when(timeline, record).strip(" ()"),
                    "socket_broke_within_10_s": broke_after(relative, record),
                    "connection_until_next_message": connection_events(
                        relative, record.at - 1, following
                    ),
                }
            )
        if duplicated or unmatched or not in_order:
            details.append(
                {
                    "what": "doubled or out of order",
                    "conversation": conversation,
                    "relative": relative.index,
                    "channel": relative.channel,
                    "duplicated": duplicated,
                    "in_order": in_order,
                    "unmatched_stored_texts": unmatched,
                    "stored": [(round(t - timeline.start, 1), x[:40]) for t, x in events],
                    "sent": [(round(r.at - timeline.start, 1), r.text[:40]) for r in records],
                }
            )
        if timeline.rasa_kill and not any(t > timeline.rasa_kill for t, _ in events):
            not_continued.append(relative.index)
        if timeline.actions_kill and not any(t > timeline.actions_kill for t, _ in events):
            not_after_actions.append(relative.index)
    return {
        "conversations": len(ctx.relatives),
        **dict(totals),
        "conversations_continued_after_the_kill": len(ctx.relatives) - len(not_continued),
        "not_continued_after_the_kill": not_continued,
        "conversations_with_messages_after_action_server_kill": (
            len(ctx.relatives) - len(not_after_actions)
        ),
        "problems": details,
    }


def verify_escalations(ctx: Context, escalation_url: str, notifications: list) -> dict:
    """The escalation table (one row per conversation; counted per conversation and level
    all the same) and the staff notifications (once per escalation and level)."""
    engine = create_engine(escalation_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, conversation_ref, level FROM escalations")
            ).all()
    finally:
        engine.dispose()
    per_level = Counter((reference, level) for _, reference, level in rows)
    reference_of = {row_id: reference for row_id, reference, _ in rows}
    level_of_ref = {reference: level for _, reference, level in rows}
    notified = Counter()
    digests = 0
    for _, body in notifications:
        payload = json.loads(body)
        if payload.get("event") == "escalation.digest":
            digests += 1
            continue
        escalation_id = int(str(payload.get("link", "")).rstrip("/").rsplit("/", 1)[-1])
        notified[(escalation_id, payload.get("level"))] += 1
    ours = {conversation_ref(r.conversation, ctx.pseudonym_key): r for r in ctx.relatives}
    risky = [r for r in ctx.relatives if r.risk_sent]
    risk_accepted = {
        ctx.relatives[record.relative].index
        for record in ctx.sent
        if record.text == RISK_MESSAGE and record.accepted
    }
    missing = [
        r.index
        for r in risky
        if r.index in risk_accepted
        and level_of_ref.get(conversation_ref(r.conversation, ctx.pseudonym_key)) != "acute"
    ]
    escalated = [ref for ref in level_of_ref if ref in ours]
    not_notified = [
        {"escalation": row_id, "level": level, "relative": ours[reference].index}
        for row_id, reference, level in rows
        if reference in ours and notified[(row_id, level)] == 0
    ]
    return {
        "escalations": len(escalated),
        "by_level": dict(Counter(level_of_ref[ref] for ref in escalated)),
        "risk_messages_accepted": len(risk_accepted),
        "acute_escalation_missing_for_relatives": missing,
        "doubled_rows": [
            {"conversation_ref": ref[:12], "level": level, "rows": n}
            for (ref, level), n in per_level.items()
            if n > 1
        ],
        "notifications": sum(notified.values()),
        "digests": digests,
        "doubled_notifications": [
            {
                "escalation": row_id,
                "level": level,
                "times": n,
                "relative": ours[reference_of[row_id]].index
                if reference_of.get(row_id) in ours
                else None,
            }
            for (row_id, level), n in notified.items()
            if n > 1
        ],
        "current_level_not_notified": not_notified,
    }


# --- the report ---------------------------------------------------------------------------


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def cpu_shares(cpu: dict, top: int) -> str:
    """The `top` busiest roles, and always the processes outside the cluster."""
    skip = ("machine_busy_percent", "cluster_cores", "other processes")
    roles = [(k, v) for k, v in cpu.items() if k not in skip]
    shown = roles[:top] + [("other processes", cpu.get("other processes", 0.0))]
    return ", ".join(f"{name} {value}%" for name, value in shown)


def print_report(summary: dict) -> None:
    setup = summary["setup"]
    timeline = summary["timeline"]
    print(
        f"\n=== make bench-cluster: {setup['relatives']} relatives, {setup['minutes']} min, "
        f"seed {setup['seed']}, {setup['cpu_count']} cores ==="
    )
    print("relatives per channel: " + ", ".join(f"{k} {v}" for k, v in setup["channels"].items()))
    machine = setup.get("machine_before", {})
    print(
        f"before the start: load average {machine.get('load_average_1min')}, CPU busy "
        f"{machine.get('cpu_busy_percent_1s')}%, other Vägvisaren servers running: "
        f"{machine.get('other_vagvisaren_servers_running')}"
    )
    print(
        f"Rasa 2 killed at {timeline['rasa2_killed_s']} s, ready again at "
        f"{timeline['rasa2_ready_s']} s; action server 1 killed at "
        f"{timeline['actions1_killed_s']} s, ready at {timeline['actions1_ready_s']} s"
    )
    print("\nLatency to the first answer, ms (p50 / p95), messages, failed")
    header = f"{'':12s}" + "".join(f"{PHASE_NAMES.get(p, p)[:27]:>30s}" for p in PHASES)
    print(header + f"{'whole run':>30s}")
    for channel, rows in summary["latency"].items():
        line = f"{channel:12s}"
        for phase in (*PHASES, "whole run"):
            row = rows[phase]
            cell = (
                f"{ms(row['p50_ms'])} / {ms(row['p95_ms'])}  n={row['messages']} f={row['failed']}"
            )
            line += f"{cell:>30s}"
        print(line)
    actions = summary["latency"]["all"]["action server 1 down"]
    print(
        f"while action server 1 was down: {ms(actions['p50_ms'])} / {ms(actions['p95_ms'])} ms, "
        f"{actions['messages']} messages, {actions['failed']} failed"
    )
    print("\nFailures by phase")
    for phase, failures in summary["failures_by_phase"].items():
        listed = ", ".join(f"{kind} {n}" for kind, n in failures.items()) or "none"
        print(f"  {PHASE_NAMES[phase]}: {listed}")
    print("\nWeb chat (socket.io)")
    for transport, row in summary["sockets"].items():
        print(
            f"  {transport}: {row['clients']} clients, {row['reconnections']} reconnections by "
            f"{row['clients_that_reconnected']} clients, "
            f"{row['same_conversation_after_reconnecting']} of them in the same conversation; "
            f"conversation id changed: {len(row['conversation_id_changed'])}"
        )
    handler = summary["handler_messages"]
    print("\nA handler's messages (delivered / sent, refused)")
    for group in ("by_channel", "by_server", "by_round"):
        cells = ", ".join(
            f"{name} {row['delivered']}/{row['sent']}"
            + (f" (refused {row['refused']})" if row["refused"] else "")
            for name, row in handler[group].items()
        )
        print(f"  {group.replace('_', ' ')}: {cells}")
    print(
        f"  delivery time p50 {ms(handler['delivery_p50_ms'])} ms, "
        f"max {ms(handler['delivery_max_ms'])} ms"
    )
    for note in handler["notes"]:
        print(f"  note: {note}")
    for refused in handler["refused"]:
        print(f"  refused: {refused['channel']} via server {refused['server']}: {refused['error']}")
    storage = summary["storage"]
    print("\nStored in PostgreSQL (user events) against what was sent")
    print(
        f"  {storage['conversations']} conversations: {storage.get('attempted', 0)} messages "
        f"sent, {storage.get('accepted', 0)} went through, {storage.get('stored', 0)} stored; "
        f"lost {storage.get('lost', 0)}, doubled {storage.get('duplicated', 0)}, "
        f"failed but stored {storage.get('failed_but_stored', 0)}, "
        f"out of order {storage.get('out_of_order', 0)}"
    )
    print(
        f"  conversations that went on after the kill: "
        f"{storage['conversations_continued_after_the_kill']} of {storage['conversations']}"
    )
    problems = [p for p in storage["problems"] if p["what"] in ("lost", "failed but stored")]
    for problem in problems:
        print(
            f"  {problem['what']}: {problem['channel']} relative {problem['relative']} "
            f"(conversation {problem['conversation'][:16]}…) at {problem['t_s']} s "
            f"[{problem['phase']}]: \"{problem['text']}\" error={problem['error'] or '-'}"
        )
        if problem["under_way_at_a_kill"]:
            print(f"      {problem['under_way_at_a_kill']}")
        if problem["socket_broke_within_10_s"] is not None:
            print(f"      the socket broke {problem['socket_broke_within_10_s']} s after it")
        if problem["answer_taken_for_its_own"]:
            print(f"      answer taken for its own: \"{problem['answer_taken_for_its_own']}\"")
        if problem["connection_until_next_message"]:
            print(f"      socket: {'; '.join(problem['connection_until_next_message'])}")
    for problem in storage["problems"]:
        if problem["what"] == "doubled or out of order":
            print(f"  doubled or out of order: {problem['channel']} relative "
                  f"{problem['relative']} ({problem['conversation']})")  # fmt: skip
    escalations = summary["escalations"]
    print("\nEscalations")
    print(
        f"  {escalations['escalations']} escalated conversations {escalations['by_level']}; "
        f"risk messages through: {escalations['risk_messages_accepted']}, acute escalation "
        f"missing: {len(escalations['acute_escalation_missing_for_relatives'])}"
    )
    print(
        f"  rows per conversation and level > 1: {len(escalations['doubled_rows'])}; staff "
        f"notifications {escalations['notifications']}, doubled "
        f"{len(escalations['doubled_notifications'])}, current level never notified "
        f"{len(escalations['current_level_not_notified'])}"
    )
    saturation = summary["saturation"]
    one, both = saturation["rasa_1_alone"], saturation["through_haproxy"]
    print(f"\nSaturation: {saturation['senders']} REST senders, closed loop, no pauses")
    for name, row in (("Rasa server 1 alone", one), ("through HAProxy (2 servers)", both)):
        cpu = row.get("cpu", {})
        top = cpu_shares(cpu, 5)
        print(
            f"  {name:28s} {row['messages_per_s']:6.1f} msg/s  p50 {ms(row['p50_ms'])} ms "
            f"p95 {ms(row['p95_ms'])} ms  errors {sum(row['errors'].values())}; CPU busy "
            f"{cpu.get('machine_busy_percent', '-')}% ({top}); the cluster used "
            f"{cpu.get('cluster_cores', '-')} cores: {row['messages_per_cluster_core_s']} msg "
            "per core-second"
        )
    print(
        f"  ratio two servers / one: {saturation['ratio']} in messages per second, "
        f"{saturation['ratio_per_cluster_core']} per core-second of the cluster"
    )
    print("\nCPU during the load (share of all cores)")
    for phase, cpu in summary["cpu_during_load"].items():
        top = cpu_shares(cpu, 6)
        print(f"  {phase}: busy {cpu.get('machine_busy_percent', '-')}% ({top})")
    print("\nLatency by conversation length (before the kill, same load), ms p50 / p95")
    print("  " + ", ".join(
        f"{name.removeprefix('messages ')}: {ms(row['p50_ms'])} / {ms(row['p95_ms'])}"
        for name, row in summary["latency_by_conversation_length_before_the_kill"].items()
    ))  # fmt: skip
    print(
        "\nOver time (30 s steps): sent, failed, p50 / p95 ms, CPU busy %, the cluster's CPU "
        "ms per message, /ready failed 1|2"
    )
    for row in summary["time_series"]:
        checks = row["ready_checks"]
        print(
            f"  {row['t_s']:4d} s {row['messages']:4d} {row['failed']:3d}  "
            f"{ms(row['p50_ms']):>5s} / {ms(row['p95_ms']):>5s}  {row['cpu_busy_percent']}%  "
            f"{ms(row['cluster_cpu_ms_per_message']):>4s}  "
            f"{checks['rasa 1']['failed']}|{checks['rasa 2']['failed']} "
            f"(slowest {checks['rasa 1']['max_ms']}|{checks['rasa 2']['max_ms']} ms)"
        )
    print("/ready failing twice in a row (HAProxy would take the server out), from-to s:")
    for server, periods in summary["ready_checks_failing_twice_in_a_row"].items():
        print(f"  {server}: {periods or 'never'}")
    print("\nWarnings and errors in the servers' logs")
    for log, messages in summary["server_log_warnings"].items():
        for message, count in messages.items():
            print(f"  {log}: {count} x {message}")
    print("\nVerdict: " + ("PASS" if not summary["findings"] else "FAIL"))
    for finding in summary["findings"]:
        print(f"  - {finding}")


def time_series(ctx: Context, cpu: CpuSampler, probe: ReadyProbe, seconds: int = 30) -> list:
    """Per `seconds` of the run: messages sent, failed, latency, CPU, /ready checks."""
    timeline = ctx.timeline
    rows = []
    start = timeline.start
    while start < (timeline.load_done or timeline.end):
        end = start + seconds
        chosen = [r for r in ctx.sent if start <= r.at < end]
        answered = [r.latency_ms for r in chosen if r.answered and r.latency_ms is not None]
        machine = cpu.summary(start, end)
        checks = {}
        for server in probe.urls:
            mine = [x for x in probe.samples if x[1] == server and start <= x[0] < end]
            checks[f"rasa {server}"] = {
                "max_ms": round(max((x[2] for x in mine), default=0)),
                "failed": sum(1 for x in mine if x[3] != "ok"),
            }
        rows.append(
            {
                "t_s": round(start - timeline.start),
                "messages": len(chosen),
                "failed": sum(1 for r in chosen if r.error),
                "p50_ms": percentile(answered, 50),
                "p95_ms": percentile(answered, 95),
                "cpu_busy_percent": machine.get("machine_busy_percent"),
                "cluster_cores": machine.get("cluster_cores"),
                # The cluster's CPU per message sent in this step (at a steady rate, what
                # one message costs).
                "cluster_cpu_ms_per_message": round(
                    1000 * machine["cluster_cores"] * seconds / len(chosen)
                )
                if chosen and machine.get("cluster_cores")
                else None,
                "ready_checks": checks,
            }
        )
        start = end
    return rows


def by_length(ctx: Context, step: int = 20) -> dict[str, dict]:
    """Latency by how long the conversation already was (its relative's message number),
    before the kill only: the same load, a longer tracker."""
    numbers: Counter = Counter()
    groups: dict[int, list[float]] = defaultdict(list)
    for record in sorted(ctx.sent, key=lambda r: r.at):
        numbers[record.relative] += 1
        if ctx.timeline.phase(record.at) == "before" and record.answered and record.latency_ms:
            groups[(numbers[record.relative] - 1) // step].append(record.latency_ms)
    return {
        f"messages {g * step + 1}-{(g + 1) * step}": {
            "n": len(values),
            "p50_ms": percentile(values, 50),
            "p95_ms": percentile(values, 95),
        }
        for g, values in sorted(groups.items())
    }


def message_rows(ctx: Context) -> list[list]:
    """Every message, compactly: t_s, relative, channel, text, latency, went through,
    answered, error."""
    return [
        [
            round(r.at - ctx.timeline.start, 2),
            r.relative,
            r.channel,
            r.text[:24],
            None if r.latency_ms is None else round(r.latency_ms),
            r.accepted,
            r.answered,
            r.error,
        ]
        for r in ctx.sent
    ]


def log_warnings(workdir: Path) -> dict[str, dict[str, int]]:
    """The servers' warnings and errors (LOG_LEVEL WARNING; they hold no message text),
    per log file, counted by what they say (timestamps and process ids left out)."""
    found: dict[str, dict[str, int]] = {}
    for path in sorted(workdir.rglob("*.log")):
        counted: Counter = Counter()
        for line in path.read_text(errors="replace").splitlines():
            match = re.search(r"\b(WARNING|ERROR|CRITICAL)\b\s*(.*)", line)
            if match is None or "DeprecationWarning" in line:
                continue
            message = re.sub(r"^\]?\s*(\(\d+\)\s*:\s*)?", "", match.group(2))
            message = re.sub(r"(?<![A-Za-z_])\d+(\.\d+)?", "N", message)[:140]
            counted[f"{match.group(1)} {message}"] += 1
        if counted:
            found[str(path.relative_to(workdir))] = dict(counted.most_common(12))
    return found


def findings_of(summary: dict) -> list[str]:
    found = []
    storage, escalations = summary["storage"], summary["escalations"]
    handler = summary["handler_messages"]
    if storage.get("lost"):
        found.append(f"{storage['lost']} messages that went through are not stored (lost)")
    if storage.get("duplicated"):
        found.append(f"{storage['duplicated']} messages stored more often than sent (doubled)")
    if escalations["doubled_rows"]:
        found.append(f"{len(escalations['doubled_rows'])} escalations doubled in the table")
    if escalations["doubled_notifications"]:
        found.append(
            f"{len(escalations['doubled_notifications'])} escalations notified twice at one level"
        )
    if handler["not_delivered"]:
        found.append(f"{len(handler['not_delivered'])} handler's messages accepted, not delivered")
    if handler["refused"]:
        found.append(f"{len(handler['refused'])} handler's messages refused by Rasa")
    changed = sum(len(row["conversation_id_changed"]) for row in summary["sockets"].values())
    if changed:
        found.append(f"{changed} web chats came back with another conversation id")
    return found


# --- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relatives", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--saturation-seconds", type=float, default=60)
    parser.add_argument("--saturation-senders", type=int, default=24)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="a PostgreSQL server")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    haproxy_binary()

    machine = machine_before()
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)
    jwt_secret = secrets.token_urlsafe(48)
    pseudonym_key = secrets.token_urlsafe(32)
    apis, api_servers = start_messaging_apis()
    redis = PrivateRedis(WORKDIR)
    redis.start()
    tracker = postgres_database(args.postgres, TRACKER_DB, fresh=True)
    escalations = postgres_database(args.postgres, ESCALATION_DB, fresh=True)
    try:
        with webhook_receiver() as (notify_server, notify_handler):
            overrides = {
                "RASA_JWT_SECRET": jwt_secret,
                "PSEUDONYM_KEY": pseudonym_key,
                "ADDRESS_BOOK_KEY": secrets.token_urlsafe(32),
                "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
                "TELEGRAM_API_URL": apis.telegram_url,
                "TWILIO_ACCOUNT_SID": TWILIO_SID,
                "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
                "TWILIO_API_URL": apis.twilio_url,
                "TWILIO_WEBHOOK_URL": TWILIO_WEBHOOK_URL,
                "NOTIFY_WEBHOOK_URL": f"http://127.0.0.1:{notify_server.server_port}/notify",
                "NOTIFY_WEBHOOK_SECRET": secrets.token_urlsafe(32),
                "NOTIFY_DIGEST_AFTER": "1000000",  # every notification on its own, counted
                "LOG_LEVEL": "WARNING",
                **NO_TRAFFIC_LIMITS,
            }
            # Every simulated relative comes from 127.0.0.1: HAProxy's limit per source is off.
            haproxy = {"VV_RATE_LIMIT": "1000000"}
            cluster = Cluster(WORKDIR, tracker, escalations, redis.url, overrides, 2, haproxy)
            print(
                "Starting the cluster (2 Rasa servers, 2 action servers, the dashboard, HAProxy; "
                f"logs in {WORKDIR.relative_to(PROJECT_ROOT)}/)...",
                flush=True,
            )
            try:
                cluster.start()  # from the main thread, which outlives the servers
                summary = bench(cluster, redis, apis, args, jwt_secret, pseudonym_key, tracker,
                                escalations, notify_handler.calls)  # fmt: skip
                summary["setup"]["machine_before"] = machine
            finally:
                cluster.stop()
    finally:
        redis.stop()
        for server in api_servers:
            server.shutdown()
        drop_postgres_database(args.postgres, TRACKER_DB)
        drop_postgres_database(args.postgres, ESCALATION_DB)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print_report(summary)
    print(f"\nWritten to {RESULTS.relative_to(PROJECT_ROOT)}")
    return 1 if summary["findings"] else 0


def machine_before() -> dict:
    """What else runs here: the benchmark shares two cores with whatever does."""
    servers = 0
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        servers += "bot.servers" in cmdline or "bot.staff" in cmdline
    return {
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpu_busy_percent_1s": psutil.cpu_percent(interval=1),
        "other_vagvisaren_servers_running": servers,
    }


def bench(
    cluster: Cluster,
    redis: PrivateRedis,
    apis: MessagingApis,
    args: argparse.Namespace,
    jwt_secret: str,
    pseudonym_key: str,
    tracker: str,
    escalations: str,
    notifications: list,
) -> dict:
    length = args.minutes * 60
    timeline = Timeline()
    ctx = Context(
        cluster.public_url,
        {1: cluster.rasa_url(1), 2: cluster.rasa_url(2)},
        jwt_secret,
        pseudonym_key,
        apis,
        timeline,
        args.seed,
    )
    with CpuSampler(cluster, redis) as cpu, ReadyProbe(ctx.rasa_urls) as probe:
        timeline.start = time.time()
        timeline.end = timeline.start + length
        print(
            f"{args.relatives} relatives for {args.minutes:g} min; Rasa server 2 is killed at "
            f"{KILL_RASA_AT:.0%}, action server 1 at {KILL_ACTIONS_AT:.0%}...",
            flush=True,
        )
        worker = threading.Thread(
            target=run_load, args=(ctx, args.relatives, args.minutes), daemon=True
        )
        worker.start()

        def wait_until(moment: float) -> None:
            while time.time() < moment and worker.is_alive():
                time.sleep(0.2)

        wait_until(timeline.start + KILL_RASA_AT * length)
        if worker.is_alive():
            cluster.kill("rasa", 2)
            timeline.rasa_kill = time.time()
            print(
                f"  {timeline.rasa_kill - timeline.start:.0f} s: Rasa server 2 killed", flush=True
            )
            cluster.restart("rasa", 2)  # here, in the main thread
            timeline.rasa_ready = time.time()
            print(
                f"  {timeline.rasa_ready - timeline.start:.0f} s: Rasa server 2 ready", flush=True
            )
        wait_until(timeline.start + KILL_ACTIONS_AT * length)
        if worker.is_alive():
            cluster.kill("actions", 1)
            timeline.actions_kill = time.time()
            print(f"  {timeline.actions_kill - timeline.start:.0f} s: action server 1 killed")
            cluster.restart("actions", 1)
            timeline.actions_ready = time.time()
            print(f"  {timeline.actions_ready - timeline.start:.0f} s: action server 1 ready")
        worker.join()
        if ctx.error:
            raise RuntimeError(f"the load failed:\n{ctx.error}")
        print(f"Load done: {len(ctx.sent)} messages. Saturation phase...", flush=True)
        series = time_series(ctx, cpu, probe)
        checks_failing = probe.out_periods(timeline.start)

        saturation = {"senders": args.saturation_senders}
        for name, url in (
            ("rasa_1_alone", cluster.rasa_url(1)),
            ("through_haproxy", cluster.public_url),
        ):
            time.sleep(3)
            started = time.time()
            result = asyncio.run(
                saturate(url, args.saturation_senders, args.saturation_seconds, name)
            )
            time.sleep(1.5)
            result["cpu"] = cpu.summary(started, started + result["seconds"])
            cores = result["cpu"].get("cluster_cores")
            # Messages per second of the cluster's own CPU: what the machine's other
            # processes took from it does not count.
            result["messages_per_cluster_core_s"] = (
                round(result["messages_per_s"] / cores, 2) if cores else None
            )
            saturation[name] = result
            print(f"  {name}: {result['messages_per_s']} msg/s", flush=True)
        one, both = saturation["rasa_1_alone"], saturation["through_haproxy"]
        saturation["ratio"] = ratio(both["messages_per_s"], one["messages_per_s"])
        saturation["ratio_per_cluster_core"] = ratio(
            both["messages_per_cluster_core_s"], one["messages_per_cluster_core_s"]
        )
        cpu_load = {
            PHASE_NAMES["before"]: cpu.summary(timeline.start, timeline.rasa_kill or timeline.end),
            PHASE_NAMES["during"]: cpu.summary(timeline.rasa_kill or 0, timeline.rasa_ready or 0),
            PHASE_NAMES["after"]: cpu.summary(timeline.rasa_ready or 0, timeline.load_done),
        }

    redactor = load_redactor(Settings.from_environment().contacts_file)
    time.sleep(2)  # the last notifications
    counts = Counter(r.channel for r in ctx.relatives)
    summary = {
        "setup": {
            "relatives": args.relatives,
            "minutes": args.minutes,
            "seed": args.seed,
            "cpu_count": psutil.cpu_count(),
            "channels": {channel: counts[channel] for channel in CHANNELS},
            "risk_relatives": sum(1 for r in ctx.relatives if r.risk_at is not None),
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "started": time.strftime("%H:%M:%S", time.localtime(timeline.start)),
        },
        "timeline": timeline.relative(),
        "ready_checks_failing_twice_in_a_row": checks_failing,
        "messages": len(ctx.sent),
        "latency": latency_table(ctx),
        "failures_by_phase": failures_by_phase(ctx),
        "sockets": sockets_summary(ctx),
        "handler_messages": handler_summary(ctx),
        "storage": verify_storage(ctx, tracker, redactor.redact),
        "escalations": verify_escalations(ctx, escalations, list(notifications)),
        "saturation": saturation,
        "cpu_during_load": cpu_load,
        "latency_by_conversation_length_before_the_kill": by_length(ctx),
        "time_series": series,
        "server_log_warnings": log_warnings(WORKDIR),
        "message_columns": [
            "t_s",
            "relative",
            "channel",
            "text",
            "latency_ms",
            "went_through",
            "answered",
            "error",
        ],  # fmt: skip
        "message_rows": message_rows(ctx),
        "socket_connection_events": {
            r.index: [(round(t - timeline.start, 1), what) for t, what in r.events]
            for r in ctx.relatives
            if isinstance(r, SocketRelative)
        },
    }
    summary["findings"] = findings_of(summary)
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
