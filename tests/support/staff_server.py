"""The staff dashboard as a real server on a loopback port, a logged-in client, and what
the dashboard, handoff and browser tests share."""

from __future__ import annotations

import itertools
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from bot.launcher import free_port
from bot.pseudonym import conversation_ref
from bot.settings import PROJECT_ROOT
from bot.staff.accounts import Accounts
from bot.staff.model import Role
from bot.staff.security import TOTP_STEP_SECONDS, totp_now
from bot.store.engine import make_engine, migrate
from tests.support.databases import escalation_of
from tests.support.servers import (
    TEST_JWT_SECRET,
    TEST_PSEUDONYM_KEY,
    TEST_TOTP_KEY,
    running_servers,
    server_environment,
)

PASSWORD = "a long enough password"
RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
XSS_PAYLOADS = [
    line
    for line in (PROJECT_ROOT / "tests/data/xss_payloads.txt").read_text().splitlines()
    if line and not line.startswith("# ")
]
_names = itertools.count(1)


@dataclass
class StaffServer:
    url: str
    escalation_url: str
    tracker_url: str
    process: subprocess.Popen
    log: Path
    accounts: Accounts = field(init=False)

    def __post_init__(self) -> None:
        self.accounts = Accounts(make_engine(self.escalation_url), TEST_TOTP_KEY)

    def new_account(self, role: Role = Role.HANDLER) -> tuple[str, str]:
        """A fresh account that has finished its setup: (username, TOTP secret)."""
        username = f"{role.value}{next(_names)}"
        secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        token = self.accounts.create_user(username, role)
        self.accounts.complete_setup(token, PASSWORD, secret, totp_now(secret))
        return username, secret

    def client(self, role: Role = Role.HANDLER) -> StaffClient:
        username, secret = self.new_account(role)
        client = StaffClient(self.url, username)
        client.log_in(username, PASSWORD, next_code(secret))
        return client


def next_code(secret: str) -> str:
    """The code of the next 30-second step (accepted, and not yet used by this account:
    setup used the current one)."""
    return totp_now(secret, time.time() + TOTP_STEP_SECONDS)


class StaffClient:
    def __init__(self, url: str, username: str = "") -> None:
        self.url = url
        self.username = username
        self.http = requests.Session()
        self.csrf = ""

    def get(self, path: str, **kwargs) -> requests.Response:
        response = self.http.get(self.url + path, allow_redirects=False, timeout=10, **kwargs)
        self._remember_csrf(response)
        return response

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kwargs):
        form = dict(data or {})
        if csrf:
            form["csrf"] = self.csrf
        return self.http.post(
            self.url + path, data=form, allow_redirects=False, timeout=10, **kwargs
        )

    def log_in(self, username: str, password: str, code: str) -> requests.Response:
        response = self.http.post(
            self.url + "/login",
            data={"username": username, "password": password, "code": code},
            allow_redirects=False,
            timeout=10,
        )
        if response.status_code == 302:
            self.get("/")
        return response

    def _remember_csrf(self, response: requests.Response) -> None:
        match = re.search(r'name="csrf" value="([^"]+)"', response.text)
        if match:
            self.csrf = match.group(1)


@contextmanager
def staff_server(
    directory: Path,
    extra_env: dict[str, str] | None = None,
    escalation_url: str | None = None,
    tracker_url: str | None = None,
) -> Iterator[StaffServer]:
    """The dashboard with its own SQLite databases in `directory`, or the given ones (to
    share them with running Rasa servers)."""
    port = free_port()
    escalation_url = escalation_url or f"sqlite:///{directory / 'escalations.db'}"
    tracker_url = tracker_url or f"sqlite:///{directory / 'tracker.db'}"
    migrate(escalation_url)
    environment = {
        **server_environment(directory),
        "ESCALATION_DATABASE_URL": escalation_url,
        "TRACKER_DATABASE_URL": tracker_url,
        "STAFF_PORT": str(port),
        "DASHBOARD_URL": f"http://127.0.0.1:{port}",
        "STAFF_TOTP_KEY": TEST_TOTP_KEY,
        **(extra_env or {}),
    }
    with running_servers(environment, directory, ("staff",), timeout=60) as processes:
        yield StaffServer(
            processes.staff_url,
            escalation_url,
            tracker_url,
            processes.processes["staff"],
            directory / "staff.log",
        )


@contextmanager
def staff_server_for(bot, directory: Path) -> Iterator[StaffServer]:
    """The dashboard on the running bot's databases, talking to its Rasa server."""
    environment = {
        "RASA_INTERNAL_URL": bot.url,
        "RASA_JWT_SECRET": TEST_JWT_SECRET,
        "PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
    }
    with staff_server(
        directory,
        environment,
        escalation_url=f"sqlite:///{bot.escalation_database}",
        tracker_url=f"sqlite:///{bot.database}",
    ) as server:
        yield server


def first_line(name: str) -> str:
    """A domain response's opening, before any {placeholder}."""
    return RESPONSES[name][0]["text"].split("{")[0].split("\n")[0]


def escalation_for(database: str, session_id: str, wait: float = 15) -> dict:
    """The escalation of a conversation, waiting for the background write."""
    escalation = escalation_of(database, conversation_ref(session_id, TEST_PSEUDONYM_KEY), wait)
    assert escalation is not None, "no escalation was stored"
    return escalation
