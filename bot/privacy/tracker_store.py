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

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

from rasa.core.tracker_store import RedisTrackerStore, SQLTrackerStore, ensure_schema_exists
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.cli import print_error_and_exit
from sqlalchemy import delete
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.engine import make_url

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


def redacted_event(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of one serialised Rasa event with identifiers masked."""
    event = dict(event)
    kind = event.get("event")
    if kind in {"user", "bot"} and isinstance(event.get("text"), str):
        event["text"] = redact(event["text"])
    if kind == "user":
        event["metadata"] = {}
        parse_data = dict(event.get("parse_data") or {})
        if isinstance(parse_data.get("text"), str):
            parse_data["text"] = redact(parse_data["text"])
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
        # Test each pooled connection before use: after a database restart every pooled
        # connection is dead, and the first message of each conversation would fail (or
        # read as a new, empty conversation). Rasa creates the engine without it
        # (issue 17, tests/integration/test_faults.py).
        self.engine.pool._pre_ping = True
        if self.engine.dialect.name == "sqlite":
            # Erased conversations are overwritten, not left in the file's free pages.
            sqlalchemy_event.listen(self.engine, "connect", _secure_delete)

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

    async def save(self, tracker: DialogueStateTracker) -> None:
        if deletion_requested(tracker):
            await self.delete(tracker.sender_id)
            return
        await super().save(tracker)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        """Rasa's, reading only the column it uses: an ORM object per stored event was a
        tenth of the Rasa server's CPU under load (issue 21's profile)."""
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions)
            rows = query.with_entities(self.SQLEvent.data).all()
        events = [json.loads(data) for (data,) in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    def _additional_events(self, session, tracker: DialogueStateTracker) -> Iterator[Event]:
        """Only the events not yet stored are written, each as a redacted copy (cheaper
        than rebuilding the whole tracker on every turn)."""
        for event in super()._additional_events(session, tracker):
            yield _redacted(event)

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
