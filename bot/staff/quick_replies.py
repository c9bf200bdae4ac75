"""Prepared answers ("snabbsvar") for a handler in a live chat (issue 20); the only writer of
the table quick_replies.

Admins write them on /admin/quick-replies; a handler in a conversation picks one, edits it
and sends it like any message of their own (bot/rasa_client.py send_staff_message).

Rules:
- A title of at most 80 characters; a body that, with its placeholders filled, fits in one
  staff message (MAX_STAFF_MESSAGE_CHARS).
- The only placeholders are `{kontakt:<id>}`, an enabled entry of the deployment's contact
  directory (bot/contacts.py, CONTACTS_FILE), filled with its name and number the way the
  bot's own contact lines give them ("Polisen: 114 14"). Numbers change: the text names the
  contact, the directory gives the number when the handler picks the answer.
- Anything else between braces is refused when saving, so a handler never sends a raw
  placeholder to a frightened relative. A reply whose contact was disabled after it was
  saved is not offered in the chat until an admin fixes it (the admin page marks it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from bot.contacts import Contact, load_directory
from bot.escalations.model import as_utc, utcnow
from bot.rasa_client import MAX_STAFF_MESSAGE_CHARS
from bot.staff.accounts import StaffError
from bot.store.tables import quick_replies

MAX_TITLE_CHARS = 80
MAX_BODY_CHARS = MAX_STAFF_MESSAGE_CHARS
CONTACT_PLACEHOLDER = re.compile(r"\{kontakt:([A-Za-z0-9_]+)\}")
# Whatever looks like a placeholder (something between braces), known or not.
ANY_PLACEHOLDER = re.compile(r"\{[^{}\n]*\}")


class QuickReplyError(StaffError):
    """A prepared answer that cannot be saved; `unknown` lists the placeholders that
    do not exist, for the admin's page."""

    def __init__(self, code: str, unknown: tuple[str, ...] = ()) -> None:
        super().__init__(code)
        self.unknown = unknown


@dataclass(frozen=True)
class QuickReply:
    id: int
    title: str
    body: str
    updated_by: str | None
    updated_at: datetime


@dataclass(frozen=True)
class FilledReply:
    """A prepared answer as the handler gets it: its placeholders filled."""

    id: int
    title: str
    text: str


def contact_text(contact: Contact) -> str:
    """A contact as the bot's contact lines name it (domain.yml utter_contact_line_phone)."""
    return f"{contact.name}: {contact.phone}" if contact.phone else contact.name


def placeholder_values(contacts: list[Contact]) -> dict[str, str]:
    """`{kontakt:<id>}` -> its text, for every enabled contact."""
    return {
        f"{{kontakt:{contact.id}}}": contact_text(contact)
        for contact in contacts
        if contact.enabled
    }


def unknown_placeholders(body: str, values: dict[str, str]) -> tuple[str, ...]:
    """Every brace expression in `body` that is not a known placeholder, once each."""
    found = (match.group(0) for match in ANY_PLACEHOLDER.finditer(body))
    return tuple(dict.fromkeys(text for text in found if text not in values))


def fill(body: str, values: dict[str, str]) -> str:
    """The body with its placeholders filled; QuickReplyError if one is unknown."""
    if unknown := unknown_placeholders(body, values):
        raise QuickReplyError("quick_reply_unknown_placeholder", unknown)
    return ANY_PLACEHOLDER.sub(lambda match: values[match.group(0)], body)


def checked(title: str, body: str, values: dict[str, str]) -> tuple[str, str]:
    """The title and body trimmed, if they may be saved; QuickReplyError if not."""
    title, body = (title or "").strip(), (body or "").strip()
    if not title or not body:
        raise QuickReplyError("quick_reply_empty")
    if len(title) > MAX_TITLE_CHARS:
        raise QuickReplyError("quick_reply_title_too_long")
    if len(body) > MAX_BODY_CHARS or len(fill(body, values)) > MAX_STAFF_MESSAGE_CHARS:
        raise QuickReplyError("quick_reply_too_long")
    return title, body


def _reply(row) -> QuickReply:
    return QuickReply(row.id, row.title, row.body, row.updated_by, as_utc(row.updated_at))


class QuickReplies:
    """The table quick_replies; `contacts` gives the deployment's contact directory (read
    when a reply is saved or offered, so a changed number is the one sent)."""

    def __init__(self, engine: Engine, contacts: Callable[[], list[Contact]]) -> None:
        self.engine = engine
        self.contacts = contacts

    @classmethod
    def for_contacts_file(cls, engine: Engine, path: Path) -> QuickReplies:
        return cls(engine, lambda: load_directory(Path(path)).contacts)

    def values(self) -> dict[str, str]:
        return placeholder_values(self.contacts())

    def all(self) -> list[QuickReply]:
        statement = select(quick_replies).order_by(quick_replies.c.title, quick_replies.c.id)
        with self.engine.connect() as connection:
            return [_reply(row) for row in connection.execute(statement)]

    def get(self, reply_id: int) -> QuickReply | None:
        statement = select(quick_replies).where(quick_replies.c.id == reply_id)
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        return None if row is None else _reply(row)

    def filled(self) -> list[FilledReply]:
        """What a handler in a conversation is offered: every reply whose placeholders can
        be filled now."""
        values, offered = self.values(), []
        for reply in self.all():
            if not unknown_placeholders(reply.body, values):
                offered.append(FilledReply(reply.id, reply.title, fill(reply.body, values)))
        return offered

    def add(self, title: str, body: str, username: str, now: datetime | None = None) -> int:
        title, body = checked(title, body, self.values())
        now = now or utcnow()
        with self.engine.begin() as connection:
            result = connection.execute(
                insert(quick_replies).values(
                    title=title, body=body, updated_by=username, created_at=now, updated_at=now
                )
            )
            return result.inserted_primary_key[0]

    def change(
        self, reply_id: int, title: str, body: str, username: str, now: datetime | None = None
    ) -> bool:
        """Whether the reply existed (and was changed)."""
        title, body = checked(title, body, self.values())
        with self.engine.begin() as connection:
            result = connection.execute(
                update(quick_replies)
                .where(quick_replies.c.id == reply_id)
                .values(title=title, body=body, updated_by=username, updated_at=now or utcnow())
            )
            return result.rowcount > 0

    def remove(self, reply_id: int) -> bool:
        with self.engine.begin() as connection:
            result = connection.execute(delete(quick_replies).where(quick_replies.c.id == reply_id))
            return result.rowcount > 0
