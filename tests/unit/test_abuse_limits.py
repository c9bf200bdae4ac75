"""The sliding windows of bot/channels/abuse_limits.py: counted per key, freed as time
passes, bounded in memory, holding no raw key."""

from __future__ import annotations

import bot.channels.abuse_limits as abuse_limits
from bot.channels.abuse_limits import SlidingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_its_limit_per_window_and_others_are_not_affected():
    clock = Clock()
    window = SlidingWindow(3, 60, clock)
    assert [window.allow("a") for _ in range(4)] == [True, True, True, False]
    assert window.allow("b")
    clock.now = 59.9
    assert not window.allow("a")
    clock.now = 60.0  # the three events left the window
    assert [window.allow("a") for _ in range(4)] == [True, True, True, False]


def test_refused_events_do_not_extend_the_wait():
    clock = Clock()
    window = SlidingWindow(1, 10, clock)
    assert window.allow("a")
    for second in range(1, 10):
        clock.now = second
        assert not window.allow("a")
    clock.now = 10
    assert window.allow("a")


def test_zero_turns_a_limit_off():
    window = SlidingWindow(0, 60, Clock())
    assert all(window.allow("a") for _ in range(1000))


def test_memory_stays_bounded_and_holds_no_address(monkeypatch):
    monkeypatch.setattr(abuse_limits, "MAX_KEYS", 100)
    window = SlidingWindow(5, 60, Clock())
    for number in range(1000):
        window.allow(f"203.0.113.{number}")
    assert len(window) == 100
    assert not any(b"203.0.113" in key for key in window._events)
