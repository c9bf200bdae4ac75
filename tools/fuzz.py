"""`make fuzz`: generated hostile input against every endpoint, and a check that the
servers survive it (issue 17).

Starts the real servers (Rasa, the action server, the staff dashboard) on loopback ports
with throwaway stores and a local stand-in for the Telegram and Twilio APIs, then sends
`--count` generated inputs: random and adversarial Unicode, empty and huge bodies, wrong
JSON shapes and content types, forged engine.io / socket.io frames over polling and
websockets, garbage on the raw socket, Telegram updates with the right secret and Twilio
calls signed as Twilio signs them, the dashboard's login and set-up (valid and invalid
links), and malformed bodies for the internal /model/parse (with a valid token) and the
action server's /webhook.

It passes when no answer is a 5xx, no request times out, no server process died, and a
normal relative is answered within normal time afterwards. Counts per endpoint and class
of answer are printed, with the case numbers of any failure; one case can be replayed
with `--case N` (each case is generated from the seed and its number alone).

Usage: python -m tools.fuzz [--seed S] [--count N] [--concurrency C] [--case N]

tests/integration/test_fuzz.py runs a seeded few hundred cases against the test servers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import random
import secrets
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import zlib
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from twilio.request_validator import RequestValidator

REQUEST_TIMEOUT_SECONDS = 60
# A normal relative afterwards: answered within this, as on an idle server.
NORMAL_ANSWER_SECONDS = 15
TWILIO_WEBHOOK_URL = "https://chatt.kommun.example/webhooks/twilio/webhook"
WIDGET_ORIGIN = "https://www.kommun.example"


@dataclass(frozen=True)
class Targets:
    """Where the servers answer, and the secrets a legitimate caller has."""

    rasa_url: str
    action_url: str
    staff_url: str
    jwt_secret: str
    telegram_secret: str
    twilio_token: str
    twilio_webhook_url: str
    setup_token: str

    def bearer(self) -> str:
        now = int(time.time())
        payload = {"user": {"username": "fuzz", "role": "admin"}, "iat": now, "exp": now + 300}
        return "Bearer " + jwt.encode(payload, self.jwt_secret, algorithm="HS256")


# ------------------------------------------------------------------------ generated values

ADVERSARIAL_TEXTS = [
    "",
    " ",
    "\x00",
    "\u202e\u2066evil\u2069",
    "\ufeff\u200b\u200d",
    "Z\u0351\u0360\u0361\u0362" * 40,
    "\U0001f469\u200d\U0001f469\u200d\U0001f467" * 30,
    "\ud800",
    "\udfff\ud800",
    "%s%n%x{0}{max_chars}{{7*7}}${jndi:ldap://x}",
    "'; drop table events; --",
    '<script>alert(1)</script><img src=x onerror="alert(1)">',
    "../../../../etc/passwd",
    "/restart",
    "/session_start",
    "/nlu_fallback",
    "/delete_conversation",
    '/ask_police{"age_group": "under_18", "relation": "son"}',
    '/greet{"x": [' + "[" * 200 + "]" * 200 + "]}",
    "/" + "a" * 300,
    "1",
    "99",
    "\u0661",
    " 2) ",
    "-1",
    "hej",
    "kan soc ta mina barn",
    "min son har köpt flygbiljett till syrien och åker i morgon bitti",
    "radera mitt samtal",
    "ÅÄÖ åäö " * 50,
    "\r\n" * 100,
    "\t" * 5000,
    "a" * 3999,
    "a" * 4001,
    "ring 070-123 45 67 eller anna.svensson@example.se, pnr 19800101-1234",
]

UNICODE_RANGES = [
    (0x20, 0x7E),
    (0x00, 0x1F),
    (0xA0, 0x24F),
    (0x300, 0x36F),
    (0x590, 0x6FF),
    (0x2000, 0x206F),
    (0x4E00, 0x9FFF),
    (0xD800, 0xDFFF),
    (0xE000, 0xF8FF),
    (0xFFF0, 0xFFFF),
    (0x1F300, 0x1FAFF),
    (0x10FFF0, 0x10FFFF),
]


class Inputs:
    """Seeded generator of hostile values."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def length(self) -> int:
        return self.rng.choice([0, 1, 2, 5, 20, 100, 1000, 3999, 4000, 4001, 20_000])

    def text(self) -> str:
        if self.chance(0.4):
            return self.rng.choice(ADVERSARIAL_TEXTS)
        size = self.rng.choice([0, 1, 3, 10, 50, 200, 1000, 5000])
        ranges = self.rng.sample(UNICODE_RANGES, self.rng.randint(1, 3))
        return "".join(chr(self.rng.randint(*self.rng.choice(ranges))) for _ in range(size))

    def scalar(self) -> Any:
        return self.rng.choice(
            [
                None,
                True,
                False,
                0,
                -1,
                2**63,
                -(2**80),
                1.5,
                1e308,
                float("nan"),
                "",
                self.text(),
                self.rng.randint(-(10**12), 10**12),
            ]
        )

    def value(self, depth: int = 0) -> Any:
        if depth > 3 or self.chance(0.5):
            return self.scalar()
        if self.chance(0.5):
            return [self.value(depth + 1) for _ in range(self.rng.randint(0, 4))]
        return {self.key(): self.value(depth + 1) for _ in range(self.rng.randint(0, 4))}

    def key(self) -> str:
        return self.rng.choice(
            ["sender", "message", "text", "metadata", "session_id", "id", "", "__proto__"]
            + [self.text()[:20]]
        )

    def maybe(self, value: Any) -> Any:
        """The value, or something of another shape."""
        return value if self.chance(0.6) else self.value()

    def raw_body(self) -> bytes:
        choice = self.rng.randrange(9)
        if choice == 0:
            return b""
        if choice == 1:
            return bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 2000)))
        if choice == 2:
            return self.text().encode("utf-8", "surrogatepass")
        if choice == 3:
            return b"[" * self.rng.choice([100, 10_000, 200_000])
        if choice == 4:
            return b'{"a":' * 5000 + b"1" + b"}" * 5000
        if choice == 5:
            return json.dumps(self.value())[: self.rng.randint(0, 50)].encode()
        if choice == 6:
            return "ÅÄÖ".encode("latin-1") * 10
        if choice == 7 and self.chance(0.1):
            return b'{"sender":"x","message":"' + b"a" * 1_100_000 + b'"}'  # over 1 MB: 413
        return json.dumps(self.value(), allow_nan=True).encode()

    def json_body(self, value: Any) -> bytes:
        return json.dumps(value, allow_nan=True).encode()

    def content_type(self, usual: str) -> str | None:
        return self.rng.choice(
            [usual] * 6
            + [
                None,
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "multipart/form-data",
                "application/json; charset=latin-1",
                "application/xml",
                "\u00e5/\u00e4",
                "",
            ]
        )

    def path_segment(self) -> str:
        raw = self.rng.choice(
            [
                self.text()[:200],
                "../../etc/passwd",
                "%00",
                "%ff%fe",
                "a" * 5000,
                secrets.token_urlsafe(32),
                "",
                "%2e%2e%2f",
            ]
        )
        return urllib.parse.quote(raw.encode("utf-8", "surrogatepass"), safe="%/.")


