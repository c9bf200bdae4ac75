"""Rasa tracker stores that keep nothing identifying, and forget a conversation on request.

Rasa's own SQL and Redis tracker stores write every message as the relative typed it.
These subclasses store a redacted copy of the tracker instead (bot/privacy/redaction.py):
user and bot texts, the text inside the NLU parse data, entity values and text slots are
masked, and message metadata (which can carry a channel's user data) is dropped. The
running turn is unaffected: Rasa, the actions and the risk screening see the full text
before the tracker is saved. Events published to an event broker go through the same copy.

When a turn ran `action_delete_conversation` ("radera mitt samtal"), saving deletes every
stored event of the conversation instead; the relative's next message starts a new one.

endpoints.yml:

    tracker_store:
      type: bot.privacy.tracker_store.RedactingSQLTrackerStore
      url: ${TRACKER_DATABASE_URL}     # sqlite:///var/tracker.db, postgresql://...

or `bot.privacy.tracker_store.RedactingRedisTrackerStore` with Rasa's Redis settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

from rasa.core.constants import POSTGRESQL_SCHEMA
from rasa.core.tracker_store import RedisTrackerStore, SQLTrackerStore, ensure_schema_exists
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.utils.cli import print_error_and_exit
from sqlalchemy import bindparam, create_engine, delete, func, insert, or_, select
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

logger = logging.getLogger(__name__)

SECONDS_PER_DAY = 86_400

DELETE_ACTION = "action_delete_conversation"


def deletion_requested(tracker: DialogueStateTracker) -> bool:
    """The conversation asked to be deleted in this tracker's life."""
    return any(
        isinstance(event, ActionExecuted) and event.action_name == DELETE_ACTION
        for event in tracker.events
    )


def redact(text: str) -> str:
    """Rasa builds the tracker store from endpoints.yml: it masks with this process's
    redactor (bot/bootstrap.py)."""
    from bot.bootstrap import services

    return services().redactor.redact(text)


def _bot_text(event: dict[str, Any]) -> str:
    """The bot's answers come from the domain's responses, so the same few hundred texts
    were redacted again on every turn (a quarter of the saving's work, issue 21): the
    redactor remembers them. Only texts said from a domain response come there (every
    answer of actions/base.py is a rendered response filled with contact details, never
    with what someone wrote); a handler's message has no response name and is redacted
    each time, as a relative's message is."""
    from bot.bootstrap import services

    text = event["text"]
    if (event.get("metadata") or {}).get("utter_action"):
        return services().redactor.redact_answer(text)
    return redact(text)


