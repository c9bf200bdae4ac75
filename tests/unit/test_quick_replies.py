"""Prepared answers ("snabbsvar", bot/staff/quick_replies.py): contact placeholders filled
from the deployment's contact directory, unknown ones refused when saving, limits, and the
live chat's list escaped (templates/partials/quick_replies.html). The table itself:
tests/integration/test_staff_tools.py."""

from __future__ import annotations

import datetime as dt

import pytest
from markupsafe import escape

from bot.contacts import Contact, load_contacts
from bot.rasa_client import MAX_STAFF_MESSAGE_CHARS
from bot.staff.app import templates
from bot.staff.quick_replies import (
    FilledReply,
    QuickReplyError,
    checked,
    fill,
    placeholder_values,
)
from tests.support.settings import settings


def _contact(contact_id: str, name: str, phone: str | None, enabled: bool = True) -> Contact:
    return Contact(
        id=contact_id,
        name=name,
        description="",
        topics=(),
        source="test",
        verified_on=dt.date(2026, 12, 1),
        phone=phone,
        enabled=enabled,
    )


VALUES = placeholder_values(
    [
        _contact("police", "Polisen", "114 14"),
        _contact("mind", "Mind Självmordslinjen", "90101"),
        _contact("coordinator", "Kommunens samordnare", None),
        _contact("unchecked", "Ej kontrollerad", "000", enabled=False),
    ]
)


def test_a_contact_placeholder_is_filled_with_its_name_and_number_as_the_bot_gives_them():
    text = fill("Du kan ringa {kontakt:police} dygnet runt.", VALUES)
    assert text == "Du kan ringa Polisen: 114 14 dygnet runt."
    assert fill("Prata med {kontakt:coordinator}.", VALUES) == "Prata med Kommunens samordnare."


def test_the_shipped_contact_file_gives_its_real_numbers():
    contacts = {contact.id: contact for contact in load_contacts(settings.contacts_file)}
    values = placeholder_values(list(contacts.values()))
    mind = contacts["mind_suicide"]
    assert fill("{kontakt:mind_suicide}", values) == f"{mind.name}: {mind.phone}"


@pytest.mark.parametrize(
    "body, unknown",
    [
        ("Ring {kontakt:nobody}.", ("{kontakt:nobody}",)),
        ("Ring {kontakt:unchecked}.", ("{kontakt:unchecked}",)),  # disabled: not offered
        ("Ring {phone_police}.", ("{phone_police}",)),  # the answers' syntax, not this one
        ("Hej {namn}, {namn} och {kontakt:police}", ("{namn}",)),
        ("{Kontakt:police}", ("{Kontakt:police}",)),
    ],
)
def test_an_unknown_placeholder_is_refused_and_named(body, unknown):
    with pytest.raises(QuickReplyError) as refused:
        checked("Rubrik", body, VALUES)
    assert refused.value.code == "quick_reply_unknown_placeholder"
    assert refused.value.unknown == unknown


def test_text_without_placeholders_is_kept_as_written():
    assert checked("  Rubrik ", " Tack för att du skriver. ", VALUES) == (
        "Rubrik",
        "Tack för att du skriver.",
    )


@pytest.mark.parametrize(
    "title, body, code",
    [
        ("", "text", "quick_reply_empty"),
        ("Rubrik", "   ", "quick_reply_empty"),
        ("x" * 81, "text", "quick_reply_title_too_long"),
        ("Rubrik", "x" * (MAX_STAFF_MESSAGE_CHARS + 1), "quick_reply_too_long"),
        # Short enough as written, too long once the numbers are in: it could not be sent.
        (
            "Rubrik",
            "{kontakt:mind}" * (MAX_STAFF_MESSAGE_CHARS // len("{kontakt:mind}")),
            "quick_reply_too_long",
        ),
    ],
    ids=["no title", "no body", "long title", "long body", "long once filled"],
)
def test_limits_are_those_of_a_staff_message(title, body, code):
    with pytest.raises(QuickReplyError) as refused:
        checked(title, body, VALUES)
    assert refused.value.code == code


def test_every_refusal_has_swedish_words_on_the_dashboard():
    problems = templates().get_template("labels.html").module.problem_text
    for code in (
        "quick_reply_empty",
        "quick_reply_title_too_long",
        "quick_reply_too_long",
        "quick_reply_unknown_placeholder",
        "cannot_transfer",
        "transfer_target_invalid",
    ):
        assert problems.get(code), code


def test_the_live_chat_offers_the_filled_texts_escaped_in_a_labelled_list():
    hostile = 'Ring "112" </option><script>alert(1)</script>'
    page = (
        templates()
        .get_template("partials/quick_replies.html")
        .render(quick_replies_for_chat=lambda: [FilledReply(7, "Akut <b>", hostile)])
    )
    assert '<label for="quick-reply-choice">' in page and 'id="quick-reply-choice"' in page
    assert "<script>" not in page and "<b>" not in page
    assert f'data-text="{escape(hostile)}"' in page
    assert 'id="quick-reply-insert"' in page


def test_no_list_without_prepared_answers():
    partial = templates().get_template("partials/quick_replies.html")
    assert "quick-reply-choice" not in partial.render(quick_replies_for_chat=lambda: [])