def form(pairs: Iterable[tuple[str, str]]) -> str:
    """URL-encoded pairs; lone surrogates go as the bytes they would be (invalid UTF-8)."""
    return urllib.parse.urlencode(
        [
            (key.encode("utf-8", "surrogatepass"), value.encode("utf-8", "surrogatepass"))
            for key, value in pairs
        ]
    )


# ------------------------------------------------------------------------- one request


@dataclass
class Outcome:
    endpoint: str
    result: str  # "2xx", "4xx", "5xx", "closed" (the server hung up), "timeout"
    detail: str = ""


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class Context:
    def __init__(
        self,
        targets: Targets,
        session: aiohttp.ClientSession,
        actions: list[str],
        source: str = "127.0.0.1",
    ):
        self.targets = targets
        self.session = session
        self.actions = actions
        self.source = source  # the loopback address the requests come from
        self.intents, self.slots = domain_names()

    async def request(
        self,
        endpoint: str,
        method: str,
        url: str,
        body: bytes | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Outcome:
        headers = dict(headers or {})
        skip = []
        if content_type is None:
            skip.append("Content-Type")
        else:
            headers["Content-Type"] = content_type
        try:
            async with self.session.request(
                method, url, data=body, headers=headers, skip_auto_headers=skip
            ) as response:
                text = await response.read()
                return Outcome(
                    endpoint, status_class(response.status), text[:300].decode("utf-8", "replace")
                )
        except asyncio.TimeoutError:
            return Outcome(endpoint, "timeout")
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError) as error:
            # OSError: ConnectionError, "Connection lost" while a body that is refused (413)
            # is still being sent.
            return Outcome(endpoint, "closed", type(error).__name__)


Case = Callable[[Context, Inputs], Awaitable[list[Outcome]]]


# ----------------------------------------------------------------------- the REST channel


async def rest_webhook(ctx: Context, gen: Inputs) -> list[Outcome]:
    url = ctx.targets.rasa_url + "/webhooks/rest/webhook"
    if gen.chance(0.5):
        payload: Any = {"sender": gen.maybe(uuid.uuid4().hex), "message": gen.maybe(gen.text())}
        if gen.chance(0.3):
            payload["metadata"] = gen.value()
        if gen.chance(0.2):
            payload[gen.key()] = gen.value()
        body = gen.json_body(payload)
    else:
        body = gen.raw_body()
    method = "POST" if gen.chance(0.9) else gen.rng.choice(["GET", "PUT", "DELETE", "OPTIONS"])
    return [
        await ctx.request("rest webhook", method, url, body, gen.content_type("application/json"))
    ]


# ----------------------------------------------------------------- socket.io / engine.io


def engineio_url(base: str, gen: Inputs, transport: str = "polling", sid: str | None = None):
    query = {"EIO": gen.rng.choice(["4"] * 8 + ["3", "5", "", "x"]), "transport": transport}
    if gen.chance(0.1):
        query["transport"] = gen.rng.choice(["", "flashsocket", gen.text()[:20]])
    if sid is not None:
        query["sid"] = sid
    if gen.chance(0.2):
        query[gen.key()[:20] or "k"] = gen.text()[:50]
    return f"{base}/socket.io/?{form(query.items())}"


