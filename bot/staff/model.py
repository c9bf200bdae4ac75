"""The staff's roles and the outcomes a handler closes an escalation with. Their tables
are in bot/store/tables.py."""

from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    HANDLER = "handler"
    ADMIN = "admin"


# How a handler closes an escalation. Labels are in the templates (Swedish).
OUTCOMES = (
    "advice_given",
    "referred_social_services",
    "referred_police",
    "emergency_services",
    "no_risk_found",
    "relative_unreachable",
    "other",
    # Junk or a test conversation; admins close many at once from the queue (issue 20).
    "spam_test",
)
