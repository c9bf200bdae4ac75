"""How answers look in Telegram, SMS and WhatsApp (bot/channels/rendering.py) and the
in-memory address book (bot/channels/addresses.py)."""

from __future__ import annotations

import time

import pytest

from bot.channels.addresses import Address, MemoryAddressBook
from bot.channels.rendering import (
    buttons_of,
    chosen_payload,
    message_text,
    split_for_sms,
    texts,
    with_numbered_choices,
)
from bot.channels.telegram import inline_keyboard

BUTTONS = [
    {"title": "Socialtjänsten", "payload": "/ask_social_services"},
    {"title": "Kan de ta mitt barn?", "payload": "/ask_child_custody"},
]


def test_a_staff_message_carries_the_persons_label():
    message = {"text": "Hej, jag heter Sara.", "custom": {"sender": "staff"}}
    assert message_text(message) == f"{texts()['staff_label']}\nHej, jag heter Sara."
    assert message_text({"text": "Hej"}) == "Hej"


def test_buttons_become_numbered_choices_and_a_digit_picks_one():
    text = with_numbered_choices("Vad vill du veta mer om?", BUTTONS)
    assert text.endswith("1. Socialtjänsten\n2. Kan de ta mitt barn?")
    assert texts()["choices_intro"] in text
    for reply, payload in [
        ("1", "/ask_social_services"),
        (" 2. ", "/ask_child_custody"),
        ("2)", "/ask_child_custody"),
    ]:
        assert chosen_payload(reply, BUTTONS) == payload
    for reply in ["0", "3", "12", "1 och 2", "ett", ""]:
        assert chosen_payload(reply, BUTTONS) is None
    assert chosen_payload("1", []) is None


def test_buttons_become_an_inline_keyboard_one_per_row():
    assert inline_keyboard(BUTTONS) == {
        "inline_keyboard": [
            [{"text": "Socialtjänsten", "callback_data": "/ask_social_services"}],
            [{"text": "Kan de ta mitt barn?", "callback_data": "/ask_child_custody"}],
        ]
    }
    # Telegram refuses callback data over 64 bytes: such a button is left out.
    too_long = {"title": "x", "payload": "/" + "å" * 40}
    assert inline_keyboard([too_long]) == {"inline_keyboard": []}


def test_malformed_buttons_are_dropped():
    assert buttons_of(
        {"buttons": [{"title": "ok", "payload": "/x"}, {"title": "no payload"}, "x"]}
    ) == [{"title": "ok", "payload": "/x"}]


@pytest.mark.parametrize("limit", [70, 160, 459])
def test_sms_parts_fit_and_keep_every_word(limit):
    paragraphs = [
        "Det är mycket som känns osäkert när någon kommer hem från ett konfliktområde.",
        "• Den som misstänks för brott utreds först. " * 12,
        "Kontakta gärna kommunens samordnare. Ring 112 om någon är i fara.",
    ]
    text = "\n\n".join(paragraphs)
    parts = split_for_sms(text, limit)
    assert all(len(part) <= limit for part in parts)
    words = [word for part in parts for word in part.rsplit(" (", 1)[0].split()]
    assert words == text.split()
    assert [part.rsplit("(", 1)[1] for part in parts] == [
        f"{i}/{len(parts)})" for i in range(1, len(parts) + 1)
    ]


def test_a_short_answer_is_one_sms_without_a_number():
    assert split_for_sms("Ring 112 nu.", 160) == ["Ring 112 nu."]


def test_a_word_longer_than_a_part_is_cut():
    parts = split_for_sms("x" * 400, 160)
    assert (
        all(len(part) <= 160 for part in parts)
        and "".join(p.split(" (")[0] for p in parts) == "x" * 400
    )


async def test_the_address_book_forgets_after_its_time():
    book = MemoryAddressBook(keep_seconds=0.2)
    await book.remember("sms-abc", Address("sms", "+46701234567", "+46700000001"))
    assert await book.lookup("sms-abc") == Address("sms", "+46701234567", "+46700000001")
    time.sleep(0.3)
    assert await book.lookup("sms-abc") is None and len(book) == 0


async def test_the_address_book_forgets_a_deleted_conversation_at_once():
    """Issue 17: after "radera" the address stayed in memory for ADDRESS_HOURS."""
    book = MemoryAddressBook(keep_seconds=3600)
    await book.remember("sms-abc", Address("sms", "+46701234567", "+46700000001"))
    await book.remember("sms-def", Address("sms", "+46707654321", "+46700000001"))
    await book.forget("sms-abc")
    await book.forget("sms-unknown")  # nothing to forget: no error
    assert await book.lookup("sms-abc") is None and await book.lookup("sms-def") is not None
