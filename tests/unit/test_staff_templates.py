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


def test_each_category_has_one_label_in_notifications_and_on_the_dashboard():
    from bot.notify import load_templates
    from bot.staff.app import templates

    dashboard = templates().globals["risk_categories"]
    notification = load_templates()["categories"]
    assert {code: label.lower() for code, label in dashboard.items()} == notification
    # "grooming" means sexual contact in Swedish: the label says what the category is.
    assert dashboard["grooming"] == "Vuxna eller gäng som rekryterar eller utnyttjar barn"
