"""The keyed hash a webhook delivery is remembered by (bot/channels/deliveries.py)."""

from __future__ import annotations

import pytest

from bot.channels.deliveries import delivery_key, usable_id

KEY = "unit-test-key"
SID = "SM0123456789abcdef0123456789abcdef"


def test_the_key_is_a_keyed_hash_that_does_not_show_the_id():
    hashed = delivery_key("twilio", SID, KEY)
    assert len(hashed) == 64 and int(hashed, 16) >= 0
    assert SID not in hashed and SID.lower()[2:12] not in hashed
    assert delivery_key("twilio", SID, KEY) == hashed  # the same delivery, the same key
    # Another deployment's key, another channel or another id: another hash.
    assert delivery_key("twilio", SID, "another-key") != hashed
    assert delivery_key("telegram", SID, KEY) != hashed
    assert delivery_key("twilio", SID[:-1] + "0", KEY) != hashed


def test_without_the_pseudonym_key_nothing_is_hashed():
    with pytest.raises(ValueError, match="PSEUDONYM_KEY"):
        delivery_key("telegram", "1", "")


@pytest.mark.parametrize("delivery_id", [None, "", True, False, {"x": 1}, [1], 1.5, "x" * 201])
def test_a_missing_or_malformed_id_is_not_remembered(delivery_id):
    assert usable_id(delivery_id) is None


def test_numbers_and_strings_are_ids():
    assert usable_id(123456) == "123456" and usable_id(SID) == SID