def socketio_frame(gen: Inputs, session_id: str | None = None) -> str:
    """One socket.io packet inside an engine.io message packet ("4")."""
    event = gen.rng.choice(["session_request", "user_uttered", "disconnect", gen.text()[:30]])
    data: Any = gen.value()
    if event == "user_uttered" and gen.chance(0.7):
        data = {"session_id": gen.maybe(session_id), "message": gen.maybe(gen.text())}
    if event == "session_request" and gen.chance(0.5):
        data = {"session_id": gen.maybe(session_id)}
    choices = [
        "42" + json.dumps([event, data]),
        "42" + json.dumps([event]),
        "42" + json.dumps([gen.value()]),
        '451-["user_uttered",{"_placeholder":true,"num":0}]',
        "42[",
        "4",
        "40" + json.dumps(gen.value()),
        "41",
        "43" + json.dumps([gen.value()]),
        "44" + json.dumps(gen.value()),
        "49",
        "2probe",
        "3",
        "6",
        "9" + gen.text()[:100],
        gen.text()[:500],
        "\x1e".join("42" + json.dumps([event, gen.value()]) for _ in range(3)),
    ]
    return gen.rng.choice(choices)


async def polling_handshake(ctx: Context, gen: Inputs) -> tuple[Outcome, str | None]:
    url = engineio_url(ctx.targets.rasa_url, gen)
    headers = {"Origin": gen.rng.choice([WIDGET_ORIGIN, "https://evil.example", gen.text()[:50]])}
    if gen.chance(0.5):
        headers = {}
    outcome = await ctx.request("socket.io polling", "GET", url, headers=_ascii(headers))
    sid = None
    if outcome.result == "2xx" and outcome.detail.startswith("0{"):
        try:
            sid = json.loads(outcome.detail[1:].split("\x1e")[0])["sid"]
        except (ValueError, KeyError, TypeError):
            sid = None
    return outcome, sid


def _ascii(headers: dict[str, str]) -> dict[str, str]:
    """Header values aiohttp can send (latin-1, no line breaks)."""
    return {
        name: value.encode("latin-1", "replace")
        .decode("latin-1")
        .replace("\r", "")
        .replace("\n", "")
        for name, value in headers.items()
    }


async def socketio_polling(ctx: Context, gen: Inputs) -> list[Outcome]:
    outcome, sid = await polling_handshake(ctx, gen)
    outcomes = [outcome]
    base = ctx.targets.rasa_url
    if sid is None or gen.chance(0.2):
        # Forged: a session that does not exist, or no session at all.
        forged = gen.rng.choice([secrets.token_urlsafe(15), gen.text()[:40], ""])
        url = engineio_url(base, gen, sid=forged)
        body = socketio_frame(gen).encode("utf-8", "surrogatepass")
        outcomes.append(await ctx.request("socket.io polling", "POST", url, body, "text/plain"))
        return outcomes
    post_url = f"{base}/socket.io/?EIO=4&transport=polling&sid={sid}"
    connected = await ctx.request("socket.io polling", "POST", post_url, b"40", "text/plain")
    outcomes.append(connected)
    session_id = None
    if gen.chance(0.6):
        # A valid session first: the odd payloads then come with a real session id.
        outcomes.append(await ctx.request("socket.io polling", "GET", post_url))
        request = b'42["session_request",{"session_id":null}]'
        outcomes.append(
            await ctx.request("socket.io polling", "POST", post_url, request, "text/plain")
        )
        confirm = await ctx.request("socket.io polling", "GET", post_url)
        outcomes.append(confirm)
        if '"session_confirm"' in confirm.detail:
            session_id = confirm.detail.split('"session_confirm","')[1].split('"')[0]
    for _ in range(gen.rng.randint(1, 3)):
        frame = socketio_frame(gen, session_id).encode("utf-8", "surrogatepass")
        content_type = gen.content_type("text/plain;charset=UTF-8")
        outcomes.append(
            await ctx.request("socket.io polling", "POST", post_url, frame, content_type)
        )
    # Leave (engine.io close), so the server does not wait for this client's pings.
    outcomes.append(await ctx.request("socket.io polling", "POST", post_url, b"1", "text/plain"))
    return outcomes


