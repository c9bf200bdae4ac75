"""Dialogue components of the Rasa pipeline (policies)."""
