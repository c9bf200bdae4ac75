"""The one place where environment variables are read.

`Settings.from_environment()` reads the process environment, falling back to `.env` in the
project root (python-dotenv), when it is called, never on import. bot/bootstrap.py calls it
once per process and hands the result to everything it builds, so configuration is
explicit and testable.

Each setting is the field below, with its default written once: the variable is the
field's name in capitals (`rasa_port` is RASA_PORT) unless the field names another, and its
text is parsed by the default's type. `.env.example` documents them; a unit test checks it
against these defaults (tests/unit/test_settings.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path

from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Rasa reads this variable itself; it must be off before any rasa import happens.
TELEMETRY_ENV = {"RASA_TELEMETRY_ENABLED": "false"}


def _env_path() -> Path:
    return Path(os.environ.get("VAGVISAREN_ENV_FILE", PROJECT_ROOT / ".env"))


def environment() -> dict[str, str]:
    """The process's environment over the values in `.env` (the environment wins)."""
    from_file = {name: value for name, value in dotenv_values(_env_path()).items() if value}
    return {**from_file, **os.environ}


def _resolve(path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate


def _database_url(url: str) -> str:
    """A relative SQLite path is relative to the project root, not the working directory."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(PROJECT_ROOT / url[len(prefix) :])
    return url


def _comma_separated(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _without_trailing_slash(value: str) -> str:
    return value.rstrip("/")


def _origins(value: str) -> tuple[str, ...]:
    # An origin has no path: "https://www.kommun.se/" is "https://www.kommun.se".
    return tuple(origin.rstrip("/") for origin in _comma_separated(value))


def _setting(default, env: str | None = None, parse=None):
    """A setting whose variable is not its name in capitals, or whose text needs more than
    its type to be read."""
    return field(default=default, metadata={"env": env, "parse": parse})


def _variable(setting: Field) -> str:
    return setting.metadata.get("env") or setting.name.upper()


def _parse(setting: Field, text: str):
    """The variable's text as the setting's value, by the type of its default."""
    custom = setting.metadata.get("parse")
    if custom is not None:
        return custom(text)
    default = setting.default
    if isinstance(default, bool):
        return text.strip().lower() in {"1", "true", "yes"}
    if isinstance(default, int | float):
        return type(default)(text)
    if isinstance(default, Path):
        return _resolve(text)
    if isinstance(default, tuple):
        return _comma_separated(text)
    return text


@dataclass(frozen=True)
class Settings:
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_server_port: int = 5055
    # Where the action server listens (loopback unless Rasa servers on other machines call
    # it) and where Rasa calls actions: several action servers go behind the load balancer.
    action_server_host: str = "127.0.0.1"
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    rasa_jwt_secret: str = ""
    # Rasa's conversations (tracker store), redacted: SQLite or PostgreSQL.
    tracker_database_url: str = _setting(
        _database_url("sqlite:///var/tracker.db"), parse=_database_url
    )
    contacts_file: Path = PROJECT_ROOT / "deployment/contacts.yml"
    contacts_max_age_days: int = 365
    conversation_retention_days: int = 30
    # Escalation excerpts are erased this many days after the escalation was resolved.
    escalation_retention_days: int = 30
    # Audit entries of the staff dashboard (who did what, never text): kept longer than the
    # cases, to answer for how a case was handled.
    # Limits for anonymous traffic (bot/channels/abuse_limits.py; 0 turns one off): messages per
    # minute per conversation and per source address, new web chats per 10 minutes per
    # source address; and how many reverse proxies in front set X-Forwarded-For.
    limit_messages_per_conversation: int = 20
    limit_messages_per_source: int = 60
    limit_new_chats_per_source: int = 30
    trusted_proxies: int = 0
    # A flood of escalations: after this many notifications in this many minutes, the rest
    # of the window goes out as one digest (bot/notify.py).
    notify_digest_after: int = 10
    notify_digest_minutes: float = 10.0
    audit_retention_days: int = 365
    # When staff read escalations, as the relative should read it ("vardagar 8–17"): the
    # bot's promises about people follow it (empty: "när personalen är i tjänst" alone).
    staff_hours: str = ""
    # The longest message a relative can send on any channel (bot/channels/input_limits.py): longer
    # ones are answered politely and never reach NLU, redaction or storage.
    max_message_chars: int = 4000
    # The largest HTTP body any server accepts (bytes); a message at the limit is a few KB.
    max_request_bytes: int = 1_000_000
    model_path: Path = _setting(PROJECT_ROOT / "models/vagvisaren.tar.gz", env="RASA_MODEL")
    log_level: str = "INFO"
    # How the action server reaches Rasa's HTTP API (to classify each question of a
    # multi-question message). Behind a load balancer, point it at the balancer.
    rasa_internal_url: str = "http://127.0.0.1:5005"
    spacy_model: Path = PROJECT_ROOT / "models/spacy/sv_vagvisaren"
    risk_patterns_file: Path = PROJECT_ROOT / "data/risk/patterns.yml"
    risk_model_dir: Path = PROJECT_ROOT / "models/risk"
    escalation_database_url: str = _setting(
        _database_url("sqlite:///var/escalations.db"), parse=_database_url
    )
    escalation_retry_file: Path = PROJECT_ROOT / "var/escalation-retry.jsonl"
    escalation_retry_seconds: float = 30.0
    # Key for the pseudonymous conversation reference (HMAC-SHA256 of the sender id).
    pseudonym_key: str = ""
    # Key that seals staff members' TOTP secrets in the database (bot/staff/security.py).
    staff_totp_key: str = ""
    dashboard_url: str = _setting("http://127.0.0.1:8080", parse=_without_trailing_slash)
    # The staff dashboard (bot/staff): where it listens. DASHBOARD_URL is how staff reach it.
    staff_host: str = "127.0.0.1"
    staff_port: int = 8080
    # Several servers (docs/deployment.md): the Redis they share for Rasa's lock store, the
    # socket.io message queue and the messaging address book (bot/store/several_servers.py). Empty:
    # one Rasa server, all three in its memory.
    redis_url: str = ""
    # The socket.io queue alone elsewhere (default: REDIS_URL).
    socket_redis_url: str = ""
    # How many Rasa servers (machines or processes) answer relatives on these stores, and
    # Sanic workers per Rasa server: above 1, the start-up check demands REDIS_URL and
    # PostgreSQL (Rasa itself would silently fall back to one worker).
    rasa_servers: int = 1
    sanic_workers: int = 1
    # Seconds a Rasa server may hold a conversation's lock before another may take it
    # (Rasa's TICKET_LOCK_LIFETIME; a message takes well under one second).
    ticket_lock_lifetime: int = 60
    # Encrypts the messaging address book in Redis (Fernet, key derived from this), so a
    # dump of Redis alone reveals no phone number or chat id.
    address_book_key: str = ""
    # The dashboard shows times in this zone (stored in UTC).
    staff_time_zone: str = "Europe/Stockholm"
    # The queue colours a relative's waiting time (since their first message no handler has
    # answered) from these minutes on: amber, then red.
    staff_wait_warn_minutes: int = 5
    staff_wait_alert_minutes: int = 15
    # Also send the e-mail/webhook notification when a relative asks to talk to a person
    # (not only for a risk signal).
    notify_person_requests: bool = True
    # The web widget (bot/channels/widget): the sites allowed to embed it (origins; empty: any), the
    # neutral page its quick exit goes to, and the Rasa server's address as browsers see it.
    widget_origins: tuple[str, ...] = _setting((), parse=_origins)
    widget_exit_url: str = "https://www.smhi.se/"
    bot_public_url: str = _setting("http://127.0.0.1:5005", parse=_without_trailing_slash)
    # The demo municipality page `make run` serves (bot/channels/widget/demo.py).
    demo_host: str = "127.0.0.1"
    demo_port: int = 8000
    # Messaging channels (bot/channels/): Telegram and Twilio (SMS, WhatsApp).
    telegram_bot_token: str = ""
    telegram_secret_token: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    twilio_webhook_url: str = ""
    sms_max_chars: int = 459
    messaging_address_hours: float = 48.0
    # How long a webhook delivery id (as a keyed hash) is remembered, so a resend or a
    # replay is answered once (bot/channels/deliveries.py). Longer than Telegram's (24 h)
    # and Twilio's retries; a replay after it is answered as a new message.
    messaging_delivery_days: float = 7.0
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    # Implicit TLS (SMTPS, usually port 465) instead of STARTTLS.
    smtp_ssl: bool = False
    # A CA bundle to verify the mail server's certificate with (empty: the system's).
    smtp_ca_file: str = ""
    # Send SMTP_USER/SMTP_PASSWORD over a connection without TLS: off unless set.
    smtp_allow_plain_login: bool = False
    notify_email_from: str = ""
    notify_email_to: tuple[str, ...] = ()
    notify_webhook_url: str = ""
    notify_webhook_secret: str = ""
    # `make bench`'s hostile phase: where each server writes its longest event-loop stall.
    loop_stall_file: str = ""

    @classmethod
    def from_environment(cls) -> Settings:
        os.environ.update(TELEMETRY_ENV)  # before anything imports Rasa
        return cls.from_environment_mapping(environment())

    @classmethod
    def from_environment_mapping(cls, environment: Mapping[str, str]) -> Settings:
        values = {
            setting.name: _parse(setting, environment[_variable(setting)])
            for setting in fields(cls)
            if _variable(setting) in environment
        }
        # Rasa's own address follows RASA_PORT unless it is given.
        rasa_here = f"http://127.0.0.1:{values.get('rasa_port', cls.rasa_port)}"
        values.setdefault("rasa_internal_url", rasa_here)
        values.setdefault("bot_public_url", rasa_here)
        # Empty is "not given" for these two: they follow other settings.
        if not values.get("socket_redis_url"):
            values["socket_redis_url"] = values.get("redis_url", cls.redis_url)
        if not values.get("action_server_url"):
            port = values.get("action_server_port", cls.action_server_port)
            values["action_server_url"] = f"http://127.0.0.1:{port}/webhook"
        return cls(**values)

    def rasa_environment(self) -> dict[str, str]:
        """Variables that Rasa itself and endpoints.yml (`${...}`) read."""
        return {
            **TELEMETRY_ENV,
            "ACTION_SERVER_PORT": str(self.action_server_port),
            "ACTION_SERVER_URL": self.action_server_url,
            "TRACKER_DATABASE_URL": self.tracker_database_url,
            # Rasa reads both itself; bot/store/several_servers.py checks them at start-up.
            "SANIC_WORKERS": str(self.sanic_workers),
            "TICKET_LOCK_LIFETIME": str(self.ticket_lock_lifetime),
            # Sanic: where the action server listens (loopback by default); no access logs, which
            # would hold client IP addresses.
            "SANIC_HOST": self.action_server_host,
            "SANIC_ACCESS_LOG": "False",
            # Every Sanic app (Rasa, the action server, the dashboard) refuses bodies over
            # this with 413, instead of Sanic's 100 MB (issue 17).
            "SANIC_REQUEST_MAX_SIZE": str(self.max_request_bytes),
            # Behind reverse proxies, the client's address comes from X-Forwarded-For
            # (bot/channels/abuse_limits.py); 0: the header is not trusted, the peer is the source.
            "SANIC_PROXIES_COUNT": str(self.trusted_proxies),
            "LOG_LEVEL_LIBRARIES": "ERROR",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            # Rasa's pinned dependencies emit dozens of deprecation warnings at start-up
            # that bury the lines an operator needs to see.
            "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::PendingDeprecationWarning,"
            "ignore::FutureWarning",
        }

    def sqlite_directories(self) -> list[Path]:
        """Folders that must exist for the SQLite databases in use."""
        prefix = "sqlite:///"
        return [
            Path(url[len(prefix) :]).parent
            for url in (self.tracker_database_url, self.escalation_database_url)
            if url.startswith(prefix) and url != prefix + ":memory:"
        ]

    def export_for_rasa(self) -> None:
        os.environ.update(self.rasa_environment())
