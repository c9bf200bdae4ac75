"""The contact directory: validation, placeholders and staleness warnings."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import pytest

from bot.contacts import ContactDirectory, ContactsError, load_contacts, warn_about_stale_contacts
from bot.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "deployment/contacts.yml"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "contacts.yml"
    path.write_text(body, encoding="utf-8")
    return path


def test_shipped_file_is_valid_and_has_sources():
    contacts = load_contacts(SHIPPED)
    assert {c.id for c in contacts} >= {
        "emergency",
        "police",
        "healthcare",
        "bris",
        "mind_suicide",
        "orostelefonen",
        "municipality_coordinator",
        "municipality_defector_support",
    }
    assert all(c.source.strip() for c in contacts)


def test_every_placeholder_in_the_domain_is_filled(domain):
    from actions.answers import ActionAnswerTopic

    # What the actions really fill in (contacts and retention from configuration).
    values = {**ActionAnswerTopic().template_values()}
    values |= {"contact_lines": "", "name": "", "phone": "", "hours": "", "description": ""}
    # The place in the queue and the usual wait, filled where they are said (actions/handoff.py).
    values |= {"queue_place": "", "queue_wait_minutes": ""}
    used = {
        name
        for variations in domain["responses"].values()
        for variation in variations
        for name in PLACEHOLDER.findall(variation.get("text", ""))
    }
    assert used, "the domain should use placeholders"
    assert used <= set(values), f"unfilled placeholders: {used - set(values)}"


def test_no_phone_number_is_written_into_a_response(domain):
    digits = re.compile(r"\d[\d \-]{2,}\d")
    year = re.compile(r"\b(?:19|20)\d\d\b")  # "sedan 2016", "1 juni 2023"
    for name, variations in domain["responses"].items():
        for variation in variations:
            text = year.sub("", variation.get("text", ""))
            assert not digits.search(text), (name, text)


def test_disabled_entries_are_not_offered():
    directory = ContactDirectory(load_contacts(SHIPPED))
    assert "phone_municipality_coordinator" not in directory.phone_placeholders()
    assert all(c.enabled for c in directory.for_topic("leaving_support"))


def test_missing_source_is_rejected(tmp_path):
    path = write(
        tmp_path,
        "contacts:\n- id: x\n  name: X\n  description: d\n  topics: []\n"
        "  verified_on: 2026-01-01\n",
    )
    with pytest.raises(ContactsError, match="source"):
        load_contacts(path)


def test_bad_date_is_rejected(tmp_path):
    path = write(
        tmp_path,
        "contacts:\n- {id: x, name: X, description: d, topics: [], source: s, verified_on: igår}\n",
    )
    with pytest.raises(ContactsError, match="not a date"):
        load_contacts(path)


def test_duplicate_ids_are_rejected(tmp_path):
    entry = (
        "- {id: x, name: X, description: d, topics: [], source: s, verified_on: null,"
        " enabled: false}\n"
    )
    with pytest.raises(ContactsError, match="duplicate"):
        load_contacts(write(tmp_path, "contacts:\n" + entry + entry))


def test_unreadable_file_is_a_clear_error(tmp_path):
    with pytest.raises(ContactsError, match="cannot read"):
        load_contacts(tmp_path / "missing.yml")


URL = "source_url: 'https://example.org'"


def test_stale_entries_are_warned_about(tmp_path, caplog):
    path = write(
        tmp_path,
        "contacts:\n"
        f"- {{id: fresh, name: A, description: d, topics: [], source: s, {URL},"
        " verified_on: 2026-06-01}\n"
        f"- {{id: old, name: B, description: d, topics: [], source: s, {URL},"
        " verified_on: 2025-01-01}\n"
        "- {id: off, name: D, description: d, topics: [], source: s, verified_on: null,"
        " enabled: false}\n",
    )
    directory = ContactDirectory(load_contacts(path))
    with caplog.at_level(logging.WARNING):
        stale = warn_about_stale_contacts(directory, 365, today=dt.date(2026, 11, 21))
    assert [c.id for c in stale] == ["old"]
    assert "'old'" in caplog.text and "'fresh'" not in caplog.text


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        (f"{URL}, verified_on: null", "never verified"),
        ("verified_on: 2026-06-01", "no source_url"),
        ("source_url: 'polisen.se', verified_on: 2026-06-01", "no source_url"),
    ],
)
def test_an_enabled_entry_nobody_checked_is_refused(tmp_path, fields, complaint):
    path = write(
        tmp_path,
        f"contacts:\n- {{id: line, name: L, description: d, topics: [], source: s, {fields}}}\n",
    )
    with pytest.raises(ContactsError, match=complaint):
        load_contacts(path)


def test_every_shipped_enabled_contact_was_checked_and_unverified_lines_are_off():
    contacts = {c.id: c for c in load_contacts(SHIPPED)}
    enabled = [c for c in contacts.values() if c.enabled]
    assert all(c.verified_on and c.source_url.startswith("https://") for c in enabled)
    assert not contacts["orostelefonen"].enabled and contacts["orostelefonen"].verified_on is None
    assert not contacts["mind_parents"].enabled


def test_no_topic_rests_on_a_single_unverified_line():
    directory = ContactDirectory(load_contacts(SHIPPED))
    topics = {topic for c in directory.contacts for topic in c.topics}
    for topic in topics:
        assert all(c.verified_on for c in directory.for_topic(topic)), topic


@pytest.mark.parametrize(
    ("topic", "first_ids"),
    [
        ("risk_suicide", ["mind_suicide", "emergency"]),
        ("risk_suicide_self", ["mind_suicide", "emergency", "healthcare"]),
        ("risk_threat_self", ["emergency", "police", "kvinnofrid"]),
        ("risk_child", ["emergency", "kvinnofrid"]),
        ("risk", ["emergency", "police"]),
    ],
)
def test_each_risk_gets_its_own_contacts_in_order(topic, first_ids):
    listed = [c.id for c in ContactDirectory(load_contacts(SHIPPED)).for_topic(topic)]
    assert listed == first_ids


def test_bris_is_listed_for_a_parent_only_in_the_full_list():
    directory = ContactDirectory(load_contacts(SHIPPED))
    for_a_parent = {c.id for c in directory.for_topics(["support_for_me"])}
    for_a_teenager = {c.id for c in directory.for_topics(["support_for_me"], writer_minor=True)}
    assert "bris" not in for_a_parent
    assert "bris" in for_a_teenager
    assert "bris" in {c.id for c in directory.for_topics(["contacts"])}
