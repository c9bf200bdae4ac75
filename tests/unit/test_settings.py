"""Settings: every default is written once, as a field of bot/settings.py; .env.example
documents the same values, and the environment is read when asked, never on import."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields

import pytest
from dotenv import dotenv_values

from bot.settings import PROJECT_ROOT, Settings

EXAMPLE = PROJECT_ROOT / ".env.example"
# Values .env.example gives on purpose where the code's default differs: secrets that
# `make env` generates, and the demo page's origin, which the widget may be embedded on
# in a local installation (the default allows no site).
DIFFERENT_ON_PURPOSE = {"WIDGET_ORIGINS"}
# Read by Rasa itself, not by Vägvisaren.
RASA_OWN = {"RASA_TELEMETRY_ENABLED"}


def example_values() -> dict[str, str]:
    return {name: value or "" for name, value in dotenv_values(EXAMPLE).items()}


def variables() -> dict[str, str]:
    return {
        setting.metadata.get("env") or setting.name.upper(): setting.name
        for setting in fields(Settings)
    }


def test_every_variable_in_the_example_is_a_setting():
    unknown = set(example_values()) - set(variables()) - RASA_OWN
    assert unknown == set()


@pytest.mark.parametrize(
    "variable", sorted(set(example_values()) - RASA_OWN - DIFFERENT_ON_PURPOSE)
)
def test_the_example_gives_the_default(variable):
    value = example_values()[variable]
    if value == "generate":
        return  # a secret `make env` writes
    from_example = Settings.from_environment_mapping({variable: value})
    assert getattr(from_example, variables()[variable]) == getattr(
        Settings(), variables()[variable]
    )


def test_a_setting_missing_from_the_environment_takes_its_default():
    assert Settings.from_environment_mapping({}) == Settings()


def test_values_are_read_by_the_type_of_their_default():
    config = Settings.from_environment_mapping(
        {
            "RASA_PORT": "6000",
            "SMTP_STARTTLS": "yes",
            "NOTIFY_DIGEST_MINUTES": "2.5",
            "NOTIFY_EMAIL_TO": "a@kommun.se, b@kommun.se",
            "WIDGET_ORIGINS": "https://www.kommun.se/",
            "CONTACTS_FILE": "deployment/other.yml",
        }
    )
    assert config.rasa_port == 6000 and config.smtp_starttls is True
    assert config.notify_digest_minutes == 2.5
    assert config.notify_email_to == ("a@kommun.se", "b@kommun.se")
    assert config.widget_origins == ("https://www.kommun.se",)
    assert config.contacts_file == PROJECT_ROOT / "deployment/other.yml"
    # Rasa's own address follows its port unless given.
    assert config.rasa_internal_url == config.bot_public_url == "http://127.0.0.1:6000"


def test_importing_the_project_reads_no_environment(tmp_path):
    """Settings are read when a process asks for them (bot/bootstrap.py), not on import:
    importing every runtime module with an unreadable .env changes nothing."""
    env_file = tmp_path / "unreadable.env"
    env_file.write_text("RASA_PORT=not a number\n")
    code = (
        "import bot.bootstrap, bot.servers, bot.launcher, bot.retention, bot.staff.app, "
        "bot.channels.rest, bot.channels.telegram, actions.risk, actions.answers\n"
        "from bot.settings import Settings\n"
        "try:\n    Settings.from_environment()\nexcept ValueError:\n    print('read when asked')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "VAGVISAREN_ENV_FILE": str(env_file), "TF_CPP_MIN_LOG_LEVEL": "3"},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("read when asked")
