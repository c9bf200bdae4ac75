"""The bot's own servers for a test: the action server and the Rasa server (and, when asked,
the demo page or the staff dashboard) as child processes on free loopback ports, with stores
in a directory of the test's own, the test's keys, and each test's own settings on top.

    with private_bot(directory, {"LIMIT_MESSAGES_PER_SOURCE": "8"}) as bot:
        bot.say("someone", "hej")

Everything starts from bot.launcher.throwaway_overrides (free ports, SQLite stores in
`directory`, nobody notified, no traffic limits), as the benchmark and the transcripts do.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from bot.conversation import responses_of
from bot.launcher import STARTUP_TIMEOUT_SECONDS, ServerProcesses, throwaway_overrides
from tests.support.databases import escalations_when

TEST_JWT_SECRET = "integration-test-secret-that-is-long-enough-for-hs256"
TEST_PSEUDONYM_KEY = "integration-test-pseudonym-key"
TEST_TOTP_KEY = "integration-test-totp-key"
TEST_WEBHOOK_SECRET = "integration-test-webhook-secret"
# The one site allowed to embed the web chat in the integration tests.
WIDGET_ORIGIN = "https://www.kommun.example"


def admin_token(secret: str = TEST_JWT_SECRET) -> str:
    """Short-lived, as every token must be: Rasa refuses tokens without exp (issue 17)."""
    payload = {"user": {"username": "tester", "role": "admin"}, "exp": int(time.time()) + 600}
    return jwt.encode(payload, secret, algorithm="HS256")


def server_environment(directory: Path) -> dict[str, str]:
    """Settings for the test's own servers: free ports, stores in `directory`, nobody
    notified, no traffic limits, the test's JWT secret and pseudonym key, logs at INFO (some
    tests read them)."""
    return {
        **throwaway_overrides(directory),
        "RASA_JWT_SECRET": TEST_JWT_SECRET,
        "PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
        "LOG_LEVEL": "INFO",
    }


@contextmanager
def running_servers(
    environment: Mapping[str, str],
    log_dir: Path,
    servers: tuple[str, ...] = ("actions", "rasa"),
    timeout: float = STARTUP_TIMEOUT_SECONDS,
) -> Iterator[ServerProcesses]:
    """`servers` (of "actions", "rasa", "staff", "demo") with these settings (over the
    process environment and `.env`), each logging to `log_dir`/<name>.log; stopped after."""
    processes = ServerProcesses(
        environment,
        log_dir=log_dir,
        with_staff="staff" in servers,
        with_demo="demo" in servers,
    )
    if {"actions", "rasa"} <= set(servers):
        processes.start(timeout)  # the action server first; all of them waited for
    else:
        for name in servers:
            processes.start_one(name, timeout)
    try:
        yield processes
    finally:
        processes.stop()


@dataclass
class Reply:
    status: int
    body: Any


@dataclass
class Bot:
    url: str
    database: Path
    log_dir: Path
    processes: ServerProcesses
    escalation_database: Path

    def request(
        self,
        path: str,
        payload: Any = None,
        token: str | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = (
            raw if raw is not None else (None if payload is None else json.dumps(payload).encode())
        )
        headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.url + path, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return Reply(response.status, json.loads(response.read() or b"null"))
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                return Reply(error.code, json.loads(body or b"null"))
            except json.JSONDecodeError:
                return Reply(error.code, body.decode(errors="replace"))

    def say(self, sender: str, message: str) -> list[dict[str, Any]]:
        reply = self.request("/webhooks/rest/webhook", {"sender": sender, "message": message})
        assert reply.status == 200, reply
        return reply.body

    def bot_responses(self, sender: str) -> list[str]:
        """Names of the responses the bot sent, in order, from Rasa's tracker."""
        reply = self.request(f"/conversations/{sender}/tracker", token=admin_token())
        assert reply.status == 200, reply
        # A message that carries several responses lists them all (issue 16).
        return [
            name
            for event in reply.body["events"]
            if event["event"] == "bot"
            for name in responses_of(event["metadata"])
        ]

    def turn(self, sender: str, message: str) -> list[str]:
        """Sends one message; the names of the responses of this turn, in order."""
        before = len(self.bot_responses(sender))
        self.say(sender, message)
        return self.bot_responses(sender)[before:]

    def slots(self, sender: str) -> dict[str, Any]:
        reply = self.request(f"/conversations/{sender}/tracker", token=admin_token())
        return reply.body["slots"]

    @property
    def escalation_url(self) -> str:
        return f"sqlite:///{self.escalation_database}"

    def escalations(self) -> list[dict[str, Any]]:
        """Rows of the escalation store, waiting briefly for background writes."""
        return escalations_when(self.escalation_url)

    def logs(self) -> str:
        return "".join(path.read_text(errors="replace") for path in self.log_dir.glob("*.log"))


def _sqlite_file(url: str, otherwise: Path) -> Path:
    """The file of a SQLite URL; `otherwise` for a store on another server."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else otherwise


@contextmanager
def private_bot(
    directory: Path, overrides: Mapping[str, str] | None = None, with_demo: bool = False
) -> Iterator[Bot]:
    """The action server and the Rasa server (and the demo page, `with_demo`) of a test's
    own: server_environment(directory) with `overrides` on top."""
    environment = {**server_environment(directory), **(overrides or {})}
    servers = ("actions", "rasa", "demo") if with_demo else ("actions", "rasa")
    with running_servers(environment, directory / "logs", servers) as processes:
        yield Bot(
            processes.rasa_url,
            _sqlite_file(environment["TRACKER_DATABASE_URL"], directory / "none.db"),
            directory / "logs",
            processes,
            _sqlite_file(environment["ESCALATION_DATABASE_URL"], directory / "none.db"),
        )
