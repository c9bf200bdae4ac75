"""The contact directory: loading, validation and staleness checks.

Phone numbers and opening hours differ per deployment and go out of date, so they live in
a YAML file (`CONTACTS_FILE`), each entry with a source and a `verified_on` date, and never
in the answer texts. Answers refer to them as `{phone_<id>}` placeholders.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

logger = logging.getLogger(__name__)

UNDER_18 = "under_18"
REQUIRED_FIELDS = ("id", "name", "description", "topics", "source", "verified_on")


class ContactsError(ValueError):
    """The contact file is missing or malformed."""


@dataclass(frozen=True)
class Contact:
    id: str
    name: str
    description: str
    topics: tuple[str, ...]
    source: str
    verified_on: dt.date | None
    phone: str | None = None
    hours: str | None = None
    enabled: bool = True
    # Topics whose list starts with this contact (Självmordslinjen before 112 and the
    # police for suicide risk); the others keep the file's order.
    first_for: tuple[str, ...] = ()
    source_url: str | None = None
    # The milieus the service works with (bot/dialogue/milieu.py), empty for all: Exit
    # helps people leave white-power milieus, not a jihadist or a gang.
    milieus: tuple[str, ...] = ()
    # "under_18": a service for the young themselves (Bris), listed with a topic's answer
    # only when the writer has said they are under 18 (bot/dialogue/writer.py), and always
    # in the full list of contacts.
    audience: str | None = None

    def is_stale(self, today: dt.date, max_age_days: int) -> bool:
        if self.verified_on is None:
            return True
        return (today - self.verified_on).days > max_age_days


def _parse_date(value: object, contact_id: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as error:
        raise ContactsError(
            f"contact {contact_id!r}: verified_on {value!r} is not a date"
        ) from error


def _parse_entry(raw: dict) -> Contact:
    missing = [name for name in REQUIRED_FIELDS if name not in raw]
    if missing:
        raise ContactsError(f"contact {raw.get('id', '?')!r} lacks {', '.join(missing)}")
    if not str(raw["source"]).strip():
        raise ContactsError(f"contact {raw['id']!r} has an empty source")
    contact = _contact(raw)
    _refuse_unchecked(contact)
    return contact


def _refuse_unchecked(contact: Contact) -> None:
    """A number the bot gives a frightened relative must have been checked by a person:
    an enabled entry without a public source page or a date it was checked on is an error,
    not a warning, so the servers do not start with it."""
    if not contact.enabled:
        return
    if not (contact.source_url or "").startswith("https://"):
        raise ContactsError(
            f"contact {contact.id!r} is enabled but has no source_url (https://...): add "
            "the page you checked it against, or set enabled: false"
        )
    if contact.verified_on is None:
        raise ContactsError(
            f"contact {contact.id!r} is enabled but was never verified: check it against "
            f"{contact.source_url} and set verified_on to that day, or set enabled: false"
        )


def _contact(raw: dict) -> Contact:
    return Contact(
        id=str(raw["id"]),
        name=str(raw["name"]),
        description=str(raw["description"]),
        topics=tuple(raw["topics"] or ()),
        source=str(raw["source"]),
        verified_on=_parse_date(raw["verified_on"], str(raw["id"])),
        phone=None if raw.get("phone") is None else str(raw["phone"]),
        hours=raw.get("hours"),
        enabled=bool(raw.get("enabled", True)),
        first_for=tuple(raw.get("first_for") or ()),
        source_url=None if raw.get("source_url") is None else str(raw["source_url"]).strip(),
        milieus=tuple(raw.get("milieus") or ()),
        audience=raw.get("audience"),
    )


def load_contacts(path: Path) -> list[Contact]:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ContactsError(f"cannot read contact file {path}: {error}") from error
    entries = (document or {}).get("contacts")
    if not isinstance(entries, list):
        raise ContactsError(f"{path} must have a top-level 'contacts' list")
    contacts = [_parse_entry(entry) for entry in entries]
    ids = [contact.id for contact in contacts]
    duplicates = sorted({contact_id for contact_id in ids if ids.count(contact_id) > 1})
    if duplicates:
        raise ContactsError(f"duplicate contact ids: {', '.join(duplicates)}")
    return contacts


class ContactDirectory:
    """Enabled contacts, looked up by topic or as template values."""

    def __init__(self, contacts: list[Contact]):
        self.contacts = contacts

    @property
    def enabled(self) -> list[Contact]:
        return [contact for contact in self.contacts if contact.enabled]

    def for_topic(self, topic: str) -> list[Contact]:
        listed = [contact for contact in self.enabled if topic in contact.topics]
        return sorted(listed, key=lambda contact: topic not in contact.first_for)

    def for_topics(
        self, topics: list[str], milieus: set[str] | None = None, writer_minor: bool = False
    ) -> list[Contact]:
        """The contacts of several topics in one list, in topic order, each once; when the
        conversation's milieus are known, without services made for other milieus; services
        for the under-18s only when the writer is one (or in the full list)."""
        listed: dict[str, Contact] = {}
        for topic in topics:
            for contact in self.for_topic(topic):
                if milieus and contact.milieus and not milieus & set(contact.milieus):
                    continue
                if contact.audience == UNDER_18 and not writer_minor and topic != "contacts":
                    continue
                listed.setdefault(contact.id, contact)
        return list(listed.values())

    def phone_placeholders(self) -> dict[str, str]:
        """`{phone_<id>}` values for the answer templates."""
        return {f"phone_{c.id}": c.phone for c in self.enabled if c.phone}

    def stale(self, today: dt.date, max_age_days: int) -> list[Contact]:
        return [c for c in self.enabled if c.is_stale(today, max_age_days)]


def warn_about_stale_contacts(
    directory: ContactDirectory, max_age_days: int, today: dt.date | None = None
) -> list[Contact]:
    today = today or dt.date.today()
    stale = directory.stale(today, max_age_days)
    for contact in stale:
        when = contact.verified_on.isoformat() if contact.verified_on else "never"
        logger.warning(
            "Contact %r was last verified %s (older than %d days): check it against %s "
            "and update verified_on.",
            contact.id,
            when,
            max_age_days,
            contact.source,
        )
    return stale


def check_at_startup(path: Path, max_age_days: int) -> ContactDirectory:
    """The servers' start-up check: a contact file with an error (an enabled entry nobody
    verified, say) stops the start with the reason; stale entries are warned about."""
    try:
        directory = load_directory(path)
    except ContactsError as error:
        raise SystemExit(f"Contact file {path}: {error}") from None
    warn_about_stale_contacts(directory, max_age_days)
    return directory


@lru_cache(maxsize=4)
def load_directory(path: Path) -> ContactDirectory:
    return ContactDirectory(load_contacts(path))


# Public numbers that are never a relative's own, whatever the contact file says.
EMERGENCY_NUMBERS = ("112", "114 14", "1177", "90101", "116 111", "116 006")


def public_phone_numbers(path: Path) -> tuple[str, ...]:
    """The numbers the bot itself gives out: the redactor must leave them in place."""
    try:
        contacts = load_contacts(path)
    except (OSError, ContactsError):
        contacts = []
    return EMERGENCY_NUMBERS + tuple(contact.phone for contact in contacts if contact.phone)


def main() -> int:
    """`python -m bot.contacts`: validate the configured file and list stale entries."""
    from bot.settings import Settings

    settings = Settings.from_environment()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    directory = load_directory(settings.contacts_file)
    stale = warn_about_stale_contacts(directory, settings.contacts_max_age_days)
    print(f"{len(directory.enabled)} enabled contacts, {len(stale)} need verification")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
