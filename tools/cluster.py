"""`make cluster`: several servers behind HAProxy on this machine, as docs/deployment.md
describes them for several machines.

Two "nodes" (each what one machine would run: a Rasa server and an action server; the
first also the staff dashboard), PostgreSQL for conversations and escalations, Redis for
locks, the socket.io queue and the address book, and HAProxy with the deployment's own
configuration (deployment/haproxy/vagvisaren.cfg), its addresses set through VV_*
variables. The suite (tests/integration/test_cluster.py) and `make bench-cluster` start the
same cluster with `Cluster`.

    python -m tools.cluster [--postgres URL] [--redis URL]    (Ctrl-C stops it)
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.launcher import (
    STARTUP_TIMEOUT_SECONDS,
    ServerError,
    ServerProcesses,
    answers,
    die_with_parent,
    free_port,
    throwaway_overrides,
)
from bot.settings import PROJECT_ROOT

HAPROXY_CONFIG = PROJECT_ROOT / "deployment/haproxy/vagvisaren.cfg"
DEFAULT_POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/3"


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/sbin")
    if found is None:
        raise ServerError("HAProxy is not installed: `make haproxy` (Debian's package)")
    return found


def distinct_free_ports(count: int) -> list[int]:
    """`count` different free ports: free_port() can give one twice, and HAProxy binds with
    SO_REUSEPORT, so two listeners on one port would share its traffic without an error."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


