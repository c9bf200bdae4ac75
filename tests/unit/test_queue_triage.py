"""The queue's triage at a glance, its pure pieces (bot/staff/triage.py, bot/staff/bulk.py):
the preview of a redacted excerpt, the waiting time and its class, presence, the orders,
and which ids a bulk resolve accepts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.staff import bulk, triage
from bot.staff.model import OUTCOMES
from bot.staff.review import ORDERS, QueueItem

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


def test_the_preview_is_the_first_line_cut_with_an_ellipsis():
    assert triage.preview("…han har [NAMN] ett vapen…\n…ska resa i morgon…") == (
        "…han har [NAMN] ett vapen…"
    )
    long_line = "ord " * 60
    shown = triage.preview(long_line)
    assert len(shown) == triage.PREVIEW_CHARS
    assert shown.endswith("…") and not shown.endswith(" …")
    exactly = "x" * triage.PREVIEW_CHARS
    assert triage.preview(exactly) == exactly  # not cut, no ellipsis


def test_the_preview_skips_empty_lines_and_squeezes_whitespace():
    assert triage.preview("\n  \n  två   ord\there  \nnästa") == "två ord here"
    assert triage.preview("") == "" and triage.preview(None) == ""


def test_waiting_minutes_count_whole_minutes_and_never_go_negative():
    assert triage.waiting_minutes(None, NOW) is None
    assert triage.waiting_minutes(NOW - timedelta(minutes=12, seconds=59), NOW) == 12
    assert triage.waiting_minutes(NOW + timedelta(minutes=2), NOW) == 0  # a clock ahead


@pytest.mark.parametrize(
    "minutes, expected",
    [
        (None, "none"),
        (0, "ok"),
        (4, "ok"),
        (5, "warn"),
        (14, "warn"),
        (15, "alert"),
        (600, "alert"),
    ],
)
def test_waiting_classes_follow_the_two_thresholds(minutes, expected):
    assert triage.waiting_class(minutes, warn_minutes=5, alert_minutes=15) == expected


def test_presence_from_the_socket_count():
    assert triage.presence_of(None) is None  # nothing known: a messaging channel
    assert triage.presence_of(0) == triage.LEFT
    assert triage.presence_of(2) == triage.PRESENT


def test_every_order_the_page_offers_has_a_query_and_unknown_ones_fall_back():
    assert set(ORDERS) == set(triage.SORTS)
    assert triage.sort_of("waiting") == "waiting"
    assert triage.sort_of("created_at; drop table") == "level"
    assert triage.sort_of(None) == "level"


def test_the_queue_json_counts_the_wait_against_the_servers_now():
    item = QueueItem(
        id=3,
        level="none",
        categories=(),
        status="new",
        priority=3,
        created_at=NOW,
        updated_at=NOW,
        claimed_by=None,
        outcome=None,
        wants_person=True,
        waiting_since=NOW - timedelta(minutes=7),
        presence="here",
    )
    data = item.as_json(NOW, warn=5, alert=15)
    assert (data["waiting_minutes"], data["waiting_class"]) == (7, "warn")
    assert data["waiting_since"] == "2026-12-05T11:53:00+00:00"
    assert data["preview"] == "" and data["presence"] == "here"
    assert item.as_json(NOW + timedelta(minutes=8), warn=5, alert=15)["waiting_class"] == "alert"


def test_spam_test_is_an_outcome():
    assert bulk.OUTCOME in OUTCOMES


def test_bulk_ids_are_numbers_once_each_and_capped():
    assert bulk.selected_ids(["3", "x", "3", " 4", "-1", ""]) == [3, 4]
    assert len(bulk.selected_ids([str(n) for n in range(bulk.MAX_PER_REQUEST)])) == 500
    with pytest.raises(bulk.TooMany):
        bulk.selected_ids([str(n) for n in range(bulk.MAX_PER_REQUEST + 1)])
