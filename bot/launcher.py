"""`make run`: starts the action server, the Rasa server and the staff dashboard, waits
until they answer, prints where to talk to the bot, and stops them all on Ctrl-C.

`ServerProcesses` is also what the integration tests and the benchmark use to run the
real servers on loopback ports of their own.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from bot.channels.widget.assets import SCRIPT_PATH
from bot.contacts import check_at_startup
from bot.retention import purge
from bot.settings import PROJECT_ROOT, Settings, environment

logger = logging.getLogger("vagvisaren")

STARTUP_TIMEOUT_SECONDS = 240
PURGE_INTERVAL_SECONDS = 3600


class ServerError(RuntimeError):
    """A server did not come up."""


def free_port() -> int:
    """A loopback port nobody listens on right now (for tests and the benchmark)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the launcher dies without stopping it (kill -9)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not Linux: Ctrl-C and SIGTERM still stop the children
        pass


def _wait_or_kill(process: subprocess.Popen, grace_seconds: float) -> None:
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


SERVER_MODULES = {"staff": ["bot.staff"], "demo": ["bot.channels.widget.demo"]}


# Tools and test servers: every simulated relative writes from 127.0.0.1 and faster than
# a person, so the limits for anonymous traffic (bot/channels/abuse_limits.py) are off there;
# tests/integration/test_abuse_limits.py runs servers with them on.
NO_TRAFFIC_LIMITS = {
    "LIMIT_MESSAGES_PER_CONVERSATION": "0",
    "LIMIT_MESSAGES_PER_SOURCE": "0",
    "LIMIT_NEW_CHATS_PER_SOURCE": "0",
}


def throwaway_overrides(workdir: Path) -> dict[str, str]:
    """Settings for servers on free loopback ports whose conversations and escalations go
    to stores in `workdir`, never the real ones, and notify nobody (bench, transcripts)."""
    return {
        "RASA_PORT": str(free_port()),
        "ACTION_SERVER_PORT": str(free_port()),
        "TRACKER_DATABASE_URL": f"sqlite:///{workdir / 'tracker.db'}",
        "ESCALATION_DATABASE_URL": f"sqlite:///{workdir / 'escalations.db'}",
        "ESCALATION_RETRY_FILE": str(workdir / "escalation-retry.jsonl"),
        "NOTIFY_WEBHOOK_URL": "",
        "SMTP_HOST": "",
        "LOG_LEVEL": "WARNING",
        **NO_TRAFFIC_LIMITS,
    }


