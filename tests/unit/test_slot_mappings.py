"""action_validate_slot_mappings keeps relation and age group, never the exact age."""

from __future__ import annotations

from actions.slot_mappings import ValidateSlotMappings


def slot_events(events):
    return {event["name"]: event["value"] for event in events if event["event"] == "slot"}


async def test_relation_and_age_group_are_extracted(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        text="min son är 16 och har börjat umgås med nazister", intent="share_worry"
    )
    events = await ValidateSlotMappings().run(dispatcher, tracker, domain)
    assert slot_events(events) == {"person_relation": "child", "person_age_group": "minor"}
    assert dispatcher.messages == []


async def test_adult_by_age(make_tracker, dispatcher, domain):
    tracker = make_tracker(text="min bror är 22 år och pratar om kalifatet", intent="share_worry")
    events = await ValidateSlotMappings().run(dispatcher, tracker, domain)
    assert slot_events(events) == {"person_relation": "sibling", "person_age_group": "adult"}


async def test_message_without_details_changes_nothing(make_tracker, dispatcher, domain):
    tracker = make_tracker(
        text="vad gör soc då",
        intent="ask_social_services",
        slots={"person_relation": "child", "person_age_group": "minor"},
    )
    events = await ValidateSlotMappings().run(dispatcher, tracker, domain)
    assert slot_events(events) == {}
