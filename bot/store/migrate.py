"""`make migrate`: create or upgrade the escalation store's tables (Alembic).

Usage: python -m bot.store.migrate [REVISION]   (default: head)
"""

from __future__ import annotations

import sys

from sqlalchemy.engine import make_url

from bot.settings import Settings
from bot.store.engine import migrate


def main(argv: list[str]) -> int:
    settings = Settings.from_environment()
    revision = argv[1] if len(argv) > 1 else "head"
    migrate(settings.escalation_database_url, revision)
    safe_url = make_url(settings.escalation_database_url).render_as_string(hide_password=True)
    print(f"Escalation store at {safe_url} is at revision {revision}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
