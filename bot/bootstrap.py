"""Where Vägvisaren's parts are built and wired together, from one `Settings`.

    services = bootstrap.build(Settings.from_environment())
    services.escalator.submit(signal)

`build()` reads nothing itself: it turns one Settings into the parts that need it (the
escalation store's engine and units of work, the escalator with its notifier, the risk
screening, the redactor), each made on first use, so a process pays only for what it uses
(the Rasa server never loads the risk screening's spaCy pipeline).

The entry points (bot/servers.py, bot/launcher.py, the dashboard's and the jobs' mains)
build through here. Rasa constructs some parts itself, from credentials.yml, endpoints.yml
and the action server's registry: the input channels, the tracker store and the actions.
They ask `services()` for this process's parts, built once from the environment, or the
ones a test or a tool put in place with `use()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from bot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import sessionmaker

    from bot.escalations.escalator import Escalator
    from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
    from bot.notify import Notifier
    from bot.privacy.redaction import Redactor
    from bot.risk.screening import RiskScreen


@dataclass
class Services:
    """One process's parts, built from one Settings on first use (imports are deferred
    for the same reason: the dashboard need not import TensorFlow or spaCy)."""

    settings: Settings

    @cached_property
    def escalation_engine(self) -> Engine:
        from bot.store.engine import shared_engine

        return shared_engine(self.settings.escalation_database_url)

    @cached_property
    def sessions(self) -> sessionmaker:
        from bot.store.engine import session_factory

        return session_factory(self.settings.escalation_database_url)

    def unit_of_work(self) -> SqlAlchemyUnitOfWork:
        """A new unit of work (one transaction) on the escalation store."""
        from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork

        return SqlAlchemyUnitOfWork(self.sessions)

    @cached_property
    def notifier(self) -> Notifier:
        from bot.notify import Notifier

        return Notifier(self.settings)

    @cached_property
    def escalator(self) -> Escalator:
        from bot.escalations.escalator import Escalator

        config = self.settings
        return Escalator(
            config.escalation_database_url, self.notifier, config.escalation_retry_file
        )

    @cached_property
    def screen(self) -> RiskScreen:
        """Loads the spaCy pipeline, the patterns and the trained risk model."""
        from bot.risk.screening import load_screen

        return load_screen(self.settings)

    @cached_property
    def redactor(self) -> Redactor:
        from bot.privacy.redaction import load_redactor

        return load_redactor(self.settings.contacts_file)


def build(settings: Settings) -> Services:
    return Services(settings)


_current: Services | None = None


def services() -> Services:
    """This process's parts: built from the environment (.env) on first use, unless a
    test or a tool put others in place with `use()`."""
    global _current
    if _current is None:
        _current = build(Settings.from_environment())
    return _current


def use(replacement: Services | None) -> Services | None:
    """Puts `replacement` in place of this process's parts (None: built again from the
    environment when next asked for); returns the ones it replaced."""
    global _current
    previous, _current = _current, replacement
    return previous
