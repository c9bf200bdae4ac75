"""The deployment files of docs/deployment.md ("From one machine to several") are valid and
do what the page says.

- deployment/haproxy/vagvisaren.cfg: `haproxy -c` accepts it with its defaults and with TLS;
  run on loopback ports in front of stand-in servers, it passes only the public paths,
  keeps long-polling on one server with its cookie, and replaces a client's
  X-Forwarded-For. Skipped where HAProxy is not installed (`apt-get install haproxy`).
- deployment/nginx/vagvisaren.conf: `nginx -t` accepts it. Skipped without nginx.
- deployment/systemd/: every unit runs a module of the project, templates take their port
  from the instance name, the servers start after the migrations; `systemd-analyze verify`
  where it is installed.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path

import pytest

from bot.launcher import free_port
from bot.settings import PROJECT_ROOT, Settings

HAPROXY_CFG = PROJECT_ROOT / "deployment/haproxy/vagvisaren.cfg"
NGINX_CONF = PROJECT_ROOT / "deployment/nginx/vagvisaren.conf"
SYSTEMD = PROJECT_ROOT / "deployment/systemd"
SERVER_UNITS = (
    "vagvisaren-rasa@.service",
    "vagvisaren-actions@.service",
    "vagvisaren-staff.service",
)
UNITS = (
    *SERVER_UNITS,
    "vagvisaren-migrate.service",
    "vagvisaren-retention.service",
    "vagvisaren-retention.timer",
    "vagvisaren.target",
)


def _tool(name: str) -> str:
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.exists()), None
    )
    if path is None:
        pytest.skip(f"{name} is not installed (Debian: apt-get install {name})")
    return path


def _without_vv_variables() -> dict[str, str]:
    """The environment without the file's variables, so its own defaults apply."""
    return {name: value for name, value in os.environ.items() if not name.startswith("VV_")}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> Path:
    """A self-signed certificate and its key in one PEM file, as HAProxy wants it."""
    openssl = _tool("openssl")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=test"]
        + ["-days", "2", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    both = folder / "both.pem"
    both.write_text(cert.read_text() + key.read_text())
    return both


# --- HAProxy --------------------------------------------------------------------------------


def haproxy_check(environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_tool("haproxy"), "-c", "-f", str(HAPROXY_CFG)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_haproxy_accepts_the_file_with_its_defaults():
    environment = _without_vv_variables()
    result = haproxy_check(environment)
    assert result.returncode == 0, result.stdout + result.stderr


def test_haproxy_accepts_the_file_with_tls(certificate):
    environment = {
        **_without_vv_variables(),
        "VV_TLS_CERT": str(certificate),
        "VV_STAFF_TLS_CERT": str(certificate),
    }
    result = haproxy_check(environment)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_variable_of_the_haproxy_file_has_a_default_or_a_guard():
    text = HAPROXY_CFG.read_text(encoding="utf-8")
    without_comments = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    used = set(re.findall(r"\$\{(VV_[A-Z0-9_]+)\}", without_comments))
    preset = set(re.findall(r"^\s*presetenv\s+(VV_[A-Z0-9_]+)\s", without_comments, re.M))
    guarded = set(re.findall(r"^\.if\s+defined\((VV_[A-Z0-9_]+)\)", without_comments, re.M))
    assert used, "the file takes its addresses from VV_ variables"
    assert not used - preset - guarded, f"no default: {sorted(used - preset - guarded)}"


def test_the_haproxy_defaults_are_the_servers_default_ports():
    text = HAPROXY_CFG.read_text(encoding="utf-8")
    defaults = dict(re.findall(r"^\s*presetenv\s+(VV_[A-Z0-9_]+)\s+(\S+)", text, re.M))
    settings = Settings()
    assert defaults["VV_RASA_1"] == f"127.0.0.1:{settings.rasa_port}"
    assert defaults["VV_ACTIONS_1"] == f"127.0.0.1:{settings.action_server_port}"
    assert defaults["VV_STAFF_1"] == f"127.0.0.1:{settings.staff_port}"


class _StandIn(http.server.BaseHTTPRequestHandler):
    """A server behind the load balancer: ready, and saying who it is and what it got."""

    def log_message(self, *args) -> None:
        pass

    def _answer(self) -> None:
        if self.path == "/ready":
            body = b'{"status": "ready"}'
        else:
            body = json.dumps(
                {
                    "server": self.server.name,
                    "path": self.path,
                    "x_forwarded_for": self.headers.get_all("X-Forwarded-For") or [],
                    "cookie": self.headers.get("Cookie"),
                }
            ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


@contextmanager
def stand_in(name: str) -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    server.name = name
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Message, dict]:
    """Status, headers (looked up in any case) and the stand-in's JSON."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, {}


@pytest.fixture(scope="module")
def load_balancer(tmp_path_factory):
    """HAProxy with the file, unchanged, on loopback ports of its own, in front of stand-ins
    for two Rasa servers, two action servers and the dashboard."""
    haproxy = _tool("haproxy")
    names = ("rasa1", "rasa2", "actions1", "actions2", "staff1")
    with (
        stand_in(names[0]) as rasa1,
        stand_in(names[1]) as rasa2,
        stand_in(names[2]) as actions1,
        stand_in(names[3]) as actions2,
        stand_in(names[4]) as staff1,
    ):
        # Four different ports: HAProxy binds with SO_REUSEPORT, so two frontends given the
        # same port would share it without a word.
        frontends = set()
        while len(frontends) < 4:
            frontends.add(free_port())
        public, internal, actions, staff = sorted(frontends)
        ports = {
            "VV_PUBLIC_BIND": public,
            "VV_INTERNAL_BIND": internal,
            "VV_ACTIONS_BIND": actions,
            "VV_STAFF_BIND": staff,
            "VV_RASA_1": rasa1,
            "VV_RASA_2": rasa2,
            "VV_ACTIONS_1": actions1,
            "VV_ACTIONS_2": actions2,
            "VV_STAFF_1": staff1,
        }
        environment = {
            **_without_vv_variables(),
            **{name: f"127.0.0.1:{port}" for name, port in ports.items()},
            "VV_RUN_AS": "",  # no user switch or chroot: the tests may not run as root
        }
        process = subprocess.Popen(
            [haproxy, "-f", str(HAPROXY_CFG)],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if _get(urls["VV_PUBLIC_BIND"] + "/webhooks/rest/webhook")[0] == 200:
                        break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    pytest.fail("HAProxy did not come up:\n" + process.communicate()[0])
                time.sleep(0.2)
            yield urls
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    [
        "/model",
        "/status",
        "/conversations/abc/tracker",
        "/health",
        "/ready",
        "/",
        "/webhooks/../model",
        "/webhooks/%2e%2e/status",
        "/socket.io/../model",
    ],
)
def test_the_public_side_refuses_everything_but_the_chat(load_balancer, path):
    # urllib would resolve "..": the request line goes out as written.
    request = urllib.request.Request(load_balancer["VV_PUBLIC_BIND"] + "/")
    request.selector = path
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    assert status == 404


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    [
        "/webhooks/rest/webhook",
        "/webhooks/socketio/widget.js",
        "/webhooks/telegram/webhook",
        "/webhooks/twilio/webhook",
        "/socket.io/?EIO=4&transport=polling",
    ],
)
def test_the_public_side_passes_the_chat_and_the_webhooks_to_rasa(load_balancer, path):
    status, _, body = _get(load_balancer["VV_PUBLIC_BIND"] + path)
    assert status == 200
    assert body["server"] in {"rasa1", "rasa2"}
    assert body["path"] == path


@pytest.mark.slow
def test_long_polling_stays_on_the_server_its_cookie_names(load_balancer):
    url = load_balancer["VV_PUBLIC_BIND"] + "/socket.io/?EIO=4&transport=polling"
    _, headers, body = _get(url)
    cookie = headers.get("Set-Cookie", "")
    assert cookie.startswith("vv_server="), headers
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    value = cookie.split(";", 1)[0]
    servers = {_get(url, {"Cookie": value})[2]["server"] for _ in range(6)}
    assert servers == {body["server"]}


@pytest.mark.slow
def test_the_servers_see_the_client_haproxy_saw_not_the_one_a_client_claims(load_balancer):
    _, _, body = _get(
        load_balancer["VV_PUBLIC_BIND"] + "/webhooks/rest/webhook",
        {"X-Forwarded-For": "203.0.113.7"},
    )
    assert body["x_forwarded_for"] == ["127.0.0.1"]


@pytest.mark.slow
def test_the_internal_sides_reach_rasas_api_the_actions_and_the_dashboard(load_balancer):
    rasa = {_get(load_balancer["VV_INTERNAL_BIND"] + "/model/parse")[2]["server"] for _ in range(4)}
    actions = {_get(load_balancer["VV_ACTIONS_BIND"] + "/webhook")[2]["server"] for _ in range(4)}
    staff = _get(load_balancer["VV_STAFF_BIND"] + "/login")[2]["server"]
    assert rasa == {"rasa1", "rasa2"}
    assert actions == {"actions1", "actions2"}
    assert staff == "staff1"


# --- nginx ----------------------------------------------------------------------------------


def test_nginx_logs_no_addresses_and_passes_only_the_chat():
    site = NGINX_CONF.read_text(encoding="utf-8")
    blocks = site.count("\nserver {")
    assert blocks >= 5 and site.count("    access_log off;") == blocks
    assert site.count("    error_log stderr crit;") == blocks
    assert re.search(r"location / \{\s*return 404;\s*\}", site)
    assert "X-Forwarded-For   $remote_addr;" in site  # replaced, not appended


def test_nginx_accepts_the_file(tmp_path, certificate):
    nginx = _tool("nginx")
    site = NGINX_CONF.read_text(encoding="utf-8")
    for example in ("/etc/ssl/vagvisaren/fullchain.pem", "/etc/ssl/vagvisaren/privkey.pem"):
        assert example in site
        site = site.replace(example, str(certificate))
    # nginx -t binds the addresses: free loopback ports in place of 80, 443 and the rest.
    listens = re.findall(r"^(\s*listen\s+)(\S+?)(\s[^;]*)?;", site, re.M)
    assert len(listens) >= 5, "public (80, 443) and internal listen lines"
    ports = set()
    while len(ports) < len(listens):
        ports.add(free_port())
    ports = iter(sorted(ports))
    site = re.sub(
        r"^(\s*listen\s+)(\S+?)((?:\s[^;]*)?;)",
        lambda m: f"{m.group(1)}127.0.0.1:{next(ports)}{m.group(3)}",
        site,
        flags=re.M,
    )
    (tmp_path / "vagvisaren.conf").write_text(site, encoding="utf-8")
    # What Debian's nginx.conf around conf.d/*.conf gives it, with every path in tmp_path.
    temp = tmp_path / "temp"
    temp.mkdir()
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        "error_log stderr;\n"
        "events {}\n"
        "http {\n"
        f"    client_body_temp_path {temp}/body;\n"
        f"    proxy_temp_path {temp}/proxy;\n"
        f"    include {tmp_path}/vagvisaren.conf;\n"
        "}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [nginx, "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- systemd --------------------------------------------------------------------------------


def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections, each key with all its values (Environment= repeats)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in (SYSTEMD / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key, []).append(value)
    return sections


def _module_exists(module: str) -> bool:
    path = PROJECT_ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__main__.py").exists()


def test_every_unit_is_there():
    assert sorted(UNITS) == sorted(p.name for p in SYSTEMD.iterdir() if p.is_file())


@pytest.mark.parametrize("name", [u for u in UNITS if u.endswith(".service")])
def test_every_service_runs_a_module_of_the_project_as_the_service_user(name):
    service = unit(name)["Service"]
    (command,) = service["ExecStart"]
    words = command.split()
    assert words[0] == "/opt/vagvisaren/.venv/bin/python", command
    assert words[1] == "-m" and _module_exists(words[2]), f"no module {words[2]} in the project"
    assert service["User"] == ["vagvisaren"]
    assert service["WorkingDirectory"] == ["/opt/vagvisaren"]
    assert "RASA_TELEMETRY_ENABLED=false" in service["Environment"]
    # bot/settings.py reads /opt/vagvisaren/.env itself.
    assert "EnvironmentFile" not in service
    assert service["ReadWritePaths"] == ["/opt/vagvisaren/var"]


@pytest.mark.parametrize(
    ("name", "command", "port"),
    [
        ("vagvisaren-rasa@.service", "bot.servers rasa", "RASA_PORT"),
        ("vagvisaren-actions@.service", "bot.servers actions", "ACTION_SERVER_PORT"),
    ],
)
def test_a_server_template_takes_its_port_from_the_instance_name(name, command, port):
    service = unit(name)["Service"]
    assert service["ExecStart"][0].endswith(f"-m {command}")
    assert f"{port}=%i" in service["Environment"]
    assert service["Restart"] == ["on-failure"]
    # The unit is "activating" until the server answers: long enough to load the model.
    assert int(service["TimeoutStartSec"][0]) >= 300
    (wait,) = service["ExecStartPost"]
    code = re.fullmatch(r'\S+python -c "(.*)"', wait).group(1).replace("\\n", "\n")
    compile(code, name, "exec")


@pytest.mark.parametrize("name", SERVER_UNITS)
def test_the_servers_start_after_the_migrations_and_belong_to_the_target(name):
    sections = unit(name)
    assert "vagvisaren-migrate.service" in " ".join(sections["Unit"]["Wants"]).split()
    assert "vagvisaren-migrate.service" in " ".join(sections["Unit"]["After"]).split()
    assert sections["Unit"]["PartOf"] == ["vagvisaren.target"]
    assert sections["Install"]["WantedBy"] == ["vagvisaren.target"]


def test_the_migrations_run_once_and_stay_done():
    service = unit("vagvisaren-migrate.service")["Service"]
    assert service["Type"] == ["oneshot"]
    assert service["RemainAfterExit"] == ["yes"]
    assert service["ExecStart"][0].endswith("-m bot.store.migrate")


def test_the_retention_runs_hourly():
    assert unit("vagvisaren-retention.service")["Service"]["ExecStart"][0].endswith(
        "-m bot.retention"
    )
    assert unit("vagvisaren-retention.timer")["Timer"]["OnUnitActiveSec"] == ["1h"]


def test_systemd_accepts_every_unit(tmp_path):
    analyze = _tool("systemd-analyze")
    # The units as installed, with this Python in place of /opt/vagvisaren's.
    python = sys.executable
    for name in UNITS:
        text = (SYSTEMD / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace("/opt/vagvisaren/.venv/bin/python", python))
    instances = {
        "vagvisaren-rasa@.service": "vagvisaren-rasa@5005.service",
        "vagvisaren-actions@.service": "vagvisaren-actions@5055.service",
    }
    for name in UNITS:
        instance = instances.get(name, name)
        if instance != name:
            shutil.copy(tmp_path / name, tmp_path / instance)
        result = subprocess.run(
            [analyze, "verify", "--man=no", str(tmp_path / instance)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if "System has not been booted with systemd" in result.stderr:
            pytest.skip("systemd-analyze verify needs systemd here")
        problems = result.stdout + result.stderr
        assert result.returncode == 0 and not problems.strip(), f"{name}: {problems}"
