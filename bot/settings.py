"""The one place where environment variables are read.

Values come from the process environment, falling back to `.env` in the project root
(python-dotenv). Every other module imports `settings` from here instead of touching
`os.environ`, so configuration is explicit and testable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Rasa reads this variable itself; it must be off before any rasa import happens.
TELEMETRY_ENV = {"RASA_TELEMETRY_ENABLED": "false"}


def _env_path() -> Path:
    return Path(os.environ.get("VAGVISAREN_ENV_FILE", PROJECT_ROOT / ".env"))


def _getter(environment: Mapping[str, str]):
    def get(name: str, default: str) -> str:
        return environment.get(name, default)

    return get


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


@dataclass(frozen=True)
class Settings:
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_server_port: int = 5055
    rasa_jwt_secret: str = ""
    # Rasa's conversations (tracker store), redacted: SQLite or PostgreSQL.
    tracker_database_url: str = f"sqlite:///{PROJECT_ROOT / 'var/tracker.db'}"
    contacts_file: Path = field(default_factory=lambda: PROJECT_ROOT / "deployment/contacts.yml")
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
    model_path: Path = field(default_factory=lambda: PROJECT_ROOT / "models/vagvisaren.tar.gz")
    log_level: str = "INFO"
    # How the action server reaches Rasa's HTTP API (to classify each question of a
    # multi-question message). Behind a load balancer, point it at the balancer.
    rasa_internal_url: str = "http://127.0.0.1:5005"
    spacy_model: Path = field(default_factory=lambda: PROJECT_ROOT / "models/spacy/sv_vagvisaren")
    risk_patterns_file: Path = field(
        default_factory=lambda: PROJECT_ROOT / "data/risk/patterns.yml"
    )
    risk_model_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "models/risk")
    escalation_database_url: str = f"sqlite:///{PROJECT_ROOT / 'var/escalations.db'}"
    escalation_retry_file: Path = field(
        default_factory=lambda: PROJECT_ROOT / "var/escalation-retry.jsonl"
    )
    escalation_retry_seconds: float = 30.0
    # Key for the pseudonymous conversation reference (HMAC-SHA256 of the sender id).
    pseudonym_key: str = ""
    # Key that seals staff members' TOTP secrets in the database (bot/staff/security.py).
    staff_totp_key: str = ""
    dashboard_url: str = "http://127.0.0.1:8080"
    # The staff dashboard (bot/staff): where it listens. DASHBOARD_URL is how staff reach it.
    staff_host: str = "127.0.0.1"
    staff_port: int = 8080
    # With several Rasa servers: a Redis all their socket.io servers share, so a message for
    # a relative's browser reaches it whichever server sends it (bot/channels/socketio.py).
    socket_redis_url: str = ""
    # The dashboard shows times in this zone (stored in UTC).
    staff_time_zone: str = "Europe/Stockholm"
    # The web widget (bot/channels/widget): the sites allowed to embed it (origins; empty: any), the
    # neutral page its quick exit goes to, and the Rasa server's address as browsers see it.
    widget_origins: tuple[str, ...] = ()
    widget_exit_url: str = "https://www.smhi.se/"
    bot_public_url: str = "http://127.0.0.1:5005"
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
    # A PostgreSQL server where the test suite may create throw-away databases.
    test_postgres_url: str = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"

    @classmethod
    def from_environment(cls) -> Settings:
        load_dotenv(_env_path(), override=False)
        os.environ.update(TELEMETRY_ENV)
        return cls.from_environment_mapping(os.environ)

    @classmethod
    def from_environment_mapping(cls, environment: Mapping[str, str]) -> Settings:
        _get = _getter(environment)
        return cls(
            rasa_host=_get("RASA_HOST", "127.0.0.1"),
            rasa_port=int(_get("RASA_PORT", "5005")),
            action_server_port=int(_get("ACTION_SERVER_PORT", "5055")),
            rasa_jwt_secret=_get("RASA_JWT_SECRET", ""),
            tracker_database_url=_database_url(
                _get("TRACKER_DATABASE_URL", "sqlite:///var/tracker.db")
            ),
            contacts_file=_resolve(_get("CONTACTS_FILE", "deployment/contacts.yml")),
            contacts_max_age_days=int(_get("CONTACTS_MAX_AGE_DAYS", "365")),
            conversation_retention_days=int(_get("CONVERSATION_RETENTION_DAYS", "30")),
            escalation_retention_days=int(_get("ESCALATION_RETENTION_DAYS", "30")),
            audit_retention_days=int(_get("AUDIT_RETENTION_DAYS", "365")),
            notify_digest_after=int(_get("NOTIFY_DIGEST_AFTER", "10")),
            limit_messages_per_conversation=int(_get("LIMIT_MESSAGES_PER_CONVERSATION", "20")),
            limit_messages_per_source=int(_get("LIMIT_MESSAGES_PER_SOURCE", "60")),
            limit_new_chats_per_source=int(_get("LIMIT_NEW_CHATS_PER_SOURCE", "30")),
            trusted_proxies=int(_get("TRUSTED_PROXIES", "0")),
            notify_digest_minutes=float(_get("NOTIFY_DIGEST_MINUTES", "10")),
            staff_hours=_get("STAFF_HOURS", ""),
            max_message_chars=int(_get("MAX_MESSAGE_CHARS", "4000")),
            max_request_bytes=int(_get("MAX_REQUEST_BYTES", "1000000")),
            model_path=_resolve(_get("RASA_MODEL", "models/vagvisaren.tar.gz")),
            log_level=_get("LOG_LEVEL", "INFO"),
            rasa_internal_url=_get(
                "RASA_INTERNAL_URL", f"http://127.0.0.1:{_get('RASA_PORT', '5005')}"
            ),
            spacy_model=_resolve(_get("SPACY_MODEL", "models/spacy/sv_vagvisaren")),
            risk_patterns_file=_resolve(_get("RISK_PATTERNS_FILE", "data/risk/patterns.yml")),
            risk_model_dir=_resolve(_get("RISK_MODEL_DIR", "models/risk")),
            escalation_database_url=_database_url(
                _get("ESCALATION_DATABASE_URL", "sqlite:///var/escalations.db")
            ),
            escalation_retry_file=_resolve(
                _get("ESCALATION_RETRY_FILE", "var/escalation-retry.jsonl")
            ),
            escalation_retry_seconds=float(_get("ESCALATION_RETRY_SECONDS", "30")),
            pseudonym_key=_get("PSEUDONYM_KEY", ""),
            staff_totp_key=_get("STAFF_TOTP_KEY", ""),
            dashboard_url=_get("DASHBOARD_URL", "http://127.0.0.1:8080").rstrip("/"),
            staff_host=_get("STAFF_HOST", "127.0.0.1"),
            staff_port=int(_get("STAFF_PORT", "8080")),
            socket_redis_url=_get("SOCKET_REDIS_URL", ""),
            staff_time_zone=_get("STAFF_TIME_ZONE", "Europe/Stockholm"),
            # An origin has no path: "https://www.kommun.se/" is "https://www.kommun.se".
            widget_origins=tuple(
                origin.rstrip("/") for origin in _comma_separated(_get("WIDGET_ORIGINS", ""))
            ),
            widget_exit_url=_get("WIDGET_EXIT_URL", "https://www.smhi.se/"),
            bot_public_url=_get(
                "BOT_PUBLIC_URL", f"http://127.0.0.1:{_get('RASA_PORT', '5005')}"
            ).rstrip("/"),
            demo_host=_get("DEMO_HOST", "127.0.0.1"),
            demo_port=int(_get("DEMO_PORT", "8000")),
            telegram_bot_token=_get("TELEGRAM_BOT_TOKEN", ""),
            telegram_secret_token=_get("TELEGRAM_SECRET_TOKEN", ""),
            telegram_api_url=_get("TELEGRAM_API_URL", "https://api.telegram.org"),
            telegram_webhook_url=_get("TELEGRAM_WEBHOOK_URL", ""),
            twilio_account_sid=_get("TWILIO_ACCOUNT_SID", ""),
            twilio_auth_token=_get("TWILIO_AUTH_TOKEN", ""),
            twilio_api_url=_get("TWILIO_API_URL", "https://api.twilio.com"),
            twilio_webhook_url=_get("TWILIO_WEBHOOK_URL", ""),
            sms_max_chars=int(_get("SMS_MAX_CHARS", "459")),
            messaging_address_hours=float(_get("MESSAGING_ADDRESS_HOURS", "48")),
            messaging_delivery_days=float(_get("MESSAGING_DELIVERY_DAYS", "7")),
            smtp_host=_get("SMTP_HOST", ""),
            smtp_port=int(_get("SMTP_PORT", "25")),
            smtp_user=_get("SMTP_USER", ""),
            smtp_password=_get("SMTP_PASSWORD", ""),
            smtp_starttls=_get("SMTP_STARTTLS", "false").strip().lower() in {"1", "true", "yes"},
            smtp_ssl=_get("SMTP_SSL", "false").strip().lower() in {"1", "true", "yes"},
            smtp_ca_file=_get("SMTP_CA_FILE", ""),
            smtp_allow_plain_login=_get("SMTP_ALLOW_PLAIN_LOGIN", "false").strip().lower()
            in {"1", "true", "yes"},
            notify_email_from=_get("NOTIFY_EMAIL_FROM", ""),
            notify_email_to=_comma_separated(_get("NOTIFY_EMAIL_TO", "")),
            notify_webhook_url=_get("NOTIFY_WEBHOOK_URL", ""),
            notify_webhook_secret=_get("NOTIFY_WEBHOOK_SECRET", ""),
            loop_stall_file=_get("LOOP_STALL_FILE", ""),
            test_postgres_url=_get(
                "TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
            ),
        )

    def rasa_environment(self) -> dict[str, str]:
        """Variables that Rasa itself and endpoints.yml (`${...}`) read."""
        return {
            **TELEMETRY_ENV,
            "ACTION_SERVER_PORT": str(self.action_server_port),
            "TRACKER_DATABASE_URL": self.tracker_database_url,
            # Sanic: the action server listens on loopback only; no access logs, which
            # would hold client IP addresses.
            "SANIC_HOST": "127.0.0.1",
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


settings = Settings.from_environment()