async def socketio_websocket(ctx: Context, gen: Inputs) -> list[Outcome]:
    base = ctx.targets.rasa_url.replace("http://", "ws://")
    url = engineio_url(base, gen, transport="websocket")
    if gen.chance(0.3):
        return [await forged_upgrade(ctx, gen)]
    try:
        async with ctx.session.ws_connect(url, timeout=10, autoclose=True, heartbeat=None) as ws:
            outcome = Outcome("socket.io websocket", "1xx")
            frames = ["40"]
            if gen.chance(0.5):
                frames.append('42["session_request",{"session_id":null}]')
            frames += [socketio_frame(gen) for _ in range(gen.rng.randint(1, 4))]
            for frame in frames:
                if gen.chance(0.1):
                    await ws.send_bytes(bytes(gen.rng.getrandbits(8) for _ in range(50)))
                else:
                    await ws.send_str(frame.encode("utf-8", "replace").decode("utf-8"))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ws.receive(), 1)
            await ws.close()
            return [outcome]
    except aiohttp.WSServerHandshakeError as error:
        return [Outcome("socket.io websocket", status_class(error.status))]
    except asyncio.TimeoutError:
        return [Outcome("socket.io websocket", "timeout")]
    except (aiohttp.ClientConnectionError, ConnectionResetError) as error:
        return [Outcome("socket.io websocket", "closed", type(error).__name__)]


async def forged_upgrade(ctx: Context, gen: Inputs) -> Outcome:
    """A websocket handshake with wrong or missing headers, over plain HTTP."""
    headers = {
        "Upgrade": gen.rng.choice(["websocket", "WebSocket", "h2c", "", gen.text()[:20]]),
        "Connection": gen.rng.choice(["Upgrade", "upgrade, keep-alive", "close", ""]),
        "Sec-WebSocket-Key": gen.rng.choice(["", "x", "dGhlIHNhbXBsZSBub25jZQ==", gen.text()[:40]]),
        "Sec-WebSocket-Version": gen.rng.choice(["13", "8", "", "999999999999", gen.text()[:10]]),
    }
    url = engineio_url(ctx.targets.rasa_url, gen, transport="websocket")
    return await ctx.request("socket.io websocket", "GET", url, headers=_ascii(headers))


# ------------------------------------------------------------------------ widget routes


async def widget_routes(ctx: Context, gen: Inputs) -> list[Outcome]:
    name = gen.rng.choice(
        [
            "widget.js",
            "widget.css",
            "chat.html",
            "chat.js",
            "widget.js/",
            "widget." + gen.text()[:10],
        ]
    )
    quoted = urllib.parse.quote(name.encode("utf-8", "surrogatepass"))
    url = f"{ctx.targets.rasa_url}/webhooks/socketio/{quoted}"
    if gen.chance(0.3):
        url += "?" + form([("v", gen.text()[:100])])
    headers = {}
    if gen.chance(0.5):
        headers["If-None-Match"] = gen.rng.choice(['"x"', "*", "", gen.text()[:200]])
    method = gen.rng.choice(["GET"] * 6 + ["HEAD", "POST", "OPTIONS", "DELETE"])
    body = gen.raw_body() if method == "POST" else None
    return [await ctx.request("widget routes", method, url, body, headers=_ascii(headers))]


# ---------------------------------------------------------------------------- Telegram


def telegram_update(gen: Inputs) -> Any:
    chat_id = gen.rng.choice(
        [gen.rng.randint(1, 10**10), -(10**12), 0, 2**70, "123", "abc", 1.5, None, True, [1]]
    )
    chat = {"id": chat_id, "type": gen.rng.choice(["private"] * 4 + ["group", "channel", None, 5])}
    if gen.chance(0.1):
        chat = gen.value()
    text = gen.maybe(gen.rng.choice([gen.text(), "/start", "/start x", "/help"]))
    message: Any = {"message_id": gen.maybe(1), "date": gen.maybe(0), "chat": chat, "text": text}
    update: dict[str, Any] = {"update_id": gen.maybe(gen.rng.randint(1, 10**9))}
    kind = gen.rng.randrange(5)
    if kind == 0:
        update["callback_query"] = {
            "id": gen.maybe("cb" + secrets.token_hex(4)),
            "message": gen.maybe(message),
            "data": gen.maybe(gen.rng.choice(["/ask_police", "/restart", gen.text()[:64]])),
        }
    elif kind == 1:
        update[gen.rng.choice(["edited_message", "channel_post", "my_chat_member", "poll"])] = (
            message
        )
    elif kind == 2:
        update["message"] = gen.value()
    else:
        update["message"] = message
    return update if gen.chance(0.9) else gen.value()


async def telegram_webhook(ctx: Context, gen: Inputs) -> list[Outcome]:
    url = ctx.targets.rasa_url + "/webhooks/telegram/webhook"
    secret = ctx.targets.telegram_secret
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    if gen.chance(0.15):
        headers = gen.rng.choice([{}, {"X-Telegram-Bot-Api-Secret-Token": secret[:-1]}])
    body = gen.json_body(telegram_update(gen)) if gen.chance(0.85) else gen.raw_body()
    content_type = gen.content_type("application/json")
    return [await ctx.request("telegram webhook", "POST", url, body, content_type, headers)]


# ------------------------------------------------------------------------------ Twilio


