"""Staff notifications for new and upgraded escalations, and for a relative who asks to talk
to a person (NOTIFY_PERSON_REQUESTS): e-mail over SMTP and a signed webhook, each sent when
configured in .env.

A notification carries the level, the categories, the time and a link to the dashboard.
It never carries message text, the conversation reference or anything else that could
identify the relative: mail servers and chat tools keep copies.

A flood (a script that opens chats and writes risky words) must not bury the staff's
inboxes: at most NOTIFY_DIGEST_AFTER notifications go out per NOTIFY_DIGEST_MINUTES, one
by one; the escalations beyond that are all stored and on the dashboard as usual, and one
digest at the end of the window says how many more there were, and how many of them acute
(issue 17). The window is per action server process.

Webhook signature (like Stripe's): header `X-Vagvisaren-Signature: t=<unix time>,v1=<hex>`
where hex = HMAC-SHA256(NOTIFY_WEBHOOK_SECRET, "<unix time>.<raw body>"). Receivers should
reject signatures older than five minutes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from bot.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

TEMPLATES_FILE = PROJECT_ROOT / "data/texts/notifications.yml"
SIGNATURE_HEADER = "X-Vagvisaren-Signature"
TIMEOUT_SECONDS = 10
ATTEMPTS = 3


@dataclass(frozen=True)
class Notification:
    change: str  # "created", "upgraded" or "person_requested"
    escalation_id: int
    level: str
    categories: tuple[str, ...]
    at: datetime

    def link(self, dashboard_url: str) -> str:
        return f"{dashboard_url}/escalations/{self.escalation_id}"

    def payload(self, dashboard_url: str) -> dict:
        return {
            "event": f"escalation.{self.change}",
            "level": self.level,
            "categories": list(self.categories),
            "at": self.at.isoformat(),
            "link": self.link(dashboard_url),
        }


@dataclass(frozen=True)
class Digest:
    """The notifications held back in a window, as one."""

    count: int
    acute: int
    minutes: int
    at: datetime
    change: str = "digest"
    escalation_id: str = "-"

    def payload(self, dashboard_url: str) -> dict:
        return {
            "event": "escalation.digest",
            "count": self.count,
            "acute": self.acute,
            "minutes": self.minutes,
            "at": self.at.isoformat(),
            "link": f"{dashboard_url}/",
        }


class NotificationWindow:
    """At most `after` notifications per window of `minutes`, counted from the first one;
    beyond that they are held (counted) for one digest when the window closes."""

    def __init__(self, after: int, minutes: float, clock=time.monotonic) -> None:
        self.after, self.seconds, self.clock = after, minutes * 60, clock
        self.started = float("-inf")
        self.sent = self.held = self.held_acute = 0

    def admit(self, level: str) -> bool:
        now = self.clock()
        if now - self.started >= self.seconds and not self.held:
            self.started, self.sent = now, 0
        if self.sent < self.after:
            self.sent += 1
            return True
        self.held += 1
        self.held_acute += level == "acute"
        return False

    def remaining(self) -> float:
        return max(0.0, self.started + self.seconds - self.clock())

    def take_held(self) -> tuple[int, int]:
        """How many were held, and how many of them acute; a new window starts."""
        held = (self.held, self.held_acute)
        self.held = self.held_acute = self.sent = 0
        self.started = float("-inf")
        return held


@lru_cache(maxsize=4)
def load_templates(path: Path = TEMPLATES_FILE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["notifications"]


def category_labels() -> dict[str, str]:
    """One Swedish label per risk category, the same in notifications and on the
    dashboard (data/texts/notifications.yml), capitalised for use on its own."""
    return {
        code: label[:1].upper() + label[1:]
        for code, label in load_templates()["categories"].items()
    }


def email_message(
    notification: Notification | Digest, config: Settings, templates: dict | None = None
) -> EmailMessage:
    templates = templates or load_templates()
    if isinstance(notification, Digest):
        return _digest_message(notification, config, templates)
    values = {
        "level": templates["levels"].get(notification.level, notification.level),
        "categories": ", ".join(templates["categories"].get(c, c) for c in notification.categories),
        "time": _local_time(notification.at, config),
        "link": notification.link(config.dashboard_url),
    }
    message = EmailMessage()
    message["Subject"] = templates["subject"][notification.change].format(**values)
    message["From"] = config.notify_email_from
    message["To"] = ", ".join(config.notify_email_to)
    # A change may have a body of its own (a request for a person is no risk signal).
    body = templates.get("bodies", {}).get(notification.change, templates["body"])
    message.set_content(body.format(**values))
    return message


def _local_time(moment: datetime, config: Settings) -> str:
    """A time as staff read it: in STAFF_TIME_ZONE, as the dashboard shows it."""
    return moment.astimezone(ZoneInfo(config.staff_time_zone)).strftime("%Y-%m-%d %H:%M")


def _digest_message(digest: Digest, config: Settings, templates: dict) -> EmailMessage:
    values = {
        "count": digest.count,
        "acute": digest.acute,
        "minutes": digest.minutes,
        "time": _local_time(digest.at, config),
        "link": f"{config.dashboard_url}/",
    }
    message = EmailMessage()
    message["Subject"] = templates["subject"]["digest"].format(**values)
    message["From"] = config.notify_email_from
    message["To"] = ", ".join(config.notify_email_to)
    message.set_content(templates["digest_body"].format(**values))
    return message


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(
    secret: str, header: str, body: bytes, now: float | None = None, tolerance: int = 300
) -> bool:
    """What a receiver does; used by the tests and documented for integrators."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


