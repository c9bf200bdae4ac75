"""Topic memory: short follow-ups are answered within the topic of the conversation.

A relative who just read about social services and writes "vad händer om jag ringer dit?"
or "konkret?" means social services, whatever words the message has. The topic action
remembers the topic it answered last (slot `current_topic`) and how far it went (slot
`topic_step`): the first answer, then the deeper step (`utter_<topic>_more`), then an
honest end with a choice of directions. A follow-up that only adds an age ("och om han är
19?") gets the same answer again, tailored to that age.

Pure logic, no Rasa: the action (actions/answers.py) reads the slots and sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

FOLLOW_UP_INTENT = "follow_up"
# The topic of the latest topic answer, and how far into it the conversation has gone.
CURRENT_TOPIC_SLOT = "current_topic"
TOPIC_STEP_SLOT = "topic_step"
# A quick reply names its topic ("/follow_up{"topic":"police"}"), so an old button still
# means what it said after the conversation moved on.
TOPIC_ENTITY = "topic"

# A finer answer (bot.topics.sharpen) goes deeper in the topic it belongs to: after the
# anonymity of a report, "hur då?" means how to protect who you are.
DEEPENED_IN = {"anonymity_report": "confidentiality"}

FIRST_ANSWER = "answer"
DEEPER = "more"


class Step(Enum):
    UNKNOWN = "unknown"  # nothing to follow up on: ask what they mean
    ANSWER_FOR_AGE = "answer_for_age"  # the topic's answer again, for the age just given
    DEEPER = "deeper"  # the next layer of the topic
    END = "end"  # everything said: other directions, or a person


@dataclass(frozen=True)
class FollowUp:
    topic: str | None
    step: Step


def named_topic(entities: list[dict] | None) -> str | None:
    for entity in entities or []:
        if entity.get("entity") == TOPIC_ENTITY and entity.get("value"):
            return str(entity["value"])
    return None


def plan_follow_up(
    topic: str | None,
    step_reached: str | None,
    new_age_group: bool,
    has_age_variants: bool,
    has_deeper_step: bool,
) -> FollowUp:
    """What a follow-up gets, from the remembered topic and how far it went.

    `new_age_group`: the message states an age group other than the one known before it.
    `has_age_variants`: the topic's answer differs by age group."""
    if topic is None:
        return FollowUp(None, Step.UNKNOWN)
    if new_age_group and has_age_variants:
        return FollowUp(topic, Step.ANSWER_FOR_AGE)
    if step_reached != DEEPER and has_deeper_step:
        return FollowUp(topic, Step.DEEPER)
    return FollowUp(topic, Step.END)
