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


def message_key(sender_id: str, message_id: str | None, text: str, key: str) -> str:
    """Identifies one user message for idempotency, without storing it."""
    material = f"{sender_id}\x1f{message_id or ''}\x1f{text}"
    return hmac.new(key.encode(), material.encode(), hashlib.sha256).hexdigest()[:REFERENCE_LENGTH]
