"""Pseudonymous conversation references: a keyed hash of the sender id.

The escalation store, notifications and logs refer to a conversation only by this value.
Without PSEUDONYM_KEY nobody can recompute it from a sender id, and it cannot be turned
back into one.
"""

from __future__ import annotations

import hashlib
import hmac

REFERENCE_LENGTH = 32  # hex characters: 128 bits


def conversation_ref(sender_id: str, key: str) -> str:
    if not key:
        raise ValueError("PSEUDONYM_KEY is empty: run `make env` to generate one")
    digest = hmac.new(key.encode(), sender_id.encode(), hashlib.sha256).hexdigest()
    return digest[:REFERENCE_LENGTH]


def message_key(sender_id: str, text: str, key: str) -> str:
    """Identifies a message of a conversation for idempotency, without storing it: the same
    text resent (a client retry gets a new Rasa message id) gives the same key."""
    material = f"{sender_id}\x1f{text}"
    return hmac.new(key.encode(), material.encode(), hashlib.sha256).hexdigest()[:REFERENCE_LENGTH]
