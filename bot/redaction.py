"""Masks what identifies a person in a piece of text before it is stored.

Used for the escalation excerpt. Personal identity numbers, phone numbers, e-mail and IP
addresses, long digit runs, postcodes and capitalised words that are not the first word of
a sentence (most often names) are replaced by a tag in brackets.
"""

from __future__ import annotations

import re

_PATTERNS = [
    ("[e-post]", re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")),
    ("[ip]", re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")),
    ("[personnummer]", re.compile(r"\b(?:\d{2})?\d{6}[-+ ]?\d{4}\b")),
    ("[telefon]", re.compile(r"(?:\+46|\b0)[\d\s-]{6,14}\d\b")),
    ("[postnummer]", re.compile(r"\b\d{3}\s?\d{2}\b")),
    ("[siffror]", re.compile(r"\b\d{5,}\b")),
]
_CAPITALISED = re.compile(r"(?<=[^\s.!?]\s)[A-ZÅÄÖ][a-zåäöé]+")
# Capitalised words that name places, groups and agencies, not people: staff need them.
_KEEP = {
    "Syrien", "Irak", "Turkiet", "Somalia", "Afghanistan", "Jemen", "Ukraina", "Sverige",
    "Istanbul", "Gaziantep", "Mogadishu", "Raqqa", "Idlib", "Mosul", "Daesh", "Säpo",
    "Säkerhetspolisen", "Polisen", "Socialtjänsten", "Soc", "Telegram", "Discord",
    "Snapchat", "Tiktok", "TikTok", "Instagram",
}  # fmt: skip


def _name_or_keep(match: re.Match) -> str:
    return match.group(0) if match.group(0) in _KEEP else "[namn]"


def redact(text: str) -> str:
    for tag, pattern in _PATTERNS:
        text = pattern.sub(tag, text)
    return _CAPITALISED.sub(_name_or_keep, text)
