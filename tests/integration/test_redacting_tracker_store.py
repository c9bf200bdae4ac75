"""The redacting tracker stores on SQLite, PostgreSQL and Redis: nothing identifying is
written, and a deleted conversation is gone."""

from __future__ import annotations

import json
import uuid

import pytest
import redis
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, inspect, text

from bot.privacy.tracker_store import (
    DELETE_ACTION,
    SECONDS_PER_DAY,
    RedactingRedisTrackerStore,
    RedactingSQLTrackerStore,
)
from tests.support.settings import settings

DOMAIN = Domain.from_yaml(
    "version: '3.1'\nintents: [share_worry, delete_conversation]\n"
    "slots:\n  note:\n    type: text\n    mappings: [{type: custom}]\n"
)
IDENTIFIERS = ["Ahmed", "19850314-2385", "070-123 45 67", "ahmed.k@gmail.com", "Storgatan 12"]
MESSAGE = (
    "Min son Ahmed (19850314-2385) nås på 070-123 45 67 eller ahmed.k@gmail.com, "
    "han bor på Storgatan 12."
)


class CollectingBroker(EventBroker):
    """Receives what Rasa publishes, as a Kafka or RabbitMQ broker would."""

    def __init__(self) -> None:
        self.published: list[dict] = []

    def publish(self, event: dict) -> None:
        self.published.append(event)


def conversation(sender: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(
        UserUttered(
            MESSAGE,
            {"name": "share_worry", "confidence": 0.9},
            entities=[{"entity": "person", "value": "Ahmed", "start": 11, "end": 16}],
            parse_data={"text": MESSAGE, "intent": {"name": "share_worry"}, "entities": []},
            metadata={"client_ip": "85.228.14.201", "user_agent": "Mozilla/5.0"},
        )
    )
    tracker.update(SlotSet("note", "Ahmed på Storgatan 12"))
    tracker.update(BotUttered("Tack för att du berättar."))
    tracker.update(ActionExecuted("action_listen"))
    return tracker


@pytest.fixture
def sql_url(empty_url: str) -> str:
    """An empty database, on SQLite and on PostgreSQL."""
    return empty_url


def _readable(value) -> str:
    """JSON columns hold non-ASCII letters as \\u escapes; search them as written."""
    if isinstance(value, str) and value.startswith("{"):
        return json.dumps(json.loads(value), ensure_ascii=False)
    return str(value)


def everything_stored(url: str) -> str:
    """Every value of every table, as one text to search."""
    engine = create_engine(url, future=True)
    dump = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                dump.append(" ".join(_readable(value) for value in row))
    engine.dispose()
    return "\n".join(dump)


async def test_the_sql_store_writes_no_identifier_and_the_turn_keeps_its_text(sql_url):
    broker = CollectingBroker()
    store = RedactingSQLTrackerStore(DOMAIN, host=sql_url, event_broker=broker)
    tracker = conversation("conv-1")
    await store.save(tracker)

    stored = everything_stored(sql_url)
    for identifier in IDENTIFIERS + ["85.228.14.201", "Mozilla"]:
        assert identifier not in stored, identifier
    assert "[personnummer]" in stored and "[telefon]" in stored and "[namn]" in stored
    published = str(broker.published)
    for identifier in IDENTIFIERS:
        assert identifier not in published, identifier
    assert len(broker.published) == 4
    # The live tracker (what Rasa and the actions use in this turn) is untouched.
    assert tracker.latest_message.text == MESSAGE
    retrieved = await store.retrieve("conv-1")
    assert "[telefon]" in retrieved.latest_message.text
    assert retrieved.get_slot("note") == "[namn] på [adress]"


async def test_saving_again_adds_only_the_new_events(sql_url):
    broker = CollectingBroker()
    store = RedactingSQLTrackerStore(DOMAIN, host=sql_url, event_broker=broker)
    tracker = conversation("conv-2")
    await store.save(tracker)
    tracker.update(UserUttered("tack Maria", {"name": "share_worry"}))
    await store.save(tracker)
    assert len((await store.retrieve("conv-2")).events) == 5
    assert len(broker.published) == 5
    assert broker.published[-1]["text"] == "tack [namn]"


async def test_a_deleted_conversation_leaves_no_row(sql_url):
    store = RedactingSQLTrackerStore(DOMAIN, host=sql_url)
    await store.save(conversation("keep"))
    tracker = conversation("delete-me")
    await store.save(tracker)
    tracker.update(UserUttered("radera mitt samtal", {"name": "delete_conversation"}))
    tracker.update(ActionExecuted(DELETE_ACTION))
    tracker.update(BotUttered("Klart. Samtalet är raderat."))
    await store.save(tracker)

    assert await store.retrieve("delete-me") is None
    assert "delete-me" not in everything_stored(sql_url)
    assert await store.retrieve("keep") is not None
    # Writing again starts a new conversation.
    await store.save(conversation("delete-me"))
    assert len((await store.retrieve("delete-me")).events) == 4


def _rows(url: str) -> list[tuple]:
    """Every stored event as Rasa reads it back: everything but the row id, in id order."""
    engine = create_engine(url, future=True)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT sender_id, type_name, timestamp, intent_name, action_name, data "
                "FROM events ORDER BY id"
            )
        ).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def _a_turn(tracker: DialogueStateTracker, message: str) -> None:
    tracker.update(UserUttered(message, {"name": "share_worry", "confidence": 0.8}))
    tracker.update(ActionExecuted("action_answer_topic"))
    tracker.update(BotUttered("Det låter tungt.", metadata={"utter_action": "utter_listen"}))
    tracker.update(ActionExecuted("action_listen"))