class ServerProcesses:
    """The action server and the Rasa server as child processes.

    `overrides` are environment variables for the children (ports, database path), which
    Settings.from_environment() in the children turns into their configuration, over
    `.env`'s values.
    """

    def __init__(
        self,
        overrides: Mapping[str, str] | None = None,
        log_dir: Path | None = None,
        with_staff: bool = False,
        with_demo: bool = False,
    ):
        overrides = dict(overrides or {})
        child_settings = Settings.from_environment_mapping({**environment(), **overrides})
        self.environment = {**os.environ, **overrides, **child_settings.rasa_environment()}
        self.rasa_url = f"http://127.0.0.1:{child_settings.rasa_port}"
        self.action_url = f"http://127.0.0.1:{child_settings.action_server_port}"
        self.staff_url = f"http://{child_settings.staff_host}:{child_settings.staff_port}"
        self.demo_url = f"http://{child_settings.demo_host}:{child_settings.demo_port}"
        self.with_staff = with_staff
        self.with_demo = with_demo
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}

    def _spawn(self, name: str) -> subprocess.Popen:
        module = SERVER_MODULES.get(name, ["bot.servers", name])
        output = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 (kept open for the child)
        return subprocess.Popen(
            [sys.executable, "-m", *module],
            cwd=PROJECT_ROOT,
            env=self.environment,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,  # Ctrl-C goes to us; we stop the children in order
            preexec_fn=die_with_parent,
        )

    def start(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        self.spawn()
        self.wait_until_ready(timeout)

    def spawn(self) -> None:
        """Starts the servers without waiting for them. From the thread that will outlive
        them: a child gets SIGTERM when the thread that started it ends (die_with_parent)."""
        names = ["actions", "rasa"]
        names += ["staff"] if self.with_staff else []
        names += ["demo"] if self.with_demo else []
        for name in names:
            self.processes[name] = self._spawn(name)

    def wait_until_ready(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        self._wait_for({name: self._health_url(name) for name in self.processes}, timeout)

    def start_one(self, name: str, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        """Starts a server stopped with stop_one again, on the same port (tests: the
        widget reconnects after the Rasa server restarts)."""
        self.processes[name] = self._spawn(name)
        self._wait_for({name: self._health_url(name)}, timeout)

    def stop_one(self, name: str, grace_seconds: float = 15) -> None:
        process = self.processes[name]
        if process.poll() is None:
            process.terminate()
            _wait_or_kill(process, grace_seconds)

    def _health_url(self, name: str) -> str:
        return {
            "actions": f"{self.action_url}/health",
            "rasa": f"{self.rasa_url}/",
            "staff": f"{self.staff_url}/health",
            "demo": f"{self.demo_url}/",
        }[name]

    def _wait_for(self, checks: dict[str, str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = dict(checks)
        while pending:
            for name, url in list(pending.items()):
                if self.processes[name].poll() is not None:
                    self.stop()
                    raise ServerError(
                        f"the {name} server exited with code {self.processes[name].returncode}"
                    )
                if answers(url):
                    del pending[name]
            if time.monotonic() > deadline:
                self.stop()
                raise ServerError(f"timed out waiting for: {', '.join(pending)}")
            time.sleep(0.5)

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.processes.items()}

    def stop(self, grace_seconds: float = 15) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            _wait_or_kill(process, grace_seconds)

    def __enter__(self) -> ServerProcesses:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def preflight(config: Settings) -> None:
    """Fails early and clearly on what would otherwise break a conversation later."""
    if not config.rasa_jwt_secret:
        raise SystemExit("RASA_JWT_SECRET is not set: run `make env` to create .env")
    check_at_startup(config.contacts_file, config.contacts_max_age_days)
    if not config.model_path.exists():
        raise SystemExit(f"No trained model at {config.model_path}: run `make train`")


def _purge_periodically(config: Settings, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            purge(config)
        except Exception as error:  # a failed purge must never stop the bot; retried next hour
            logger.error("Retention purge failed (%s); retried in an hour", type(error).__name__)
        stop.wait(PURGE_INTERVAL_SECONDS)


def _print_banner(servers: ServerProcesses, settings: Settings) -> None:
    print(
        "\nVägvisaren is running.\n"
        f"  Talk to the bot (REST channel): POST {servers.rasa_url}/webhooks/rest/webhook\n"
        f'    curl -s {servers.rasa_url}/webhooks/rest/webhook -H "Content-Type: application/json" '
        '-d \'{"sender": "test", "message": "hej"}\'\n'
        f"  Rasa HTTP API (JWT required): {servers.rasa_url}/model/parse\n"
        f"  Action server: {servers.action_url}\n"
        f"  Staff dashboard: {servers.staff_url}/  (first admin: make admin NAME=username)\n"
        f"  Demo page with the web chat: {servers.demo_url}/\n"
        f'    embed it on your site: <script src="{settings.bot_public_url}{SCRIPT_PATH}" defer>'
        "</script>\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )


def main() -> int:
    settings = Settings.from_environment()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    preflight(settings)
    servers = ServerProcesses(with_staff=True, with_demo=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(
        "Starting the action server, the Rasa server, the staff dashboard and the demo page "
        "(loading the model takes a while)...",
        flush=True,
    )
    try:
        servers.start()
        threading.Thread(target=_purge_periodically, args=(settings, stop), daemon=True).start()
        _print_banner(servers, settings)
        while not stop.is_set():
            if any(process.poll() is not None for process in servers.processes.values()):
                logger.error("A server stopped unexpectedly; stopping the others.")
                return 1
            stop.wait(1)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        # Stop first: when stdout is a pipe (`make run | tee log`), Ctrl-C may have closed
        # it, and a failed print must not leave the servers running.
        servers.stop()
        with contextlib.suppress(OSError):
            print("\nVägvisaren stopped.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