def twilio_fields(gen: Inputs) -> dict[str, str]:
    number = "+4670" + "".join(gen.rng.choices("0123456789", k=7))
    sender = gen.rng.choice(
        [number, "whatsapp:" + number, "", "whatsapp:", gen.text()[:40], "+" + "9" * 200]
    )
    fields = {
        "MessageSid": gen.rng.choice(["SM" + secrets.token_hex(16), "", gen.text()[:40]]),
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": gen.rng.choice(["+46700000001", "whatsapp:+46700000002", "", gen.text()[:20]]),
        "Body": gen.rng.choice([gen.text(), "1", "2", "0", "99", "\u0661", " 3. ", ""]),
        "NumMedia": gen.rng.choice(["0", "1", "-1", "x"]),
    }
    for name in gen.rng.sample(list(fields), gen.rng.randint(0, 2)):
        del fields[name]  # missing fields
    if gen.chance(0.2):
        fields[gen.text()[:20] or "X"] = gen.text()[:200]
    # Only what survives an HTTP form: the signature covers what the server parses.
    return {
        key.encode("utf-8", "replace").decode("utf-8"): value.encode("utf-8", "replace").decode(
            "utf-8"
        )
        for key, value in fields.items()
    }


async def twilio_webhook(ctx: Context, gen: Inputs) -> list[Outcome]:
    url = ctx.targets.rasa_url + "/webhooks/twilio/webhook"
    fields = twilio_fields(gen)
    validator = RequestValidator(ctx.targets.twilio_token)
    signature = validator.compute_signature(ctx.targets.twilio_webhook_url, fields)
    if gen.chance(0.15):
        signature = gen.rng.choice(["", "bm90IGEgc2lnbmF0dXJl", signature[:-2], gen.text()[:30]])
    body = urllib.parse.urlencode(fields).encode()
    if gen.chance(0.1):
        body = gen.raw_body()
    headers = _ascii({"X-Twilio-Signature": signature})
    content_type = gen.content_type("application/x-www-form-urlencoded")
    return [await ctx.request("twilio webhook", "POST", url, body, content_type, headers)]


# --------------------------------------------------------------------- staff dashboard


def form_body(gen: Inputs, names: Iterable[str]) -> tuple[bytes, str | None]:
    fields = [
        (name, gen.rng.choice([gen.text()[:300], "", "a long enough password"])) for name in names
    ]
    if gen.chance(0.3):
        fields.append((gen.key(), gen.text()[:100]))  # unknown or repeated
    if gen.chance(0.2):
        fields = fields[: gen.rng.randint(0, len(fields))]
    encoded = form(fields).encode()
    if gen.chance(0.2):
        return gen.raw_body(), gen.content_type("application/x-www-form-urlencoded")
    return encoded, gen.content_type("application/x-www-form-urlencoded")


def staff_cookie(gen: Inputs) -> dict[str, str]:
    if gen.chance(0.7):
        return {}
    return _ascii(
        {"Cookie": "vv_staff=" + gen.rng.choice([secrets.token_urlsafe(32), gen.text()[:100], ""])}
    )


async def staff_login(ctx: Context, gen: Inputs) -> list[Outcome]:
    url = ctx.targets.staff_url + "/login"
    if gen.chance(0.2):
        query = form([("next", gen.text()[:100])])
        return [
            await ctx.request("staff /login", "GET", f"{url}?{query}", headers=staff_cookie(gen))
        ]
    body, content_type = form_body(gen, ["username", "password", "code"])
    return [await ctx.request("staff /login", "POST", url, body, content_type, staff_cookie(gen))]


async def staff_setup(ctx: Context, gen: Inputs) -> list[Outcome]:
    valid = gen.chance(0.5)
    token = ctx.targets.setup_token if valid else gen.path_segment()
    endpoint = "staff /setup (valid link)" if valid else "staff /setup (invalid link)"
    url = f"{ctx.targets.staff_url}/setup/{token}"
    if gen.chance(0.3):
        return [await ctx.request(endpoint, "GET", url, headers=staff_cookie(gen))]
    body, content_type = form_body(gen, ["password", "password_again", "code", "secret", "csrf"])
    return [await ctx.request(endpoint, "POST", url, body, content_type, staff_cookie(gen))]


async def staff_health(ctx: Context, gen: Inputs) -> list[Outcome]:
    url = ctx.targets.staff_url + "/health"
    if gen.chance(0.3):
        url += "?" + form([(gen.key(), gen.text()[:50])])
    method = gen.rng.choice(["GET", "GET", "HEAD", "POST"])
    return [await ctx.request("staff /health", method, url, headers=staff_cookie(gen))]


# ------------------------------------------------------------ internal: Rasa and actions


async def rasa_parse(ctx: Context, gen: Inputs) -> list[Outcome]:
    url = ctx.targets.rasa_url + "/model/parse"
    if gen.chance(0.2):
        mode = gen.rng.choice(["wit", "luis", "dialogflow", "rasa", "", gen.text()[:20]])
        url += "?" + form([("emulation_mode", mode)])
    headers = {"Authorization": ctx.targets.bearer()}
    if gen.chance(0.15):
        headers["Authorization"] = gen.rng.choice(
            ["", "Bearer", "Bearer x.y.z", "Basic Zm9vOmJhcg==", "Bearer " + "a" * 10_000]
        )
    if gen.chance(0.6):
        payload: Any = {"text": gen.maybe(gen.text())}
        if gen.chance(0.3):
            payload["message_id"] = gen.value()
        body = gen.json_body(payload)
    else:
        body = gen.raw_body()
    content_type = gen.content_type("application/json")
    return [
        await ctx.request("rasa /model/parse", "POST", url, body, content_type, _ascii(headers))
    ]


