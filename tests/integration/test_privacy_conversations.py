"""End to end through the real servers: a conversation full of identifiers leaves none of
them in any table or log, and "radera mitt samtal" deletes the conversation at once."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import yaml

from bot.pseudonym import conversation_ref
from tests.conftest import PROJECT_ROOT
from tests.support.databases import escalation_of
from tests.support.servers import TEST_PSEUDONYM_KEY

CLIENT = {"X-Forwarded-For": "85.228.14.201", "User-Agent": "VagvisarenTestBrowser/9.9"}
MESSAGES = [
    "Hej, jag heter Fatima Hussein och min son Yusuf har börjat prata om att åka till Syrien",
    "Mitt nummer är 070-123 45 67 och min mejl är fatima.hussein@hotmail.com",
    "Vi bor på Tallbacksvägen 12, 163 72 Spånga. Hans personnummer är 20050314-2382",
    "Han loggade in från 83.250.12.9 enligt routern",
]
IDENTIFIERS = [
    "Fatima", "Hussein", "Yusuf", "070-123 45 67", "0701234567", "fatima.hussein",
    "Tallbacksvägen", "163 72", "20050314-2382", "050314", "83.250.12.9",
    "85.228.14.201", "VagvisarenTestBrowser",
]  # fmt: skip
# A phrase of the relative's own words: no log line may hold message text.
MESSAGE_TEXT = "enligt routern"


def readable(value) -> str:
    """JSON columns hold non-ASCII letters as \\u escapes; search them as written."""
    if isinstance(value, str) and value.startswith("{"):
        try:
            return json.dumps(json.loads(value), ensure_ascii=False)
        except json.JSONDecodeError:
            return value
    return str(value)


def dump(database: Path) -> str:
    """Every value of every table of an SQLite database, as one text."""
    with sqlite3.connect(database) as connection:
        tables = [row[0] for row in connection.execute("select name from sqlite_master")]
        rows = []
        for table in tables:
            try:
                rows += [
                    " ".join(map(str, row))
                    for row in connection.execute(f'select * from "{table}"')
                ]
            except sqlite3.OperationalError:  # an index, not a table
                continue
    return "\n".join(rows)


def say(bot, sender: str, message: str) -> list[dict]:
    reply = bot.request(
        "/webhooks/rest/webhook", {"sender": sender, "message": message}, headers=CLIENT
    )
    assert reply.status == 200, reply
    return reply.body


def test_a_conversation_full_of_identifiers_leaves_none_in_tables_or_logs(bot):
    sender = f"privacy-{uuid.uuid4().hex}"
    answers = [say(bot, sender, message) for message in MESSAGES]
    # The bot read the full text in the turn: the first message's risk signal was answered.
    assert "utter_risk_elevated" in bot.bot_responses(sender)
    reference = conversation_ref(sender, TEST_PSEUDONYM_KEY)
    escalation = next(row for row in bot.escalations() if row["conversation_ref"] == reference)
    assert escalation["level"] == "elevated" and answers

    stored = dump(bot.database) + "\n" + dump(bot.escalation_database)
    assert "[telefon]" in stored and "[personnummer]" in stored and "[namn]" in stored
    logs = bot.logs()
    for identifier in IDENTIFIERS:
        assert identifier not in stored, f"{identifier} stored"
        assert identifier not in logs, f"{identifier} logged"
    assert MESSAGE_TEXT not in logs
    assert sender not in logs  # no conversation id next to anything in the logs


def test_radera_mitt_samtal_deletes_the_conversation_at_once(bot):
    sender = f"delete-{uuid.uuid4().hex}"
    bot.say(sender, "min bror har sagt att han ska åka till syrien och strida")
    # This conversation's own escalation, with its excerpt: the action server stores it
    # beside the answer, so under load it can land just after the reply.
    reference = conversation_ref(sender, TEST_PSEUDONYM_KEY)
    escalation = escalation_of(bot.escalation_url, reference, seconds=30)
    assert escalation is not None, "no escalation stored for the conversation within 30 s"
    assert escalation["excerpt"] and escalation["level"] in {"elevated", "acute"}

    replies = bot.say(sender, "radera mitt samtal")

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    deleted = deletion_answer()
    kept = domain["responses"]["utter_conversation_deleted_escalation_kept"][0]["text"]
    texts = [reply.get("text", "") for reply in replies]
    assert any(text.startswith(deleted) for text in texts), texts
    assert kept in texts
    # Deleting ends the turn: no "Jag förstår tyvärr fortfarande inte" after the answer.
    fallback = domain["responses"]["utter_default"][0]["text"].split(".")[0]
    assert not any(fallback in text for text in texts), texts
    with sqlite3.connect(bot.database) as connection:
        left = connection.execute("select count(*) from events where sender_id = ?", (sender,))
        assert left.fetchone()[0] == 0
    after = {row["id"]: row for row in bot.escalations()}
    assert after[escalation["id"]]["excerpt"] == ""
    assert after[escalation["id"]]["level"] == escalation["level"]  # kept, without the words

    # Writing again starts a new conversation with the privacy notice.
    notice = domain["responses"]["utter_privacy_notice_web"][0]["text"].split(":")[0]
    assert any(notice in reply.get("text", "") for reply in bot.say(sender, "hej"))


def deletion_answer() -> str:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return domain["responses"]["utter_conversation_deleted_web"][0]["text"].split("\n")[0]


async def reply_starting_with(replies, start: str) -> dict:
    while not (reply := await replies.get()).get("text", "").startswith(start):
        pass
    return reply


async def test_after_radera_and_after_retention_nothing_of_the_conversation_is_left(bot, redactor):
    """Issue 17: "radera" also took the conversation's presence row, the staff's notes, a
    signal waiting in the retry file; afterwards no table, database file (journal and
    write-ahead log included), retry file or log holds its words or its id."""
    import asyncio

    from bot.escalations.escalator import RetryFile
    from bot.escalations.presence import presence
    from bot.escalations.service import Signal
    from bot.retention import purge
    from bot.risk.levels import RiskLevel
    from bot.settings import Settings
    from bot.staff.accounts import Accounts
    from bot.staff.model import Role
    from bot.staff.review import Review
    from bot.store.engine import make_engine
    from tests.support.web_chat import close, session

    words = "Lingonblomman"
    client, session_id, replies = await session(bot)
    try:
        await client.emit(
            "user_uttered",
            {
                "session_id": session_id,
                "message": f"min bror ska åka till Syrien och strida, de ses vid {words}",
            },
        )
        await asyncio.wait_for(replies.get(), 60)
        reference = conversation_ref(session_id, TEST_PSEUDONYM_KEY)
        escalation = escalation_of(bot.escalation_url, reference)  # stored in the background
        engine = make_engine(f"sqlite:///{bot.escalation_database}")
        assert presence(engine, reference) is not None
        Accounts(engine).create_user("notetaker", Role.HANDLER)
        writer = next(user for user in Accounts(engine).users() if user.username == "notetaker")
        Review(engine, redactor).add_note(
            writer, escalation["id"], f"Ringde om {words}, 070-123 45 67"
        )
        retry_file = RetryFile(bot.database.parent / "escalation-retry.jsonl")
        retry_file.append(Signal(reference, RiskLevel.ACUTE, ("travel",), words, "k"))
        assert words in dump(bot.escalation_database) + retry_file.path.read_text()

        await client.emit(
            "user_uttered", {"session_id": session_id, "message": "radera mitt samtal"}
        )
        # The first message's answer has several bubbles: the replies are read up to the
        # deletion's own, so the chat closes only after the server has handled "radera".
        await asyncio.wait_for(reply_starting_with(replies, deletion_answer()), 60)
    finally:
        await close(client)
    # The tracker store saves (deletes) just after answering: wait for it.
    deadline = asyncio.get_running_loop().time() + 30
    while session_id in dump(bot.database):
        assert asyncio.get_running_loop().time() < deadline, "the conversation was not deleted"
        await asyncio.sleep(0.5)

    def everything_kept() -> str:
        files = [
            path
            for path in bot.database.parent.rglob("*")
            if path.is_file() and path.suffix in {".db", ".jsonl", ".log", ".db-wal", ".db-journal"}
        ]
        return "\n".join(path.read_bytes().decode("utf-8", "replace") for path in files)

    kept = everything_kept() + dump(bot.database) + dump(bot.escalation_database)
    assert words not in kept and "070-123 45 67" not in kept
    assert session_id not in kept
    assert presence(engine, reference) is None

    purge(
        Settings(
            tracker_database_url=f"sqlite:///{bot.database}",
            escalation_database_url=f"sqlite:///{bot.escalation_database}",
        )
    )
    assert words not in everything_kept() and session_id not in everything_kept()