class PrivateRedis:
    """A Redis server of the cluster's own on a free port, without persistence (as
    docs/deployment.md asks), so a test can stop it and start it again."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 15) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not self.answers():
            if time.monotonic() > deadline:
                raise ServerError("redis-server did not start")
            time.sleep(0.1)

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def postgres_database(server_url: str, name: str, fresh: bool = False) -> str:
    """The URL of database `name` on the server of `server_url`, created when missing
    (dropped first when `fresh`)."""
    if fresh:
        drop_postgres_database(server_url, name)
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(server_url: str, name: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


class Cluster:
    """`rasa_servers` nodes (Rasa + action server each, the dashboard on the first) and
    HAProxy, all on loopback ports of their own. `overrides` go to every server."""

    def __init__(
        self,
        workdir: Path,
        tracker_url: str,
        escalation_url: str,
        redis_url: str,
        overrides: Mapping[str, str] | None = None,
        nodes: int = 2,
        haproxy_overrides: Mapping[str, str] | None = None,
        with_demo: bool = False,
    ) -> None:
        self.workdir = workdir
        self.haproxy_overrides = dict(haproxy_overrides or {})
        ports = distinct_free_ports(6 + 2 * nodes)
        names = ("public", "internal", "actions", "staff_lb", "staff", "demo")
        self.ports = dict(zip(names, ports[:6], strict=True))
        self.public_url = f"http://127.0.0.1:{self.ports['public']}"
        self.internal_url = f"http://127.0.0.1:{self.ports['internal']}"
        self.actions_url = f"http://127.0.0.1:{self.ports['actions']}"
        self.staff_url = f"http://127.0.0.1:{self.ports['staff_lb']}"
        self.demo_url = f"http://127.0.0.1:{self.ports['demo']}"
        common = {
            **throwaway_overrides(workdir),
            "TRACKER_DATABASE_URL": tracker_url,
            "ESCALATION_DATABASE_URL": escalation_url,
            "REDIS_URL": redis_url,
            "RASA_SERVERS": str(nodes),
            "RASA_INTERNAL_URL": self.internal_url,
            "ACTION_SERVER_URL": f"{self.actions_url}/webhook",
            "BOT_PUBLIC_URL": self.public_url,
            "DASHBOARD_URL": self.staff_url,
            "STAFF_PORT": str(self.ports["staff"]),
            # The demo municipality page (with_demo), whose chat loads through HAProxy.
            "DEMO_PORT": str(self.ports["demo"]),
            "WIDGET_ORIGINS": f"http://127.0.0.1:{self.ports['demo']}",
            "TRUSTED_PROXIES": "1",  # HAProxy sets X-Forwarded-For
            **(overrides or {}),
        }
        self.environment = common
        self.nodes = [
            ServerProcesses(
                {
                    **common,
                    "RASA_PORT": str(ports[6 + 2 * index]),
                    "ACTION_SERVER_PORT": str(ports[7 + 2 * index]),
                    "ESCALATION_RETRY_FILE": str(workdir / f"escalation-retry-{index + 1}.jsonl"),
                },
                log_dir=workdir / f"node{index + 1}",
                with_staff=index == 0,
                with_demo=with_demo and index == 0,
            )
            for index in range(nodes)
        ]
        self.haproxy: subprocess.Popen | None = None

    # --- start and stop -------------------------------------------------------------

    def start(self, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        self.migrate()
        self._start_nodes(timeout)
        self.start_haproxy()

    def migrate(self) -> None:
        """Migrations once for the deployment, before any server starts."""
        subprocess.run(
            [sys.executable, "-m", "bot.store.migrate"],
            cwd=PROJECT_ROOT,
            env=self.nodes[0].environment,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def _start_nodes(self, timeout: float) -> None:
        errors: list[BaseException] = []

        def wait(node: ServerProcesses) -> None:
            try:
                node.wait_until_ready(timeout)
            except BaseException as error:  # reported below, after every node was tried
                errors.append(error)

        for node in self.nodes:
            node.spawn()  # here: a child dies with the thread that started it
        threads = [threading.Thread(target=wait, args=(node,)) for node in self.nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            self.stop()
            raise errors[0]

    def haproxy_environment(self) -> dict[str, str]:
        addresses = {
            "VV_PUBLIC_BIND": f"127.0.0.1:{self.ports['public']}",
            "VV_INTERNAL_BIND": f"127.0.0.1:{self.ports['internal']}",
            "VV_ACTIONS_BIND": f"127.0.0.1:{self.ports['actions']}",
            "VV_STAFF_BIND": f"127.0.0.1:{self.ports['staff_lb']}",
            "VV_STAFF_1": f"127.0.0.1:{self.ports['staff']}",
            "VV_RUN_AS": "",  # as whoever runs the cluster, without a chroot
            **self.haproxy_overrides,
        }
        for index, node in enumerate(self.nodes[:2]):
            addresses[f"VV_RASA_{index + 1}"] = node.rasa_url.removeprefix("http://")
            addresses[f"VV_ACTIONS_{index + 1}"] = node.action_url.removeprefix("http://")
        environment = {k: v for k, v in os.environ.items() if not k.startswith("VV_")}
        return {**environment, **addresses}

    def start_haproxy(self, timeout: float = 30) -> None:
        log = open(self.workdir / "haproxy.log", "ab")  # noqa: SIM115 (kept open for the child)
        self.haproxy = subprocess.Popen(
            [haproxy_binary(), "-db", "-f", str(HAPROXY_CONFIG)],
            env=self.haproxy_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,  # as the servers: never left behind by a killed tool
        )
        deadline = time.monotonic() + timeout
        while not answers(f"{self.internal_url}/ready"):
            if self.haproxy.poll() is not None:
                raise ServerError(f"HAProxy exited with code {self.haproxy.returncode}")
            if time.monotonic() > deadline:
                raise ServerError("HAProxy did not pass requests to a ready Rasa server")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            self.haproxy.wait(timeout=10)
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- faults ---------------------------------------------------------------------

    def kill(self, role: str, node: int) -> None:
        """SIGKILL, as a crash or the kernel's OOM killer would end it (node counts from 1)."""
        process = self.nodes[node - 1].processes[role]
        process.send_signal(signal.SIGKILL)
        process.wait()

    def restart(self, role: str, node: int, timeout: float = STARTUP_TIMEOUT_SECONDS) -> None:
        self.nodes[node - 1].start_one(role, timeout)

    def rasa_url(self, node: int) -> str:
        return self.nodes[node - 1].rasa_url


def _print_banner(cluster: Cluster) -> None:
    rasa = ", ".join(node.rasa_url for node in cluster.nodes)
    print(
        "\nVägvisaren cluster is running (logs in var/cluster/).\n"
        f"  Relatives (through HAProxy): POST {cluster.public_url}/webhooks/rest/webhook\n"
        f"    web chat page: {cluster.public_url}/webhooks/socketio/chat.html\n"
        f"  Rasa servers: {rasa}\n"
        f"  Rasa's API for the action servers and the dashboard: {cluster.internal_url}\n"
        f"  Staff dashboard: {cluster.staff_url}/\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="a PostgreSQL server")
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="a Redis database")
    args = parser.parse_args(argv)
    workdir = PROJECT_ROOT / "var/cluster"
    workdir.mkdir(parents=True, exist_ok=True)
    tracker = postgres_database(args.postgres, "vagvisaren_cluster_tracker")
    escalations = postgres_database(args.postgres, "vagvisaren_cluster_escalations")
    print("Starting 2 Rasa servers, 2 action servers, the dashboard and HAProxy...", flush=True)
    cluster = Cluster(workdir, tracker, escalations, args.redis, {"LOG_LEVEL": "INFO"})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        cluster.start()
        _print_banner(cluster)
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
