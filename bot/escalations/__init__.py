"""Escalations: the record staff act on when a conversation carries a risk signal."""