def well_shaped_tracker(ctx: Context, gen: Inputs) -> dict[str, Any]:
    """A tracker of the shape Rasa sends, with odd contents: what an action must survive."""
    intent = gen.rng.choice(ctx.intents + [gen.text()[:30]])
    message = {
        "text": gen.text(),
        "intent": {"name": intent, "confidence": gen.rng.choice([0.0, 1.0, 0.5, -1, 1e308])},
        "entities": [{"entity": gen.rng.choice(ctx.slots or ["x"]), "value": gen.scalar()}],
        "intent_ranking": [{"name": intent, "confidence": gen.rng.random()}],
        "metadata": gen.rng.choice([{}, None, {"sender": "staff"}]),
    }
    events = [
        {"event": "user", "timestamp": 1.0, "text": gen.text(), "parse_data": message},
        {"event": "bot", "timestamp": 2.0, "text": gen.text(), "metadata": {}},
        {"event": "slot", "name": gen.rng.choice(ctx.slots or ["x"]), "value": gen.scalar()},
        {"event": gen.rng.choice(["action", "restart", "session_started", gen.text()[:20]])},
    ]
    return {
        "sender_id": gen.rng.choice([uuid.uuid4().hex, "", gen.text()[:128]]),
        "slots": {name: gen.scalar() for name in gen.rng.sample(ctx.slots, min(3, len(ctx.slots)))},
        "latest_message": message,
        "events": gen.rng.sample(events, gen.rng.randint(0, len(events))),
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }


def action_call(ctx: Context, gen: Inputs) -> Any:
    well_shaped = gen.chance(0.5)
    tracker: Any = well_shaped_tracker(ctx, gen) if well_shaped else gen.value()
    call = {
        "next_action": gen.rng.choice(ctx.actions or ["action_x"]),
        "sender_id": "x",
        "tracker": tracker,
        "domain": domain_dict() if well_shaped else {},
        "version": "3.6.21",
    }
    if not well_shaped:
        for name in gen.rng.sample(list(call), gen.rng.randint(0, 3)):
            call[name] = gen.value() if gen.chance(0.5) else call.pop(name)
    return call


async def action_webhook(ctx: Context, gen: Inputs) -> list[Outcome]:
    url = ctx.targets.action_url + "/webhook"
    body = gen.json_body(action_call(ctx, gen)) if gen.chance(0.6) else gen.raw_body()
    headers = {}
    if gen.chance(0.15):
        headers["Content-Encoding"] = "deflate"
        body = zlib.compress(body) if gen.chance(0.5) else body
    content_type = gen.content_type("application/json")
    return [await ctx.request("actions /webhook", "POST", url, body, content_type, headers)]


# --------------------------------------------------------------------------- raw socket


async def raw_socket(ctx: Context, gen: Inputs) -> list[Outcome]:
    """Bytes that are not HTTP, or broken HTTP, straight to a server's port."""
    base = gen.rng.choice([ctx.targets.rasa_url, ctx.targets.staff_url, ctx.targets.action_url])
    parsed = urllib.parse.urlsplit(base)
    payload = gen.rng.choice(
        [
            bytes(gen.rng.getrandbits(8) for _ in range(gen.rng.randint(1, 3000))) + b"\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
            b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"GET / HTTP/1.1\r\n" + b"X: " + b"y" * 20_000 + b"\r\n\r\n",
            b"GET / HTTP/9.9\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS hello
        ]
    )
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(parsed.hostname, parsed.port, local_addr=(ctx.source, 0)), 10
        )
        try:
            writer.write(payload)
            await writer.drain()
            first = await asyncio.wait_for(reader.read(64), 10)
        finally:
            writer.close()
    except asyncio.TimeoutError:
        # Sanic waits for the rest of an incomplete request: that is not a hang.
        return [Outcome("raw socket", "closed", "no answer to an incomplete request")]
    except (ConnectionError, OSError) as error:
        return [Outcome("raw socket", "closed", type(error).__name__)]
    if first.startswith(b"HTTP/1.1 ") and first[9:12].isdigit():
        return [Outcome("raw socket", status_class(int(first[9:12])), first.decode("latin-1"))]
    return [Outcome("raw socket", "closed", "no HTTP answer")]


# ---------------------------------------------------------------------------- the run

CASES: list[tuple[Case, int]] = [
    (rest_webhook, 20),
    (socketio_polling, 12),
    (socketio_websocket, 6),
    (widget_routes, 5),
    (telegram_webhook, 12),
    (twilio_webhook, 12),
    (staff_login, 7),
    (staff_setup, 7),
    (staff_health, 2),
    (rasa_parse, 8),
    (action_webhook, 8),
    (raw_socket, 3),
]


def case_for(seed: int, number: int) -> tuple[Case, Inputs]:
    """The case number `number` of a run: the same for the same seed, whatever the order."""
    rng = random.Random(f"{seed}:{number}")
    case = rng.choices([case for case, _ in CASES], [weight for _, weight in CASES])[0]
    return case, Inputs(rng)


