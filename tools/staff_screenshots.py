"""`make screenshots` (its staff part): the dashboard's queue after a busy spell, a live
chat with a relative, and the statistics page, saved to docs/ (issue 20).

Starts its own bot and dashboard on free loopback ports with throw-away stores, the way
the tests do (tests/support/servers.py). The cases are made through the escalation's own
use cases with times in the past, so the queue's waiting times and the statistics are
computed by the product, not drawn; no case holds a real person's words.
"""

from __future__ import annotations

import random
import sys
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from bot.escalations.lifecycle import Actor, Step
from bot.escalations.service import Signal, record_signal, request_person, take_step
from bot.escalations.unit_of_work import SqlAlchemyUnitOfWork
from bot.pseudonym import conversation_ref
from bot.risk.levels import RiskLevel
from bot.settings import PROJECT_ROOT
from bot.staff.accounts import Role
from bot.statistics.counts import count_conversation
from bot.store.engine import make_engine, session_factory
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_staff_browser import Relative, log_in
from tests.support.servers import TEST_PSEUDONYM_KEY, private_bot
from tests.support.staff_server import first_line, staff_server_for

SCREEN = {"viewport": {"width": 1366, "height": 900}}
# (level, categories, subjects, confirmed, minutes waiting, excerpt: invented, redacted)
OPEN_CASES = [
    (RiskLevel.ACUTE, ("attack",), ("third_party",), True, 3, "…ska [hot] på skolan…"),
    (RiskLevel.ACUTE, ("suicide",), ("self",), False, 9, "…jag orkar inte längre, vill inte…"),
    (RiskLevel.ELEVATED, ("travel",), ("person",), True, 22, "…har köpt en biljett…"),
    (RiskLevel.ELEVATED, ("weapons", "threat"), ("person",), False, 14, "…visade en kniv, gänget…"),
    (RiskLevel.ELEVATED, ("child_at_risk",), ("child",), False, 41, "…ska giftas bort i sommar…"),
    (RiskLevel.ELEVATED, ("grooming",), ("child",), False, 6, "…äldre killar ger honom pengar…"),
]
PAST_CATEGORIES = ["travel", "weapons", "threat", "suicide", "child_at_risk", "grooming", "attack"]
OUTCOMES = ["advice_given", "referred_social_services", "no_risk_found", "referred_police"]


def unit(url: str) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(session_factory(url))


def seed_history(url: str, handler: Actor, now: datetime, weeks: int = 10) -> None:
    """Cases of the last weeks, claimed and resolved, and conversations per hour."""
    chance = random.Random(20)
    engine = make_engine(url)
    for day in range(weeks * 7):
        for _ in range(chance.randint(6, 14)):
            hour = chance.choice([8, 9, 10, 13, 14, 15, 19, 20, 21, 22, 23])
            count_conversation(engine, now - timedelta(days=day, hours=now.hour - hour))
        for _ in range(chance.randint(0, 3)):
            opened = now - timedelta(days=day, hours=chance.randint(1, 12))
            level = chance.choice([RiskLevel.ELEVATED] * 4 + [RiskLevel.ACUTE])
            reference = uuid.uuid4().hex
            if chance.random() < 0.2:
                outcome = request_person(unit(url), reference, now=opened)
            else:
                categories = (chance.choice(PAST_CATEGORIES),)
                outcome = record_signal(
                    unit(url),
                    Signal(reference, level, categories, "", uuid.uuid4().hex),
                    now=opened,
                )
            claimed = opened + timedelta(minutes=chance.randint(2, 90))
            take_step(unit(url), outcome.escalation_id, Step.CLAIM, handler, claimed)
            take_step(
                unit(url),
                outcome.escalation_id,
                Step.RESOLVE,
                handler,
                claimed + timedelta(minutes=chance.randint(10, 600)),
                outcome=chance.choice(OUTCOMES),
            )


def seed_open_cases(url: str, now: datetime) -> None:
    for number, (level, categories, subjects, confirmed, waited, excerpt) in enumerate(OPEN_CASES):
        reference = conversation_ref(f"screenshot-{number}", TEST_PSEUDONYM_KEY)
        record_signal(
            unit(url),
            Signal(reference, level, categories, excerpt, uuid.uuid4().hex, subjects, confirmed),
            now=now - timedelta(minutes=waited),
        )
    request_person(unit(url), uuid.uuid4().hex, now=now - timedelta(minutes=4))


def log_in_available(page, dashboard, role: Role) -> None:
    log_in(page, dashboard, role)
    page.get_by_label("Tillgänglig för chatt").check()
    page.get_by_role("button", name="Spara").first.click()


def live_chat(page, bot, dashboard, path: Path) -> None:
    relative = Relative(bot.url)
    try:
        relative.say("min bror har gått med i en kampsportsklubb och pratar om att slåss mot andra")
        relative.wait_for("")
        relative.say("jag vill prata med en människa")
        relative.wait_for(first_line("utter_request_human_queued"))
        reference = conversation_ref(relative.session_id, TEST_PSEUDONYM_KEY)
        page.goto(f"{dashboard.url}/")
        row = page.locator("tr", has_text="Vill prata med en person").first
        expect(row).to_be_visible(timeout=20_000)
        number = _escalation_number(bot, reference)
        page.goto(f"{dashboard.url}/escalations/{number}")
        page.get_by_role("button", name="Gå in i samtalet").click()
        relative.wait_for(first_line("utter_handoff_joined"))
        page.get_by_label("Ditt meddelande").fill(
            "Hej, jag arbetar med de här frågorna i kommunen. Jag har läst det du skrev. "
            "Hur länge har det varit så här?"
        )
        page.get_by_role("button", name="Skicka").click()
        relative.wait_for("Hej, jag arbetar")
        relative.say("sedan i våras ungefär. han har slutat träffa sina gamla kompisar")
        expect(page.locator("#transcript")).to_contain_text("sedan i våras", timeout=20_000)
        page.wait_for_timeout(1500)
        page.screenshot(path=str(path), full_page=True)
    finally:
        relative.leave()


def _escalation_number(bot, reference: str) -> int:
    from tests.support.databases import escalation_of

    return escalation_of(f"sqlite:///{bot.escalation_database}", reference)["id"]


def main(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as base:
        base_dir = Path(base)
        with (
            private_bot(base_dir / "bot") as bot,
            staff_server_for(bot, base_dir / "staff") as dashboard,
            sync_playwright() as playwright,
        ):
            url = f"sqlite:///{bot.escalation_database}"
            seed_history(url, Actor(1), now)
            seed_open_cases(url, now)
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm", **SCREEN)
            page = context.new_page()
            log_in_available(page, dashboard, Role.ADMIN)
            page.goto(f"{dashboard.url}/")
            page.wait_for_timeout(1000)
            page.screenshot(path=str(out_dir / "staff-queue.png"), full_page=True)
            live_chat(page, bot, dashboard, out_dir / "staff-live-chat.png")
            page.goto(f"{dashboard.url}/admin/statistics")
            page.screenshot(path=str(out_dir / "staff-statistics.png"), full_page=True)
            for name in ("staff-queue", "staff-live-chat", "staff-statistics"):
                print(f"wrote {out_dir / name}.png")
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "docs"))
