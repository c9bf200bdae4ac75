"""Remembers who the relative worries about, after every user message.

Rasa runs `action_validate_slot_mappings` at the end of `action_extract_slots`, whatever
the conversation is doing. Only the relation and under-18/adult are kept (see
bot.person_profile); what was learnt earlier stays when a message says nothing new.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import ValidationAction

from bot.person_profile import detect_age_group, detect_relation


def _latest_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


class ValidateSlotMappings(ValidationAction):
    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def extract_person_relation(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        relation = detect_relation(_latest_text(tracker))
        return {"person_relation": relation} if relation else {}

    async def extract_person_age_group(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        relation = detect_relation(_latest_text(tracker)) or tracker.get_slot("person_relation")
        age_group = detect_age_group(_latest_text(tracker), relation)
        return {"person_age_group": age_group} if age_group else {}
