"""A PostgreSQL and a Redis server of a test's own, on free loopback ports, that the test may
stop and start (fault injection) without touching the machine's shared servers.

Both come from the machine's own packages (Debian's postgresql and redis-server, which
.ci/run installs): PostgreSQL's initdb and pg_ctl, and redis-server."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from bot.launcher import free_port


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    if not found or not found[-1]:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian package postgresql)")
    return found[-1]


class PrivatePostgres:
    def __init__(self, directory: Path, port: int) -> None:
        self.directory, self.port = directory, port
        self.url = f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"

    def _as_owner(self, *command: str) -> None:
        # initdb and postgres refuse to run as root: as the postgres user then.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            "-c fsync=off -c synchronous_commit=off"
        )
        self._as_owner(
            _postgres_bin("pg_ctl"), "-D", str(self.directory / "data"), "-o", options,
            "-l", str(self.directory / "postgres.log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._as_owner(
            _postgres_bin("pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop"
        )

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    directory = Path(tempfile.mkdtemp(prefix="vagvisaren-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    server = PrivatePostgres(directory, free_port())
    server._as_owner(
        _postgres_bin("initdb"), "-D", str(directory / "data"), "-U", "postgres",
        "-A", "trust", "--no-sync",
    )  # fmt: skip
    server.start()
    try:
        yield server
    finally:
        with suppress(subprocess.CalledProcessError):  # a test left it stopped
            server.stop()
        shutil.rmtree(directory, ignore_errors=True)


class PrivateRedis:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self.answers():
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def answers(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed (Debian package redis-server)")
    server = PrivateRedis(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
