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


@dataclass(frozen=True)
class Settings:
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_server_port: int = 5055
    rasa_jwt_secret: str = ""
    tracker_sqlite_path: Path = field(default_factory=lambda: PROJECT_ROOT / "var/tracker.db")
    contacts_file: Path = field(default_factory=lambda: PROJECT_ROOT / "deployment/contacts.yml")
    contacts_max_age_days: int = 365
    conversation_retention_days: int = 30
    model_path: Path = field(default_factory=lambda: PROJECT_ROOT / "models/vagvisaren.tar.gz")
    log_level: str = "INFO"
    # How the action server reaches Rasa's HTTP API (to classify each question of a
    # multi-question message). Behind a load balancer, point it at the balancer.
    rasa_internal_url: str = "http://127.0.0.1:5005"

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
            tracker_sqlite_path=_resolve(_get("TRACKER_SQLITE_PATH", "var/tracker.db")),
            contacts_file=_resolve(_get("CONTACTS_FILE", "deployment/contacts.yml")),
            contacts_max_age_days=int(_get("CONTACTS_MAX_AGE_DAYS", "365")),
            conversation_retention_days=int(_get("CONVERSATION_RETENTION_DAYS", "30")),
            model_path=_resolve(_get("RASA_MODEL", "models/vagvisaren.tar.gz")),
            log_level=_get("LOG_LEVEL", "INFO"),
            rasa_internal_url=_get(
                "RASA_INTERNAL_URL", f"http://127.0.0.1:{_get('RASA_PORT', '5005')}"
            ),
        )

    def rasa_environment(self) -> dict[str, str]:
        """Variables that Rasa itself and endpoints.yml (`${...}`) read."""
        return {
            **TELEMETRY_ENV,
            "ACTION_SERVER_PORT": str(self.action_server_port),
            "TRACKER_SQLITE_PATH": str(self.tracker_sqlite_path),
            # Sanic: the action server listens on loopback only; no access logs, which
            # would hold client IP addresses.
            "SANIC_HOST": "127.0.0.1",
            "SANIC_ACCESS_LOG": "False",
            "LOG_LEVEL_LIBRARIES": "ERROR",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            # Rasa's pinned dependencies emit dozens of deprecation warnings at start-up
            # that bury the lines an operator needs to see.
            "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::PendingDeprecationWarning,"
            "ignore::FutureWarning",
        }

    def export_for_rasa(self) -> None:
        os.environ.update(self.rasa_environment())


settings = Settings.from_environment()
