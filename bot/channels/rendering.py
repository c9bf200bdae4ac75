"""How the bot's answers look in a messaging app: a person's label, numbered choices
instead of buttons (SMS, WhatsApp), and long answers cut into SMS-sized parts."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import yaml

from bot.conversation import is_from_staff
from bot.settings import PROJECT_ROOT

TEXTS_FILE = PROJECT_ROOT / "data/texts/messaging.yml"
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+")


@cache
def texts() -> dict[str, str]:
    return yaml.safe_load(TEXTS_FILE.read_text(encoding="utf-8"))["messaging"]


def message_text(message: dict[str, Any]) -> str:
    """The text to send, with the staff label when a person from the staff wrote it."""
    text = (message.get("text") or "").strip()
    if text and is_from_staff(message):
        return f"{texts()['staff_label']}\n{text}"
    return text


def buttons_of(message: dict[str, Any]) -> list[dict[str, str]]:
    buttons = message.get("buttons") or []
    return [
        {"title": str(button["title"]), "payload": str(button["payload"])}
        for button in buttons
        if isinstance(button, dict) and button.get("title") and button.get("payload")
    ]


def with_numbered_choices(text: str, buttons: list[dict[str, str]]) -> str:
    if not buttons:
        return text
    lines = [f"{number}. {button['title']}" for number, button in enumerate(buttons, 1)]
    choices = "\n".join([texts()["choices_intro"], *lines])
    return f"{text}\n\n{choices}" if text else choices


def chosen_payload(reply: str, buttons: list[dict[str, str]]) -> str | None:
    """The payload of the choice a reply such as "2" or " 2. " picks, if it picks one."""
    match = re.fullmatch(r"\s*(\d{1,2})\s*[.)]?\s*", reply or "")
    if not match or not buttons:
        return None
    number = int(match.group(1))
    return buttons[number - 1]["payload"] if 1 <= number <= len(buttons) else None


def split_for_sms(text: str, limit: int) -> list[str]:
    """Parts of at most `limit` characters, cut between paragraphs, then sentences, then
    words, and numbered "(1/3)" when there is more than one: separate SMS can arrive out
    of order."""
    if len(text) <= limit:
        return [text]
    marker_room = len(" (99/99)")
    pieces = _pieces(text, limit - marker_room)
    parts: list[str] = []
    for piece in pieces:
        joined = f"{parts[-1]}\n\n{piece}" if parts else piece
        if parts and len(joined) <= limit - marker_room:
            parts[-1] = joined
        else:
            parts.append(piece)
    total = len(parts)
    return [f"{part} ({index}/{total})" for index, part in enumerate(parts, 1)]


def _pieces(text: str, limit: int) -> list[str]:
    """Paragraphs, with any too long for one part broken into sentences or words."""
    pieces: list[str] = []
    for paragraph in (p.strip() for p in text.split("\n\n") if p.strip()):
        if len(paragraph) <= limit:
            pieces.append(paragraph)
            continue
        pieces.extend(_fill(_SENTENCE_END.split(paragraph), limit))
    return pieces


def _fill(units: list[str], limit: int) -> list[str]:
    """Units joined by spaces into pieces of at most `limit`; a unit too long is split into
    words, and a word too long is cut."""
    out: list[str] = []
    for unit in units:
        if len(unit) > limit:
            if " " in unit:
                out.extend(_fill(unit.split(" "), limit))
            else:
                out.extend(unit[start : start + limit] for start in range(0, len(unit), limit))
            continue
        if out and len(out[-1]) + 1 + len(unit) <= limit:
            out[-1] += " " + unit
        else:
            out.append(unit)
    return out
