"""The dashboard's templates: times in the deployment's zone, every value escaped."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.staff.app import templates


def test_times_are_shown_in_swedish_time():
    when = templates("Europe/Stockholm").filters["when"]
    winter = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc)
    assert when(winter) == "2026-11-21 13:00"
    assert when(summer, "%H:%M") == "14:00"
    assert when(None) == ""


def test_templates_escape_what_they_are_given():
    environment = templates()
    assert environment.from_string("{{ v }}").render(v="<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    assert environment.select_template(["detail.html"]).environment.autoescape
