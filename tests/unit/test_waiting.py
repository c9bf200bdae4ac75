"""The relative's place in the queue for a person and the usual wait (bot/escalations/
waiting.py), and when the relative counts as typing (bot/escalations/presence.py): the pure
computations, without a database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.escalations.presence import Presence
from bot.escalations.waiting import (
    MIN_CASES_FOR_AN_ESTIMATE,
    QueueStatus,
    Request,
    place_in_queue,
    typical_wait_minutes,
)

T0 = datetime(2026, 12, 5, 10, 0, tzinfo=timezone.utc)
ACUTE, ELEVATED, NONE = 1, 2, 3


def request(number: int, priority: int, minutes: int, confirmed: bool = False) -> Request:
    return Request(number, priority, confirmed, T0 + timedelta(minutes=minutes))


def test_alone_in_the_queue_is_number_one():
    mine = request(1, NONE, 0)
    assert place_in_queue(mine, [mine]) == 1
    assert place_in_queue(mine, []) == 1


def test_those_who_asked_earlier_at_the_same_level_come_first():
    first, second, third = request(1, NONE, 0), request(2, NONE, 1), request(3, NONE, 2)
    everyone = [third, first, second]
    assert [place_in_queue(r, everyone) for r in (first, second, third)] == [1, 2, 3]


def test_a_higher_level_comes_first_whenever_it_asked():
    early_without_risk = request(1, NONE, 0)
    late_elevated = request(2, ELEVATED, 10)
    later_acute = request(3, ACUTE, 20)
    everyone = [early_without_risk, late_elevated, later_acute]
    assert place_in_queue(later_acute, everyone) == 1
    assert place_in_queue(late_elevated, everyone) == 2
    assert place_in_queue(early_without_risk, everyone) == 3


def test_a_confirmed_risk_comes_before_an_unconfirmed_one_of_the_same_level():
    early = request(1, ELEVATED, 0)
    confirmed_later = request(2, ELEVATED, 5, confirmed=True)
    everyone = [early, confirmed_later]
    assert place_in_queue(confirmed_later, everyone) == 1
    assert place_in_queue(early, everyone) == 2
    # ... but not before a higher level.
    acute = request(3, ACUTE, 9)
    assert place_in_queue(confirmed_later, [*everyone, acute]) == 2


def test_two_requests_at_the_same_moment_have_different_places():
    one, other = request(1, NONE, 0), request(2, NONE, 0)
    assert sorted(place_in_queue(r, [one, other]) for r in (one, other)) == [1, 2]


def test_no_estimate_from_fewer_than_five_cases():
    assert MIN_CASES_FOR_AN_ESTIMATE == 5
    assert typical_wait_minutes([]) is None
    assert typical_wait_minutes([60, 120, 180, 240]) is None


def test_the_estimate_is_the_median_in_whole_minutes():
    # One very long wait does not pull the median: 3 minutes, not the mean (~25).
    assert typical_wait_minutes([120, 180, 180, 240, 7200]) == 3
    # An even count: the middle two's mean (150 s and 210 s: 180 s).
    assert typical_wait_minutes([60, 150, 210, 600, 30, 900]) == 3
    assert typical_wait_minutes([400] * 5) == 7  # 6 min 40 s, about 7


def test_a_wait_under_a_minute_is_said_as_about_one_minute():
    assert typical_wait_minutes([5, 10, 20, 25, 30]) == 1


def test_what_the_widget_gets_holds_no_id():
    status = QueueStatus(waiting=True, place=2, typical_minutes=None, handler_available=True)
    assert status.as_json() == {
        "waiting": True,
        "place": 2,
        "typical_minutes": None,
        "handler_available": True,
    }


@pytest.mark.parametrize(
    ("seconds_ago", "typing"), [(0, True), (5, True), (6, True), (7, False), (60, False)]
)
def test_the_relative_counts_as_typing_for_six_seconds(seconds_ago, typing):
    seen = Presence(connected=True, since=T0, typing_at=T0 - timedelta(seconds=seconds_ago))
    assert seen.is_typing(now=T0) is typing


def test_never_typed_is_not_typing():
    assert Presence(connected=True, since=T0).is_typing(now=T0) is False
