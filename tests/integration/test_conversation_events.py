"""The one view of Rasa's conversations (bot/store/events.py) reads the same transcript
from the SQL tracker store and from the Redis one, as the redacting stores wrote it."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUtteranceReverted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.conversation import STAFF_MARK
from bot.privacy.tracker_store import RedactingRedisTrackerStore, RedactingSQLTrackerStore
from bot.staff.transcript import ConversationFinder, transcript
from bot.store.events import (
    ConversationEvents,
    RedisConversationEvents,
    conversation_events,
)

DOMAIN = Domain.from_yaml("version: '3.1'\nintents: [share_worry]\n")
KEY = "a-test-pseudonym-key"


def conversation(sender: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    tracker.update(UserUttered("min son heter Ahmed", {"name": "share_worry"}))
    tracker.update(BotUttered("Tack för att du berättar."))
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("vad gör jag", {"name": "share_worry"}))
    tracker.update(UserUtteranceReverted())  # the two-stage fallback took it back
    tracker.update(UserUttered("vad gör jag", {"name": "share_worry"}))
    tracker.update(BotUttered("Jag är här nu.", data={"custom": STAFF_MARK}))
    return tracker


@pytest.fixture(params=["sqlite", "redis"])
async def stored(request, tmp_path):
    """A store with one conversation in it, and the view of that store."""
    sender = f"conv-{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tracker.db'}"
        await RedactingSQLTrackerStore(DOMAIN, host=url).save(conversation(sender))
        yield sender, conversation_events(url)
        return
    client = redis.Redis(host="127.0.0.1", port=6379)
    client.ping()  # fails clearly when Redis is not running
    name = f"vagvisarentest{uuid.uuid4().hex[:8]}"  # Rasa accepts alphanumeric prefixes only
    store = RedactingRedisTrackerStore(DOMAIN, host="127.0.0.1", port=6379, key_prefix=name)
    await store.save(conversation(sender))
    yield sender, RedisConversationEvents("redis://127.0.0.1:6379/0", f"{name}:tracker:")
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


async def test_the_transcript_reads_the_same_from_either_store(stored):
    sender, events = stored
    lines = [(line.speaker, line.text) for _, line in transcript(events, sender)]
    assert lines == [
        ("relative", "min son heter [namn]"),
        ("bot", "Tack för att du berättar."),
        ("relative", "vad gör jag"),  # written once, shown once
        ("staff", "Jag är här nu."),
    ]
    ids = [event_id for event_id, _ in transcript(events, sender)]
    assert ids == sorted(ids)
    # A live view asks only for what came after the last line it showed.
    after = transcript(events, sender, after_id=ids[1])
    assert [line.text for _, line in after] == ["vad gör jag", "Jag är här nu."]


async def test_a_conversation_is_found_by_its_keyed_hash_and_gone_once_deleted(stored):
    from bot.pseudonym import conversation_ref

    sender, events = stored
    assert sender in set(events.conversation_ids())
    finder = ConversationFinder(events, KEY)
    assert finder(conversation_ref(sender, KEY)) == sender
    assert finder(conversation_ref("someone-else", KEY)) is None
    assert events.exists(sender) and not events.exists("someone-else")


async def test_retention_deletes_old_sql_conversations_and_leaves_redis_to_its_ttl(stored):
    sender, events = stored
    a_year_on = time.time() + 365 * 86_400
    deleted = events.delete_inactive(30, now=a_year_on)
    if isinstance(events, ConversationEvents):
        assert deleted == 1 and not events.exists(sender)
    else:
        assert deleted == 0 and events.exists(sender)  # Redis expires it itself


def test_the_view_follows_the_tracker_store_url(tmp_path):
    assert isinstance(conversation_events(f"sqlite:///{tmp_path / 'x.db'}"), ConversationEvents)
    assert isinstance(conversation_events("redis://127.0.0.1:6379/0"), RedisConversationEvents)
