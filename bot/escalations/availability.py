"""Whether a handler can join a relative's conversation right now.

A handler is available when they switched "tillgänglig för chatt" on in the dashboard and
their dashboard is open: a session used, or whose page asked for updates (every few
seconds; recorded every 30 s as page_open_at), within the last two minutes. The action
server asks this when a relative asks for a person (actions/handoff.py) and before it
promises one (actions/risk.py). The dashboard's accounts (bot/staff/accounts.py) write
what is read here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.engine import Engine

from bot.escalations.model import utcnow
from bot.store.tables import staff_sessions, staff_users

SEEN_WITHIN = timedelta(minutes=2)


def handler_available(engine: Engine, now: datetime | None = None) -> bool:
    since = (now or utcnow()) - SEEN_WITHIN
    open_dashboard = exists().where(
        and_(
            staff_sessions.c.user_id == staff_users.c.id,
            or_(staff_sessions.c.last_seen_at > since, staff_sessions.c.page_open_at > since),
        )
    )
    statement = select(staff_users.c.id).where(
        staff_users.c.active.is_(True), staff_users.c.available.is_(True), open_dashboard
    )
    with engine.connect() as connection:
        if not engine.dialect.has_table(connection, "staff_users"):
            return False
        return connection.execute(statement.limit(1)).first() is not None
