"""The database layer: the engine (engine.py), every table of Vägvisaren's own database
(tables.py), its migrations (migrations/, `make migrate`), and the one read-only view of
Rasa's conversations (events.py). It imports nothing from the layers above it."""
