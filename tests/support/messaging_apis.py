"""Local stand-ins for the Telegram Bot API and Twilio's Messages API, speaking their
protocols as documented (paths, bodies, authentication, error answers) and recording every
call, so the messaging channels are tested without reaching either service."""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from bot.launcher import free_port

TELEGRAM_TOKEN = "123456789:AAtest-token-for-the-stand-in"
TELEGRAM_SECRET = "telegram-webhook-secret-for-tests"
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-auth-token-for-tests"
TWILIO_SMS_NUMBER = "+46700000001"
TWILIO_WHATSAPP_NUMBER = "whatsapp:+46700000002"
# The public webhook address Twilio signs (what a municipality sets in Twilio's console).
TWILIO_WEBHOOK_URL = "https://chatt.kommun.example/webhooks/twilio/webhook"


@dataclass
class Recorder:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append((method, body))

    def count(self) -> int:
        with self.lock:
            return len(self.calls)

    def since(self, start: int, method: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [body for name, body in self.calls[start:] if method in (None, name)]

    def wait_for(self, start: int, method: str, predicate, seconds: float = 60) -> list[dict]:
        """The calls since `start` up to the first that `predicate` accepts."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            calls = self.since(start, method)
            for index, body in enumerate(calls):
                if predicate(body):
                    return calls[: index + 1]
            time.sleep(0.1)
        raise AssertionError(f"no matching {method} call; got {self.since(start, method)}")


class _Handler(BaseHTTPRequestHandler):
    recorder: Recorder

    def log_message(self, *args) -> None:
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class TelegramHandler(_Handler):
    """https://core.telegram.org/bots/api: POST /bot<token>/<method>, JSON or form body,
    answers {"ok": true, "result": ...} or {"ok": false, "error_code", "description"}."""

    known_chats: set[int]
    slow_down_once: list[bool]

    def do_GET(self) -> None:  # noqa: N802
        self.do_POST()

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?")[0]
        prefix = f"/bot{TELEGRAM_TOKEN}/"
        if not path.startswith("/bot"):
            return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        if not path.startswith(prefix):
            return self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = path[len(prefix) :]
        raw = self._body()
        if "json" in (self.headers.get("Content-Type") or ""):
            body = json.loads(raw or b"{}")
        else:
            body = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
        answer = getattr(self, f"_{method}", None)
        if answer is None:
            return self._error(404, "Not Found: method not found")
        return answer(body)

    def _error(self, code: int, description: str, **extra) -> None:
        self._json(code, {"ok": False, "error_code": code, "description": description, **extra})

    def _getMe(self, body) -> None:  # noqa: N802
        self.recorder.add("getMe", body)
        self._json(
            200,
            {
                "ok": True,
                "result": {
                    "id": 123456789,
                    "is_bot": True,
                    "first_name": "Vägvisaren",
                    "username": "vagvisaren_test_bot",
                },
            },
        )

    def _setWebhook(self, body) -> None:  # noqa: N802
        if not str(body.get("url", "")).startswith("https://"):
            return self._error(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = body.get("secret_token", "")
        if secret and not all(c.isalnum() or c in "_-" for c in secret) or len(secret) > 256:
            return self._error(400, "Bad Request: secret token contains unallowed characters")
        self.recorder.add("setWebhook", body)
        self._json(200, {"ok": True, "result": True, "description": "Webhook was set"})

    def _answerCallbackQuery(self, body) -> None:  # noqa: N802
        if not body.get("callback_query_id"):
            return self._error(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.recorder.add("answerCallbackQuery", body)
        self._json(200, {"ok": True, "result": True})

    CHAT_ACTIONS = frozenset(
        {
            "typing",
            "upload_photo",
            "record_video",
            "upload_video",
            "record_voice",
            "upload_voice",
            "upload_document",
            "choose_sticker",
            "find_location",
            "record_video_note",
            "upload_video_note",
        }
    )

    def _sendChatAction(self, body) -> None:  # noqa: N802
        chat_id = body.get("chat_id")
        if chat_id in (None, ""):
            return self._error(400, "Bad Request: chat_id is empty")
        if int(chat_id) not in self.known_chats:
            return self._error(400, "Bad Request: chat not found")
        if body.get("action") not in self.CHAT_ACTIONS:
            return self._error(400, "Bad Request: wrong parameter action in request")
        self.recorder.add("sendChatAction", body)
        self._json(200, {"ok": True, "result": True})

    def _sendMessage(self, body) -> None:  # noqa: N802
        if self.slow_down_once and self.slow_down_once.pop():
            self.recorder.add("429", body)
            return self._error(
                429, "Too Many Requests: retry after 1", parameters={"retry_after": 1}
            )
        chat_id, text = body.get("chat_id"), body.get("text")
        if chat_id in (None, ""):
            return self._error(400, "Bad Request: chat_id is empty")
        if int(chat_id) not in self.known_chats:
            return self._error(400, "Bad Request: chat not found")
        if not text:
            return self._error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return self._error(400, "Bad Request: message is too long")
        markup = body.get("reply_markup")
        if markup is not None:
            rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                return self._error(400, "Bad Request: can't parse inline keyboard button")
            for button in (button for row in rows for button in row):
                data = button.get("callback_data", "")
                if not button.get("text") or not 1 <= len(data.encode()) <= 64:
                    return self._error(400, "Bad Request: BUTTON_DATA_INVALID")
        self.recorder.add("sendMessage", body)
        self._json(
            200,
            {
                "ok": True,
                "result": {
                    "message_id": self.recorder.count(),
                    "chat": {"id": int(chat_id), "type": "private"},
                    "date": int(time.time()),
                    "text": text,
                },
            },
        )


class TwilioHandler(_Handler):
    """https://www.twilio.com/docs/messaging/api/message-resource: POST
    /2010-04-01/Accounts/<AccountSid>/Messages.json, HTTP basic auth (sid, token), form
    fields To, From, Body; 201 with the message resource, or an error with Twilio's code."""

    def do_POST(self) -> None:  # noqa: N802
        expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._twilio_error(401, 20003, "Authenticate")
        if self.path != f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json":
            return self._twilio_error(404, 20404, "The requested resource was not found")
        fields = {
            k: v[0] for k, v in parse_qs(self._body().decode(), keep_blank_values=True).items()
        }
        to, sender, body = fields.get("To", ""), fields.get("From", ""), fields.get("Body", "")
        if not to:
            return self._twilio_error(400, 21604, "A 'To' phone number is required.")
        if sender not in (TWILIO_SMS_NUMBER, TWILIO_WHATSAPP_NUMBER):
            return self._twilio_error(
                400, 21606, "The From phone number is not a valid, SMS-capable inbound phone number"
            )
        if to.startswith("whatsapp:") != sender.startswith("whatsapp:"):
            return self._twilio_error(
                400, 63007, "Twilio could not find a Channel with the specified From address"
            )
        if not body:
            return self._twilio_error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return self._twilio_error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        self.recorder.add("Messages", fields)
        self._json(
            201,
            {
                "sid": f"SM{self.recorder.count():032d}",
                "status": "queued",
                "to": to,
                "from": sender,
                "body": body,
                "account_sid": TWILIO_SID,
            },
        )

    def _twilio_error(self, status: int, code: int, message: str) -> None:
        self._json(
            status,
            {
                "code": code,
                "message": message,
                "status": status,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
            },
        )


@dataclass
class MessagingApis:
    telegram: Recorder
    telegram_url: str
    telegram_chats: set[int]
    telegram_slow_down_once: list[bool]
    twilio: Recorder
    twilio_url: str


def start_messaging_apis() -> tuple[MessagingApis, list[ThreadingHTTPServer]]:
    telegram, twilio = Recorder(), Recorder()
    chats: set[int] = set()
    slow_down: list[bool] = []
    telegram_handler = type(
        "Telegram",
        (TelegramHandler,),
        {"recorder": telegram, "known_chats": chats, "slow_down_once": slow_down},
    )
    twilio_handler = type("Twilio", (TwilioHandler,), {"recorder": twilio})
    servers = [
        ThreadingHTTPServer(("127.0.0.1", free_port()), telegram_handler),
        ThreadingHTTPServer(("127.0.0.1", free_port()), twilio_handler),
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    apis = MessagingApis(
        telegram,
        f"http://127.0.0.1:{servers[0].server_port}",
        chats,
        slow_down,
        twilio,
        f"http://127.0.0.1:{servers[1].server_port}",
    )
    return apis, servers
