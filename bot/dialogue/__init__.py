"""Dialogue components of the Rasa pipeline (policies)."""

# Slot that is on while a person from staff is in the conversation: set by the handoff
# actions (actions/handoff.py), read by HandoffPolicy and the risk action.
HANDOFF_SLOT = "handoff"