class PlainLoginRefused(RuntimeError):
    """An SMTP password would have gone over a connection without TLS."""


class Notifier:
    def __init__(self, config: Settings, clock=time.monotonic) -> None:
        self.config = config
        self.window = NotificationWindow(
            config.notify_digest_after, config.notify_digest_minutes, clock
        )
        self._digest_task: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def email_enabled(self) -> bool:
        return bool(self.config.smtp_host and self.config.notify_email_to)

    @property
    def webhook_enabled(self) -> bool:
        return bool(self.config.notify_webhook_url)

    async def notify(self, notification: Notification) -> dict[str, bool]:
        """Sends every configured notification; returns which channels succeeded (none when
        it is held for the window's digest)."""
        if not (self.email_enabled or self.webhook_enabled):
            return {}
        if not self.window.admit(notification.level):
            self._send_digest_when_the_window_closes()
            return {}
        return await self._send(notification)

    def notify_in_background(self, notification: Notification) -> asyncio.Task | None:
        """Sends in the background, so the caller (an action answering the relative) never
        waits for a mail server; any failure is logged by its type only. None when nothing
        is configured to send to."""
        if not (self.email_enabled or self.webhook_enabled):
            return None
        task = asyncio.get_running_loop().create_task(self._notify_quietly(notification))
        self._tasks.add(task)  # keep a reference until done, or the task may be collected
        task.add_done_callback(self._tasks.discard)
        return task

    async def _notify_quietly(self, notification: Notification) -> None:
        try:
            await self.notify(notification)
        except Exception as error:  # never raise into the event loop; no content logged
            logger.error(
                "Staff notification for escalation %s failed: %s",
                notification.escalation_id,
                type(error).__name__,
            )

    async def wait_idle(self) -> None:
        """Waits for the notifications sent in the background (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _send_digest_when_the_window_closes(self) -> None:
        if self._digest_task is None or self._digest_task.done():
            self._digest_task = asyncio.get_running_loop().create_task(self._digest_later())

    async def _digest_later(self) -> None:
        await asyncio.sleep(self.window.remaining())
        count, acute = self.window.take_held()
        if count:
            logger.info("Staff notified of %d further escalations in one digest", count)
            minutes = round(self.window.seconds / 60)
            await self._send(Digest(count, acute, minutes, datetime.now(timezone.utc)))

    async def _send(self, notification: Notification | Digest) -> dict[str, bool]:
        results: dict[str, bool] = {}
        if self.email_enabled:
            results["email"] = await self._with_retries("email", self.send_email, notification)
        if self.webhook_enabled:
            results["webhook"] = await self._with_retries(
                "webhook", self.send_webhook, notification
            )
        return results

    async def _with_retries(self, channel: str, send, notification: Notification) -> bool:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await asyncio.to_thread(send, notification)
                logger.info(
                    "Staff notified by %s: escalation %s %s",
                    channel,
                    notification.escalation_id,
                    notification.change,
                )
                return True
            except Exception as error:  # any failure: log without content, retry, never raise
                logger.warning(
                    "Staff notification by %s failed (attempt %d of %d): %s",
                    channel, attempt, ATTEMPTS, type(error).__name__,
                )  # fmt: skip
                await asyncio.sleep(min(2**attempt, 10) if attempt < ATTEMPTS else 0)
        logger.error(
            "Staff notification by %s gave up for escalation %s",
            channel,
            notification.escalation_id,
        )
        return False

    def send_email(self, notification: Notification) -> None:
        """Over TLS whose certificate is verified (STARTTLS, or implicit TLS with
        SMTP_SSL); a password is never sent without TLS unless SMTP_ALLOW_PLAIN_LOGIN says
        so (issue 17: STARTTLS did not verify, and the default sent it in clear)."""
        config = self.config
        message = email_message(notification, config)
        context = ssl.create_default_context(cafile=config.smtp_ca_file or None)
        encrypted = config.smtp_ssl or config.smtp_starttls
        if config.smtp_user and not encrypted and not config.smtp_allow_plain_login:
            raise PlainLoginRefused(
                "SMTP_USER is set but the connection is not encrypted: set SMTP_STARTTLS or "
                "SMTP_SSL (or, knowingly, SMTP_ALLOW_PLAIN_LOGIN)"
            )
        if config.smtp_ssl:
            connection = smtplib.SMTP_SSL(
                config.smtp_host, config.smtp_port, timeout=TIMEOUT_SECONDS, context=context
            )
        else:
            connection = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=TIMEOUT_SECONDS)
        with connection as smtp:
            if config.smtp_starttls and not config.smtp_ssl:
                smtp.starttls(context=context)
            if config.smtp_user:
                smtp.login(config.smtp_user, config.smtp_password)
            smtp.send_message(message)

    def send_webhook(self, notification: Notification) -> None:
        body = json.dumps(notification.payload(self.config.dashboard_url)).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self.config.notify_webhook_secret, int(time.time()), body),
        }
        request = urllib.request.Request(
            self.config.notify_webhook_url, data=body, headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            if response.status >= 300:
                raise RuntimeError(f"webhook answered {response.status}")
