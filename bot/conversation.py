"""The vocabulary every part of Vägvisaren shares: how a handler's message is marked, the
payloads the clients send on their own, the slot that says a person is in the chat, why a
message did not reach a relative, and the words for the people a relative writes about.

It imports nothing from the rest of the project, so channels, the dashboard, the actions
and the policies can all speak it without depending on each other.
"""

from __future__ import annotations

# --- a handler's messages ------------------------------------------------------------
# How a handler's message is marked among the bot's: in the bot event's data and in the
# message Rasa hands an output channel alike, {"custom": {"sender": "staff"}}.
STAFF_MARK = {"sender": "staff"}


def is_from_staff(message: dict) -> bool:
    """Whether a bot message (or a bot event's data) is one a handler wrote."""
    custom = message.get("custom")
    return isinstance(custom, dict) and custom.get("sender") == STAFF_MARK["sender"]


# Slot that is on while a person from staff is in the conversation: set by the handoff
# actions (actions/handoff.py), read by HandoffPolicy and the risk action.
HANDOFF_SLOT = "handoff"

# Why a handler's message did not reach a messaging relative: the words a strict output
# channel raises with (bot/channels/messaging.py), which reach the dashboard in Rasa's
# error answer (bot/rasa_client.py).
UNREACHABLE = "relative_unreachable"
NOT_DELIVERED = "not_delivered"

# --- payloads the clients send on their own -------------------------------------------
# The start of a conversation (Rasa runs action_session_start, which sends the privacy
# notice): the widget sends it, and Telegram's /start becomes it.
START_PAYLOAD = "/session_start"
# The widget's "Avsluta och radera" button (actions/privacy.py).
DELETE_PAYLOAD = "/delete_conversation"

# --- what a bot message carried --------------------------------------------------------
# One chat bubble can carry several responses (an acknowledgement and why it matters, a
# contact list and who reads): their names are in the bubble's metadata under this key.
PARTS_KEY = "parts"


def responses_of(metadata: dict | None) -> list[str]:
    """The response names one bot message carried: its parts, or its one response."""
    metadata = metadata or {}
    parts = metadata.get(PARTS_KEY)
    if parts:
        return [str(part) for part in parts]
    name = metadata.get("utter_action")
    return [name] if name else []


# --- the people a relative writes about -----------------------------------------------
# Relation words (folded: å/ä/ö -> a/a/o, lower case) -> the relation the person profile
# records (bot/person_profile.py). Listed longest first where one word contains another
# (e.g. "bonusson" before "son").
RELATIONS: dict[str, str] = {
    "bonusson": "child",
    "bonusdotter": "child",
    "styvson": "child",
    "styvdotter": "child",
    "barnbarn": "grandchild",
    "sonson": "grandchild",
    "dotterson": "grandchild",
    "sondotter": "grandchild",
    "dotterdotter": "grandchild",
    "son": "child",
    "sonen": "child",
    "dotter": "child",
    "dottern": "child",
    "barn": "child",
    "barnet": "child",
    "grabben": "child",
    "tjejen": "child",
    "bror": "sibling",
    "brorsan": "sibling",
    "lillebror": "sibling",
    "storebror": "sibling",
    "syster": "sibling",
    "syrran": "sibling",
    "lillasyster": "sibling",
    "storasyster": "sibling",
    "man": "partner",
    "fru": "partner",
    "sambo": "partner",
    "pojkvan": "partner",
    "flickvan": "partner",
    "partner": "partner",
    "brorson": "relative",
    "brorsdotter": "relative",
    "systerson": "relative",
    "systerdotter": "relative",
    "kusin": "relative",
    "van": "friend",
    "kompis": "friend",
}

# More words for people around the person, which the profile does not record: with the
# relations above, a capitalised word after one of them is read as a name by the redaction
# (bot/privacy/redaction.py: "min bror Ali").
OTHER_PEOPLE = (
    "brodern", "brorsa", "systern", "mannen", "frun", "kille", "killen", "tjej", "kompisen",
    "vännen", "kusinen", "farbror", "morbror", "faster", "moster", "mamma", "pappa", "mor",
    "far", "morfar", "mormor", "farfar", "farmor", "ex", "exman", "exfru", "granne",
    "grannen", "lärare", "läraren", "mentor", "handläggare", "handläggaren", "pojke",
    "pojken", "flicka", "flickan", "svåger", "svägerska", "elev", "eleven", "kollega",
    "tvillingbror", "tvillingsyster", "ledare", "ledaren", "imam", "imamen", "abu", "umm",
    "ibn", "bin", "tränare", "tränaren",
)  # fmt: skip
