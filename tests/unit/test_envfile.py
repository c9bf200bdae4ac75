"""`.env` is created once from `.env.example` with fresh secrets, then left alone."""

from __future__ import annotations

from bot.envfile import create_env_file
from bot.settings import PROJECT_ROOT, Settings


def test_secrets_are_generated_and_differ_between_installs(tmp_path):
    example = PROJECT_ROOT / ".env.example"
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    assert create_env_file(example, first)
    assert create_env_file(example, second)
    secret = [
        line for line in first.read_text().splitlines() if line.startswith("RASA_JWT_SECRET=")
    ]
    assert len(secret) == 1 and len(secret[0].split("=", 1)[1]) >= 48
    assert (
        "generate"
        not in first.read_text()
        .replace("# Vägvisaren configuration", "")
        .split("RASA_JWT_SECRET=")[1]
        .splitlines()[0]
    )
    assert first.read_text() != second.read_text()
    assert oct(first.stat().st_mode & 0o777) == "0o600"


def test_existing_values_are_kept_and_new_settings_appended(tmp_path):
    target = tmp_path / ".env"
    target.write_text("RASA_JWT_SECRET=mine\n")
    assert create_env_file(PROJECT_ROOT / ".env.example", target)
    text = target.read_text()
    assert text.startswith("RASA_JWT_SECRET=mine\n")
    assert text.count("RASA_JWT_SECRET=") == 1
    key = [line for line in text.splitlines() if line.startswith("PSEUDONYM_KEY=")]
    assert len(key) == 1 and len(key[0].split("=", 1)[1]) >= 48


def test_a_complete_env_is_left_alone(tmp_path):
    target = tmp_path / ".env"
    create_env_file(PROJECT_ROOT / ".env.example", target)
    before = target.read_text()
    assert not create_env_file(PROJECT_ROOT / ".env.example", target)
    assert target.read_text() == before


def test_example_turns_telemetry_off():
    assert "RASA_TELEMETRY_ENABLED=false" in (PROJECT_ROOT / ".env.example").read_text()


def test_settings_from_a_mapping():
    config = Settings.from_environment_mapping(
        {"RASA_PORT": "6000", "TRACKER_DATABASE_URL": "sqlite:////tmp/x.db"}
    )
    assert config.rasa_port == 6000
    assert config.tracker_database_url == "sqlite:////tmp/x.db"
    assert config.escalation_database_url == f"sqlite:///{PROJECT_ROOT}/var/escalations.db"
    assert config.rasa_environment()["RASA_TELEMETRY_ENABLED"] == "false"
