"""The fallback parser of the action server (bot/rasa_client.py) when Rasa cannot be reached.

It connects to a loopback port, so it is an integration test (the unit tests refuse every
connection; run alone there it failed, in the full unit run it passed by the order)."""

from __future__ import annotations

from bot.rasa_client import RasaParser


async def test_unreachable_rasa_counts_as_not_recognised():
    parser = RasaParser(
        "http://127.0.0.1:9", "a-test-secret-of-at-least-32-bytes-long"
    )  # port 9: nothing listens
    assert await parser("vad gör polisen") == (None, 0.0)