async def test_the_rows_are_those_rasas_store_writes_for_the_redacted_conversation(
    sql_url, tmp_path
):
    """Issue 21 reads and writes the events without Rasa's ORM queries and counts the
    stored events when a tracker is read instead of on every save: the rows must be the
    ones Rasa's own SQLTrackerStore writes for the redacted tracker, turn by turn, through
    a new session and a tracker read back from the store."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import SessionStarted

    from bot.privacy.tracker_store import redacted_tracker

    ours = RedactingSQLTrackerStore(DOMAIN, host=sql_url)
    rasas_url = f"sqlite:///{tmp_path / 'rasa-own.db'}"
    rasas = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa-own.db"))

    async def save_both(tracker: DialogueStateTracker) -> None:
        await ours.save(tracker)
        await rasas.save(redacted_tracker(tracker, DOMAIN.slots))

    tracker = conversation("same-rows")
    await save_both(tracker)
    _a_turn(tracker, "Ahmed har slutat i skolan")
    await save_both(tracker)
    # The next turn starts from the tracker as the store gives it back, as in Rasa's server.
    tracker = await ours.retrieve("same-rows")
    _a_turn(tracker, "ring mig på 070-123 45 67")
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    _a_turn(tracker, "hej igen")
    await save_both(tracker)
    tracker = await ours.retrieve("same-rows")
    assert [event.type_name for event in tracker.events][:2] == ["session_started", "action"]
    _a_turn(tracker, "tack")
    await save_both(tracker)

    assert _rows(sql_url) == _rows(rasas_url)
    assert len(_rows(sql_url)) == 4 + 4 + 4 + 2 + 4 + 4
    assert (await ours.retrieve("same-rows")).events == (await rasas.retrieve("same-rows")).events
    everything = await ours.retrieve_full_tracker("same-rows")
    assert len(everything.events) == len(_rows(sql_url))


async def test_a_tracker_the_store_did_not_give_is_saved_after_counting_the_stored_events(
    sql_url,
):
    """A tracker built elsewhere (Rasa's HTTP API can replace a conversation's events) has
    no count from the store: the stored events are counted, as Rasa does."""
    store = RedactingSQLTrackerStore(DOMAIN, host=sql_url)
    await store.save(conversation("rebuilt"))
    rebuilt = conversation("rebuilt")  # the same four events, not read from the store
    _a_turn(rebuilt, "och sen?")
    await store.save(rebuilt)
    assert len((await store.retrieve("rebuilt")).events) == 8
    # Two stores on one database (two Rasa servers): each reads before it writes.
    other = RedactingSQLTrackerStore(DOMAIN, host=sql_url)
    tracker = await other.retrieve("rebuilt")
    _a_turn(tracker, "en gång till")
    await other.save(tracker)
    tracker = await store.retrieve("rebuilt")
    _a_turn(tracker, "och igen")
    await store.save(tracker)
    stored = [json.loads(row[-1]).get("text") for row in _rows(sql_url)]
    assert stored.count("en gång till") == 1 and stored.count("och igen") == 1
    assert len(stored) == 16


async def test_a_cancelled_turn_lets_go_of_the_conversation_only_once_it_is_written(
    sql_url, monkeypatch
):
    """The rows are written in a thread; when the request is cancelled (the client went
    away) the turn still waits for them, so the next message of the conversation, which
    may take the lock at once, reads them."""
    import asyncio
    import time

    store = RedactingSQLTrackerStore(DOMAIN, host=sql_url)
    insert = store._insert

    def slow_insert(rows):
        time.sleep(0.3)
        insert(rows)

    monkeypatch.setattr(store, "_insert", slow_insert)
    saving = asyncio.create_task(store.save(conversation("cancelled")))
    await asyncio.sleep(0.05)
    saving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await saving
    assert len(_rows(sql_url)) == 4


async def test_an_in_memory_sqlite_store_keeps_the_conversation():
    store = RedactingSQLTrackerStore(DOMAIN, host="sqlite://")
    tracker = conversation("in-memory")
    await store.save(tracker)
    _a_turn(tracker, "hej igen")
    await store.save(tracker)
    assert len((await store.retrieve("in-memory")).events) == 8


@pytest.fixture
def redis_store():
    client = redis.Redis(host="127.0.0.1", port=6379)
    client.ping()  # fails clearly when Redis is not running
    name = f"vagvisarentest{uuid.uuid4().hex[:8]}"  # Rasa accepts alphanumeric prefixes only
    store = RedactingRedisTrackerStore(DOMAIN, host="127.0.0.1", port=6379, key_prefix=name)
    prefix = f"{name}:"
    yield store, client, prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


async def test_the_redis_store_writes_no_identifier_and_deletes(redis_store):
    store, client, prefix = redis_store
    tracker = conversation("conv-r")
    await store.save(tracker)
    stored = b" ".join(client.get(key) for key in client.scan_iter(f"{prefix}*")).decode()
    for identifier in IDENTIFIERS:
        assert identifier not in stored, identifier
    assert "[personnummer]" in stored

    tracker.update(ActionExecuted(DELETE_ACTION))
    await store.save(tracker)
    assert list(client.scan_iter(f"{prefix}*")) == []


async def test_the_redis_store_expires_a_conversation_after_the_retention(redis_store):
    """Redis has no retention job: each conversation carries its own time-to-live,
    CONVERSATION_RETENTION_DAYS from its last message (issue 17)."""
    store, client, prefix = redis_store
    await store.save(conversation("conv-ttl"))
    [key] = list(client.scan_iter(f"{prefix}*"))
    ttl = client.ttl(key)
    days = settings.conversation_retention_days
    assert days * SECONDS_PER_DAY - 60 < ttl <= days * SECONDS_PER_DAY


def test_sqlite_overwrites_what_it_deletes(tmp_path):
    """Issue 17: an erased conversation must not linger in the file's free pages. Debian's
    SQLite already defaults to secure_delete, so the setting is checked where it is made:
    every connection of both stores sets it, whatever the build's default."""
    from sqlalchemy import event

    from bot.privacy.tracker_store import _secure_delete
    from bot.store.engine import _sqlite_pragmas, make_engine

    store = RedactingSQLTrackerStore(DOMAIN, host=f"sqlite:///{tmp_path / 'rasa.db'}")
    escalations = make_engine(f"sqlite:///{tmp_path / 'escalations.db'}")
    assert event.contains(store.engine, "connect", _secure_delete)
    assert event.contains(escalations, "connect", _sqlite_pragmas)
    for engine in (store.engine, escalations):
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA secure_delete = OFF")  # as a build may default
            connection.invalidate()  # the next use opens a new connection (pools keep them)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
