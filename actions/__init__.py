"""Custom actions for Vägvisaren, served by the rasa_sdk action server."""
