"""Real servers on loopback ports of their own, with a fresh SQLite database."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest

from bot.launcher import ServerProcesses, free_port
from bot.settings import settings

TEST_JWT_SECRET = "integration-test-secret-that-is-long-enough-for-hs256"


def admin_token(secret: str = TEST_JWT_SECRET) -> str:
    return jwt.encode({"user": {"username": "tester", "role": "admin"}}, secret, algorithm="HS256")


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

    def request(
        self, path: str, payload: Any = None, token: str | None = None, raw: bytes | None = None
    ) -> Reply:
        data = (
            raw if raw is not None else (None if payload is None else json.dumps(payload).encode())
        )
        headers = {"Content-Type": "application/json"}
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
        return [
            event["metadata"].get("utter_action")
            for event in reply.body["events"]
            if event["event"] == "bot"
        ]

    def logs(self) -> str:
        return "".join(path.read_text(errors="replace") for path in self.log_dir.glob("*.log"))


@pytest.fixture(scope="session")
def bot(tmp_path_factory) -> Bot:
    assert settings.model_path.exists(), "run `make test`, which trains the model first"
    base = tmp_path_factory.mktemp("servers")
    rasa_port, action_port = free_port(), free_port()
    database = base / "tracker.db"
    processes = ServerProcesses(
        {
            "RASA_PORT": str(rasa_port),
            "ACTION_SERVER_PORT": str(action_port),
            "RASA_JWT_SECRET": TEST_JWT_SECRET,
            "TRACKER_SQLITE_PATH": str(database),
            "LOG_LEVEL": "INFO",
        },
        log_dir=base / "logs",
    )
    processes.start()
    yield Bot(f"http://127.0.0.1:{rasa_port}", database, base / "logs", processes)
    processes.stop()
