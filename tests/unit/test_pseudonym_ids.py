"""Pseudonymous ids for channels with identities, and private web session ids."""

from __future__ import annotations

import pytest

from bot.pseudonym import channel_sender_id, is_web_session_id, new_web_session_id


def test_a_channel_identity_becomes_a_stable_keyed_hash():
    first = channel_sender_id("twilio", "+46701234567", "key")
    assert first == channel_sender_id("twilio", "+46701234567", "key")
    assert first.startswith("twilio-") and "46701234567" not in first
    assert first != channel_sender_id("twilio", "+46701234567", "other key")
    assert first != channel_sender_id("telegram", "+46701234567", "key")


def test_web_session_ids_are_random_and_carry_a_keyed_tag():
    ids = {new_web_session_id("key") for _ in range(1000)}
    assert len(ids) == 1000
    for session_id in list(ids)[:10]:
        assert len(session_id) == 48 and is_web_session_id(session_id, "key")
        assert not is_web_session_id(session_id, "another key")
        assert not is_web_session_id(session_id[:-1] + "0", "key") or session_id.endswith("0")


@pytest.mark.parametrize("value", [None, 42, "", "abc", "g" * 48])
def test_anything_else_is_not_a_web_session_id(value):
    assert not is_web_session_id(value, "key")


def test_ids_need_the_key():
    with pytest.raises(ValueError):
        new_web_session_id("")
    with pytest.raises(ValueError):
        channel_sender_id("telegram", "123", "")