@dataclass
class Tally:
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[tuple[int, str, Outcome]] = field(default_factory=list)
    own_errors: list[tuple[int, str, Outcome]] = field(default_factory=list)
    inputs: int = 0
    requests: int = 0

    def add(self, number: int, case_name: str, outcomes: list[Outcome]) -> None:
        self.inputs += 1
        for outcome in outcomes:
            self.requests += 1
            self.counts[outcome.endpoint][outcome.result] += 1
            if outcome.result in ("5xx", "timeout"):
                self.failures.append((number, case_name, outcome))
            elif outcome.result == "fuzzer":
                self.own_errors.append((number, case_name, outcome))


def source_address(number: int) -> str:
    """Each input comes from a loopback address of its own (Linux routes all of 127/8 to
    the loopback interface). The servers' per-source limits (bot/channels/abuse_limits.py) then
    neither turn the deeper paths into polite refusals nor spill over into other tests
    that share the servers from 127.0.0.1; the per-conversation limit still applies."""
    return f"127.77.{number // 250 % 250}.{number % 250 + 1}"


def client_session(source: str) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    connector = aiohttp.TCPConnector(force_close=True, local_addr=(source, 0))
    return aiohttp.ClientSession(timeout=timeout, connector=connector)


async def run_cases(
    targets: Targets, seed: int, numbers: Iterable[int], concurrency: int = 6
) -> Tally:
    tally = Tally()
    async with client_session("127.0.0.1") as session:
        actions = await action_names(session, targets)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in numbers:
        queue.put_nowait(number)

    async def worker() -> None:
        while not queue.empty():
            number = queue.get_nowait()
            case, gen = case_for(seed, number)
            source = source_address(number)
            async with client_session(source) as session:
                ctx = Context(targets, session, actions, source)
                try:
                    outcomes = await case(ctx, gen)
                except Exception as error:  # the fuzzer's own failure: counted, not fatal
                    outcomes = [Outcome(case.__name__, "fuzzer", type(error).__name__)]
                tally.add(number, case.__name__, outcomes)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return tally


@functools.lru_cache(maxsize=1)
def domain_dict() -> dict[str, Any]:
    """The domain as Rasa sends it with every action call."""
    from rasa.shared.core.domain import Domain

    from bot.settings import PROJECT_ROOT

    return Domain.load(str(PROJECT_ROOT / "domain.yml")).as_dict()


@functools.lru_cache(maxsize=1)
def domain_names() -> tuple[list[str], list[str]]:
    """The intents and slots of domain.yml, for calls an action could get from Rasa."""
    import yaml

    from bot.settings import PROJECT_ROOT

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    intents = [next(iter(item)) if isinstance(item, dict) else item for item in domain["intents"]]
    return intents, list(domain.get("slots") or {})


async def action_names(session: aiohttp.ClientSession, targets: Targets) -> list[str]:
    async with session.get(targets.action_url + "/actions") as reply:
        return [entry["name"] for entry in await reply.json()]


async def answers_a_relative(targets: Targets) -> str | None:
    """None when a normal relative is answered in normal time; otherwise what went wrong."""
    timeout = aiohttp.ClientTimeout(total=NORMAL_ANSWER_SECONDS)
    checks = [
        ("POST", targets.rasa_url + "/webhooks/rest/webhook"),
        ("GET", targets.action_url + "/health"),
        ("GET", targets.staff_url + "/health"),
    ]
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for method, url in checks:
            started = time.perf_counter()
            payload = {"sender": uuid.uuid4().hex, "message": "hej"} if method == "POST" else None
            try:
                async with session.request(method, url, json=payload) as reply:
                    body = await reply.json()
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                return f"{url}: {type(error).__name__} after {time.perf_counter() - started:.1f} s"
            if reply.status != 200 or not body:
                return f"{url}: {reply.status} {body!r}"[:300]
    return None


def report(tally: Tally, seconds: float) -> None:
    classes = ["1xx", "2xx", "3xx", "4xx", "5xx", "closed", "timeout", "fuzzer"]
    print(f"\n{'endpoint':30s}" + "".join(f"{name:>9s}" for name in classes))
    for endpoint in sorted(tally.counts):
        row = tally.counts[endpoint]
        print(f"{endpoint:30s}" + "".join(f"{row.get(name, 0):9d}" for name in classes))
    total = Counter()
    for row in tally.counts.values():
        total.update(row)
    print(f"{'all':30s}" + "".join(f"{total.get(name, 0):9d}" for name in classes))
    rate = tally.inputs / seconds if seconds else 0
    print(
        f"\n{tally.inputs} inputs, {tally.requests} requests in {seconds:.0f} s "
        f"({rate:.1f} inputs/s)"
    )
    for number, case_name, outcome in tally.own_errors[:5]:
        print(f"  the fuzzer's own error in case {number} ({case_name}): {outcome.detail}")
    for number, case_name, outcome in tally.failures[:20]:
        print(
            f"  FAIL case {number} ({case_name}) {outcome.endpoint}: {outcome.result} "
            f"{outcome.detail[:200]!r}"
        )


