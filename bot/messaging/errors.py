"""Why a handler's message did not reach a messaging relative: the words a strict output
channel raises with (base.py), which the dashboard looks for in Rasa's error answer
(bot/staff/handoff.py). Kept apart so the dashboard need not import Rasa."""

UNREACHABLE = "relative_unreachable"
NOT_DELIVERED = "not_delivered"