def redacted_event(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of one serialised Rasa event with identifiers masked."""
    event = dict(event)
    kind = event.get("event")
    text = event.get("text")
    if kind == "bot" and isinstance(text, str):
        event["text"] = _bot_text(event)
    elif kind == "user" and isinstance(text, str):
        event["text"] = redact(text)
    if kind == "user":
        event["metadata"] = {}
        parse_data = dict(event.get("parse_data") or {})
        parsed = parse_data.get("text")
        if isinstance(parsed, str):
            # Nearly always the message's own text: masked once.
            parse_data["text"] = event["text"] if parsed == text else redact(parsed)
        parse_data["entities"] = [_redacted_entity(e) for e in parse_data.get("entities", [])]
        parse_data.pop("metadata", None)
        event["parse_data"] = parse_data
    if kind == "slot":
        event["value"] = _redacted_value(event.get("value"))
    return event


def _redacted(event: Event) -> Event:
    return Event.from_parameters(redacted_event(event.as_dict()))


def _redacted_entity(entity: dict[str, Any]) -> dict[str, Any]:
    entity = dict(entity)
    entity["value"] = _redacted_value(entity.get("value"))
    return entity


def _redacted_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redacted_value(item) for item in value]
    return value


def redacted_tracker(tracker: DialogueStateTracker, slots: list) -> DialogueStateTracker:
    """The tracker rebuilt from redacted events on the domain's fresh slots (the live
    tracker's slot objects hold unredacted values)."""
    events = [redacted_event(event.as_dict()) for event in tracker.events]
    return DialogueStateTracker.from_dict(
        tracker.sender_id, events, slots, tracker._max_event_history
    )


def _secure_delete(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.close()


class _EventQueries:
    """Rasa's queries on the events table, built once: Rasa builds each as an ORM query on
    every use, and SQLAlchemy then works out the query's cache key again (with the ORM
    objects per row, a quarter of the Rasa server's CPU under load, issue 21)."""

    def __init__(self, table) -> None:
        sender = table.c.sender_id == bindparam("sender_id")
        session_start = (
            select(func.max(table.c.timestamp).label("session_start"))
            .where(sender, table.c.type_name == SessionStarted.type_name)
            .subquery()
        )
        # As Rasa's _event_query: the events after the latest session start, or all.
        in_latest_session = or_(
            table.c.timestamp >= session_start.c.session_start,
            session_start.c.session_start.is_(None),
        )
        self.all_sessions = select(table.c.data).where(sender).order_by(table.c.id)
        self.latest_session = (
            select(table.c.data).where(sender, in_latest_session).order_by(table.c.id)
        )
        self.count_latest_session = (
            select(func.count()).select_from(table).where(sender, in_latest_session)
        )
        self.insert = insert(table)


# The number of a tracker's events that are stored, written on the tracker when it is read
# or saved: saving then writes the events after them without counting the stored ones
# first (Rasa counts them with a query on every save). Rasa's lock store lets one turn at
# a time read and save a conversation, on one server or several.
STORED_EVENTS = "_vagvisaren_stored_events"


def _remember_stored(tracker: DialogueStateTracker, count: int) -> None:
    setattr(tracker, STORED_EVENTS, (tracker.sender_id, count))


def _known_stored(tracker: DialogueStateTracker) -> int | None:
    sender_id, count = getattr(tracker, STORED_EVENTS, (None, None))
    return count if sender_id == tracker.sender_id else None


def _row(sender_id: str, event: Event) -> dict[str, Any]:
    """The row Rasa's SQLTrackerStore.save writes for an event."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": (data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY)),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def _is_sqlite_file(engine: Engine) -> bool:
    database = engine.url.database
    return engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"


def _pooled(engine: Engine) -> Engine:
    """SQLAlchemy 1.4 opens a new connection to an SQLite file for every use (NullPool):
    twice per message. Connections are kept instead; SQLite's own file locks still order
    the writers of every process."""
    pooled = create_engine(
        engine.url, poolclass=QueuePool, connect_args={"check_same_thread": False}
    )
    engine.dispose()
    return pooled


class RedactingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore configured by one database URL that stores only redacted events."""

    def __init__(self, domain=None, host: str | None = None, event_broker=None, **kwargs) -> None:
        url = kwargs.pop("url", None) or host
        if url:
            parsed = make_url(url)
            kwargs.update(
                dialect=parsed.drivername,
                host=parsed.host,
                port=parsed.port,
                db=parsed.database,
                username=parsed.username,
                password=parsed.password,
                query=dict(parsed.query) or None,
            )
        super().__init__(domain=domain, event_broker=event_broker, **kwargs)
        sqlite_file = _is_sqlite_file(self.engine)
        if sqlite_file:
            self.engine = _pooled(self.engine)
            self.sessionmaker = sessionmaker(bind=self.engine)
        if self.engine.dialect.name == "sqlite":
            # Erased conversations are overwritten, not left in the file's free pages.
            sqlalchemy_event.listen(self.engine, "connect", _secure_delete)
        else:
            # Test each pooled connection before use: after a database restart every pooled
            # connection is dead, and the first message of each conversation would fail (or
            # read as a new, empty conversation). Rasa creates the engine without it
            # (issue 17, tests/integration/test_faults.py). An SQLite file does not restart.
            self.engine.pool._pre_ping = True
        self.queries = _EventQueries(self.SQLEvent.__table__)
        # An in-memory SQLite database lives in one connection of the server's own thread.
        self._writes_in_a_thread = sqlite_file or self.engine.dialect.name != "sqlite"

    @contextlib.contextmanager
    def session_scope(self) -> Iterator[Any]:
        """Rasa's scope takes every ValueError for a missing PostgreSQL schema and exits the
        whole server: one request whose sender id or text the database cannot take (a lone
        surrogate, a NUL byte for PostgreSQL) stopped the bot for everyone (issue 17,
        `make fuzz`). Here only the schema check can exit; any other error is the request's."""
        session = self.sessionmaker()
        try:
            try:
                ensure_schema_exists(session)
            except ValueError as schema:
                print_error_and_exit(f"PostgreSQL schema '{schema}' not found. Exiting.")
            yield session
        finally:
            session.close()

    def _check_schema(self) -> None:
        """Rasa checks a configured PostgreSQL schema on every use of the database."""
        if os.environ.get(POSTGRESQL_SCHEMA):
            with self.session_scope():
                pass

    async def save(self, tracker: DialogueStateTracker) -> None:
        if deletion_requested(tracker):
            await self.delete(tracker.sender_id)
            return
        await self.stream_events(tracker)  # to an event broker, if one is configured
        self._check_schema()
        stored = _known_stored(tracker)
        if stored is None:
            with self.engine.connect() as connection:
                stored = connection.execute(
                    self.queries.count_latest_session, {"sender_id": tracker.sender_id}
                ).scalar_one()
        new = itertools.islice(tracker.events, stored, None)
        rows = [_row(tracker.sender_id, _redacted(event)) for event in new]
        if rows:
            await self._write(rows)
        _remember_stored(tracker, len(tracker.events))

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        """The commit waits for the disk (a millisecond per message on SQLite, a round trip
        on PostgreSQL): in a thread, the server answers other relatives meanwhile. The turn
        holds the conversation's lock until the rows are written, also when the request
        is cancelled (a client that went away): the next message must read them."""
        if not self._writes_in_a_thread:
            self._insert(rows)
            return
        writing = asyncio.ensure_future(asyncio.to_thread(self._insert, rows))
        try:
            await asyncio.shield(writing)
        except asyncio.CancelledError:
            await asyncio.wait({writing})
            raise

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as connection:
            connection.execute(self.queries.insert, rows)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        """Rasa's, with the query built once and only the column it uses read."""
        queries = self.queries
        query = queries.all_sessions if fetch_events_from_all_sessions else queries.latest_session
        self._check_schema()
        with self.engine.connect() as connection:
            rows = connection.execute(query, {"sender_id": sender_id}).scalars().all()
        events = [json.loads(data) for data in rows]
        if not (self.domain and events):
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:
            _remember_stored(tracker, len(events))
        return tracker

    async def _stream_new_events(self, event_broker, new_events: list[Event], sender_id: str):
        redacted = [_redacted(event) for event in new_events]
        await super()._stream_new_events(event_broker, redacted, sender_id)

    async def delete(self, sender_id: str) -> None:
        with self.session_scope() as session:
            session.execute(delete(self.SQLEvent).where(self.SQLEvent.sender_id == sender_id))
            session.commit()
        logger.info("A conversation was deleted at the relative's request")


class RedactingRedisTrackerStore(RedisTrackerStore):
    """RedisTrackerStore that stores only redacted trackers (Redis keeps the whole tracker
    as one value, so the whole tracker is redacted), each with a time-to-live: a
    conversation expires CONVERSATION_RETENTION_DAYS after its last message, as the SQL
    store's retention job deletes it (`record_exp` in endpoints.yml overrides it)."""

    def __init__(self, domain=None, record_exp: float | None = None, **kwargs) -> None:
        if not record_exp:
            from bot.bootstrap import services

            record_exp = services().settings.conversation_retention_days * SECONDS_PER_DAY
        super().__init__(domain=domain, record_exp=record_exp, **kwargs)

    async def save(self, tracker: DialogueStateTracker, timeout: float | None = None) -> None:
        if deletion_requested(tracker):
            await self.delete(tracker.sender_id)
            return
        await super().save(redacted_tracker(tracker, self.domain.slots), timeout)

    async def delete(self, sender_id: str) -> None:
        self.red.delete(self.key_prefix + sender_id)
        logger.info("A conversation was deleted at the relative's request")