def verdict(tally: Tally, dead: list[str], afterwards: str | None) -> int:
    problems = []
    if tally.failures:
        problems.append(f"{len(tally.failures)} answers of 5xx or timeouts")
    if dead:
        problems.append(f"crashed: {', '.join(dead)}")
    if afterwards:
        problems.append(f"a normal relative was not answered afterwards: {afterwards}")
    for problem in problems:
        print("FAILED:", problem)
    if not problems:
        print("Passed: no 5xx, no timeout, no crash, and a normal relative is answered.")
    return 1 if problems else 0


# ------------------------------------------------------------- servers for `make fuzz`


class ProviderStandIn(BaseHTTPRequestHandler):
    """Telegram's Bot API and Twilio's Messages API as far as the bot needs: every call
    succeeds, so answers go out without anything leaving the machine."""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"ok": True, "result": {}, "sid": "SM" + "0" * 32}).encode()
        self.send_response(201 if "/2010-04-01/" in self.path else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def fuzz_overrides(workdir: Path, provider_url: str) -> tuple[dict[str, str], dict[str, str]]:
    """Environment for the servers, and the secrets the fuzzer signs with."""
    from bot.launcher import free_port, throwaway_overrides

    secrets_used = {
        "jwt": secrets.token_urlsafe(48),
        "telegram": secrets.token_urlsafe(24),
        "twilio": secrets.token_hex(16),
    }
    staff_port = free_port()
    overrides = {
        **throwaway_overrides(workdir),
        "RASA_JWT_SECRET": secrets_used["jwt"],
        "PSEUDONYM_KEY": secrets.token_urlsafe(32),
        "STAFF_TOTP_KEY": secrets.token_urlsafe(32),
        "STAFF_PORT": str(staff_port),
        "DASHBOARD_URL": f"http://127.0.0.1:{staff_port}",
        "WIDGET_ORIGINS": WIDGET_ORIGIN,
        "TELEGRAM_BOT_TOKEN": "123456789:fuzz",
        "TELEGRAM_SECRET_TOKEN": secrets_used["telegram"],
        "TELEGRAM_API_URL": provider_url,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": secrets_used["twilio"],
        "TWILIO_API_URL": provider_url,
        "TWILIO_WEBHOOK_URL": TWILIO_WEBHOOK_URL,
        "LOG_LEVEL": "WARNING",
    }
    return overrides, secrets_used


def setup_token(escalation_url: str) -> str:
    """A valid set-up link's token, for a fresh handler account."""
    from bot.staff.accounts import Accounts
    from bot.staff.model import Role
    from bot.store.engine import make_engine

    return Accounts(make_engine(escalation_url)).create_user(
        f"fuzz{secrets.randbelow(10**6)}", Role.HANDLER
    )


def logged_errors(log_dir: Path) -> Counter:
    """ERROR lines and tracebacks in the servers' logs, by server and first words."""
    found: Counter = Counter()
    for path in sorted(log_dir.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if " ERROR " in line or line.startswith("Traceback"):
                found[f"{path.stem}: {line.split(' ERROR ')[-1][:90]}"] += 1
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--case", type=int, action="append", help="replay this case (repeatable)")
    parser.add_argument("--log-dir", type=Path, help="keep the servers' logs here")
    args = parser.parse_args(argv)
    from bot.launcher import ServerProcesses, free_port

    provider = ThreadingHTTPServer(("127.0.0.1", free_port()), ProviderStandIn)
    threading.Thread(target=provider.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="vagvisaren-fuzz-") as tmp:
        workdir = Path(tmp)
        log_dir = args.log_dir or workdir / "logs"
        overrides, used = fuzz_overrides(workdir, f"http://127.0.0.1:{provider.server_port}")
        print("Starting the servers (loading the model takes a while)...", flush=True)
        with ServerProcesses(overrides, log_dir=log_dir, with_staff=True) as servers:
            targets = Targets(
                rasa_url=servers.rasa_url,
                action_url=servers.action_url,
                staff_url=servers.staff_url,
                jwt_secret=used["jwt"],
                telegram_secret=used["telegram"],
                twilio_token=used["twilio"],
                twilio_webhook_url=TWILIO_WEBHOOK_URL,
                setup_token=setup_token(overrides["ESCALATION_DATABASE_URL"]),
            )
            numbers = args.case or range(args.count)
            print(
                f"Seed {args.seed}: {len(numbers)} inputs, {args.concurrency} at a time...",
                flush=True,
            )
            started = time.perf_counter()
            tally = asyncio.run(run_cases(targets, args.seed, numbers, args.concurrency))
            seconds = time.perf_counter() - started
            dead = [
                name for name, process in servers.processes.items() if process.poll() is not None
            ]
            afterwards = asyncio.run(answers_a_relative(targets))
            report(tally, seconds)
            errors = logged_errors(log_dir)
            if errors:
                print("\nLogged errors (not failures by themselves):")
                for line, number in errors.most_common(15):
                    print(f"  {number:6d}  {line}")
        provider.shutdown()
        return verdict(tally, dead, afterwards)


if __name__ == "__main__":
    sys.exit(main())
