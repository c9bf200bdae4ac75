"""Pseudonymous conversation references: a keyed hash of the sender id.

The escalation store, notifications and logs refer to a conversation only by this value.
Without PSEUDONYM_KEY nobody can recompute it from a sender id, and it cannot be turned
back into one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

REFERENCE_LENGTH = 32  # hex characters: 128 bits


def _keyed_hex(material: str, key: str, length: int = REFERENCE_LENGTH) -> str:
    """HMAC-SHA256 of material with key, as `length` hex characters."""
    return hmac.new(key.encode(), material.encode(), hashlib.sha256).hexdigest()[:length]


def _require(key: str) -> str:
    if not key:
        raise ValueError("PSEUDONYM_KEY is empty: run `make env` to generate one")
    return key


def conversation_ref(sender_id: str, key: str) -> str:
    return _keyed_hex(sender_id, _require(key))


def message_key(sender_id: str, text: str, key: str) -> str:
    """Identifies a message of a conversation for idempotency, without storing it: the same
    text resent (a client retry gets a new Rasa message id) gives the same key."""
    return _keyed_hex(f"{sender_id}\x1f{text}", key)


def channel_sender_id(channel: str, user_id: str, key: str) -> str:
    """The conversation id for a channel that carries a real identity (a phone number, a
    messaging user id): a keyed hash, made before Rasa sees the message, so neither the
    tracker store nor the logs ever hold the identity. The same person on the same
    channel keeps the same conversation; without the key it cannot be recomputed."""
    return f"{channel}-" + _keyed_hex(f"{channel}\x1f{user_id}", _require(key))


WEB_SESSION_RANDOM_BYTES = 16  # 128 bits
_TAG_HEX = 16


def new_web_session_id(key: str) -> str:
    """A web session id: 128 random bits and a keyed tag, so a browser can resume its own
    session but cannot choose one (a guessable id would let others read along)."""
    token = secrets.token_hex(WEB_SESSION_RANDOM_BYTES)
    return token + _web_tag(token, key)


def is_web_session_id(value: object, key: str) -> bool:
    if not isinstance(value, str) or len(value) != WEB_SESSION_RANDOM_BYTES * 2 + _TAG_HEX:
        return False
    token, tag = value[: WEB_SESSION_RANDOM_BYTES * 2], value[WEB_SESSION_RANDOM_BYTES * 2 :]
    return hmac.compare_digest(tag, _web_tag(token, key))


def _web_tag(token: str, key: str) -> str:
    return _keyed_hex(f"web\x1f{token}", _require(key), _TAG_HEX)
