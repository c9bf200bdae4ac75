"""Vägvisaren: everything that is not Rasa training data or custom actions."""
