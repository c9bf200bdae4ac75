"""`make eval-risk`: how well the risk screening does, measured through the screening action.

Every labelled message goes through `action_validate_slot_mappings` (actions/risk.py), the
same code the action server runs after every user message: the patterns, the trained
model, who is at risk, the safety check and the conversation context. A conversation's
messages are played one after another, with the slots and events the action set, so a
message is judged knowing the earlier ones. (Only the NLU and the dialogue policies are
left out: they never decide about risk.)

What each message's answer is called:
- `112`: the first answer is a "Ring 112" answer (utter_risk_acute*);
- `escalated`: an elevated signal (the message raised or repeated a signal);
- `asked`: the bot asked its safety question and nothing else;
- `none`.

Reported per set, and per category, per who-is-at-risk, per frame and per register:
- acute: "112 first" (and for suicide, with Självmordslinjen in the same message);
- elevated: caught = escalated, asked or 112 (or, in a conversation, already escalated);
- none: escalated, asked and "112" (false acute) rates;
- the confusion table (label x answer) and, with --verbose, every miss.

Sets: the held-out set v4 and the blind rounds in tests/data/risk_blind/ (a round that has
been folded into training says so in its report). With --cross-validate also 5-fold
cross-validation of the trained model on the training data (patterns unchanged).

Usage: python -m tools.eval_risk [--cross-validate] [--verbose] [--set FILE ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.risk import RiskDetector
from bot.risk.classifier import TRAINING_FILES, RiskClassifier, load_items
from bot.risk.screening import RiskScreen
from bot.settings import PROJECT_ROOT, Settings

# The blind rounds not yet folded into training, then those folded (and the earlier
# held-out set v4, folded too).
SETS = [
    *sorted((PROJECT_ROOT / "tests/data/risk_blind").glob("round*.yml")),
    *sorted((PROJECT_ROOT / "data/risk").glob("train_round*.yml")),
    PROJECT_ROOT / "data/risk/train_holdout4.yml",
]
FOLDS = 5
RESULTS = PROJECT_ROOT / "results/risk"
TARGETS = {
    "acute_112_first": 0.99,
    "own_suicide_112_first": 1.0,
    "elevated_caught": 0.97,
    "benign_escalated": 0.05,
    "benign_asked": 0.10,
    "benign_112": 0.01,
}
ANSWERS = ("112", "escalated", "asked", "none")


@dataclass
class Turn:
    text: str
    level: str
    categories: list[str]
    subject: str | None
    frame: str
    register: str
    in_conversation: bool
    answer: str = "none"
    responses: list[str] = field(default_factory=list)
    already_escalated: bool = False
    subjects_found: list[str] = field(default_factory=list)

    @property
    def caught(self) -> bool:
        if self.level == "acute":
            return self.answer == "112"
        if self.level == "elevated":
            return self.answer != "none" or self.already_escalated
        return self.answer == "none"

    @property
    def with_suicide_line(self) -> bool:
        return bool(self.responses) and self.responses[0].startswith("utter_risk_acute_suicide")


def load_set(path: Path) -> tuple[list[list[dict]], bool]:
    """The set's conversations (a single message is a conversation of one) and whether
    it has been folded into training (first line '# folded into training')."""
    text = path.read_text(encoding="utf-8")
    entries = yaml.safe_load(text) or []
    conversations = [entry.get("conversation", [entry]) for entry in entries]
    return conversations, "folded into training" in text.splitlines()[0]


class Player:
    """Plays conversations through the screening action."""

    def __init__(self, screen: RiskScreen, database_dir: Path) -> None:
        from actions.risk import ActionValidateSlotMappings
        from bot.escalations.escalator import Escalator
        from bot.notify import Notifier
        from bot.store.engine import migrate

        url = f"sqlite:///{database_dir / 'eval.db'}"
        migrate(url)
        config = Settings(pseudonym_key="eval-risk")
        escalator = Escalator(url, Notifier(Settings()), database_dir / "retry.jsonl")
        self.action = ActionValidateSlotMappings(screen=screen, escalator=escalator, config=config)
        self.domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
        self.count = 0

    async def play(self, conversation: list[dict]) -> list[Turn]:
        self.count += 1
        sender = f"eval-{self.count}"
        slots: dict[str, Any] = {"risk_level": "none", "risk_signals": []}
        events: list[dict] = []
        turns = []
        for entry in conversation:
            turn = _turn(entry, in_conversation=len(conversation) > 1)
            turn.already_escalated = bool(set(turn.categories) & set(slots["risk_signals"]))
            message = {"text": turn.text, "intent": {"name": "share_worry"}, "entities": []}
            events.append({"event": "user", "text": turn.text, "parse_data": message})
            tracker = Tracker(sender, dict(slots), message, list(events), False, None, {}, "")
            dispatcher = CollectingDispatcher()
            new_events = await self.action.run(dispatcher, tracker, self.domain)
            for event in new_events:
                if event.get("event") == "slot":
                    slots[event["name"]] = event["value"]
            events.extend(new_events)
            turn.responses = [message.get("response", "") for message in dispatcher.messages]
            turn.answer = _answer(turn.responses, slots.get("risk_in_message"))
            turn.subjects_found = list(slots.get("risk_subjects") or [])
            turns.append(turn)
        await self.action.escalator.wait_idle()
        return turns


def _turn(entry: dict, in_conversation: bool) -> Turn:
    return Turn(
        text=str(entry["text"]),
        level=entry["level"],
        categories=list(entry.get("categories") or []),
        subject=entry.get("subject"),
        frame=entry.get("frame") or ("signal" if entry["level"] != "none" else "unlabelled"),
        register=entry.get("register") or "unlabelled",
        in_conversation=in_conversation,
    )


def _answer(responses: list[str], level_in_message: str | None) -> str:
    if responses and responses[0].startswith("utter_risk_acute"):
        return "112"
    if level_in_message and level_in_message != "none":
        return "escalated"
    if any(
        name.startswith("utter_risk_check_") and name != "utter_risk_check_no" for name in responses
    ):
        return "asked"
    return "none"


def rate(turns: list[Turn], predicate) -> float | None:
    return sum(1 for turn in turns if predicate(turn)) / len(turns) if turns else None


def figures(turns: list[Turn]) -> dict[str, Any]:
    acute = [t for t in turns if t.level == "acute"]
    elevated = [t for t in turns if t.level == "elevated"]
    benign = [t for t in turns if t.level == "none"]
    own_suicide = [t for t in acute if "suicide" in t.categories and t.subject == "self"]
    suicide = [t for t in acute if "suicide" in t.categories]
    signalled = [t for t in turns if t.level != "none" and t.subject]
    return {
        "counts": {"acute": len(acute), "elevated": len(elevated), "none": len(benign)},
        "acute_112_first": rate(acute, lambda t: t.answer == "112"),
        "suicide_112_and_line": rate(suicide, lambda t: t.answer == "112" and t.with_suicide_line),
        "own_suicide_112_first": rate(
            own_suicide, lambda t: t.answer == "112" and t.with_suicide_line
        ),
        "own_suicide_count": len(own_suicide),
        "acute_asked": rate(acute, lambda t: t.answer == "asked"),
        "elevated_caught": rate(elevated, lambda t: t.caught),
        "elevated_asked": rate(elevated, lambda t: t.answer == "asked"),
        "elevated_112": rate(elevated, lambda t: t.answer == "112"),
        "benign_escalated": rate(benign, lambda t: t.answer in ("escalated", "112")),
        "benign_asked": rate(benign, lambda t: t.answer == "asked"),
        "benign_112": rate(benign, lambda t: t.answer == "112"),
        "subject_found": rate(signalled, lambda t: t.subject in t.subjects_found),
        "confusion": {
            level: dict(Counter(t.answer for t in turns if t.level == level))
            for level in ("acute", "elevated", "none")
        },
    }


def slices(turns: list[Turn], key) -> dict[str, dict]:
    groups: dict[str, list[Turn]] = defaultdict(list)
    for turn in turns:
        for name in key(turn):
            groups[name].append(turn)
    return {
        name: {
            "n": len(group),
            "caught": rate(group, lambda t: t.caught),
            "acute_112_first": rate(
                [t for t in group if t.level == "acute"], lambda t: t.answer == "112"
            ),
            "asked": rate(group, lambda t: t.answer == "asked"),
        }
        for name, group in sorted(groups.items())
    }


def report(name: str, turns: list[Turn], folded: bool) -> dict[str, Any]:
    in_conversations = [t for t in turns if t.in_conversation]
    return {
        "set": name,
        "folded_into_training": folded,
        "messages": len(turns),
        "conversation_messages": len(in_conversations),
        "all": figures(turns),
        "conversations_only": figures(in_conversations),
        "per_category": slices(
            [t for t in turns if t.level != "none"], lambda t: t.categories or ["?"]
        ),
        "per_subject": slices(
            [t for t in turns if t.level != "none"], lambda t: [t.subject or "?"]
        ),
        "per_frame": slices(turns, lambda t: [t.frame]),
        "per_register": slices(turns, lambda t: [t.register]),
        "misses": [
            {
                "text": t.text,
                "level": t.level,
                "categories": t.categories,
                "subject": t.subject,
                "answer": t.answer,
                "responses": t.responses,
                "in_conversation": t.in_conversation,
            }
            for t in turns
            if not t.caught
        ],
    }


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{value:6.1%}"


def print_report(result: dict[str, Any], verbose: bool) -> None:
    overall = result["all"]
    counts = overall["counts"]
    folded = " (folded into training since)" if result["folded_into_training"] else ""
    print(
        f"\n== {result['set']}{folded}: {result['messages']} messages, "
        f"{result['conversation_messages']} of them in conversations; "
        f"{counts['acute']} acute, {counts['elevated']} elevated, {counts['none']} none"
    )
    for label, part in (("all", overall), ("in conversations", result["conversations_only"])):
        print(f"  [{label}]")
        print(f"    acute: 112 first        {_pct(part['acute_112_first'])}  (target ≥ 99 %)")
        print(f"    suicide: 112 + the line {_pct(part['suicide_112_and_line'])}")
        print(
            f"    own suicide: 112 + line {_pct(part['own_suicide_112_first'])}  "
            f"(target 100 %, n={part['own_suicide_count']})"
        )
        print(
            f"    elevated: caught        {_pct(part['elevated_caught'])}  (target ≥ 97 %; "
            f"asked {_pct(part['elevated_asked'])}, 112 {_pct(part['elevated_112'])})"
        )
        print(f"    benign: escalated       {_pct(part['benign_escalated'])}  (target ≤ 5 %)")
        print(f"    benign: asked           {_pct(part['benign_asked'])}  (target ≤ 10 %)")
        print(f"    benign: 112 (false acute){_pct(part['benign_112'])}  (target ≤ 1 %)")
        print(f"    who is at risk found    {_pct(part['subject_found'])}")
    print("  confusion (label -> answer: 112 / escalated / asked / none)")
    for level, row in overall["confusion"].items():
        print(f"    {level:9s}" + "".join(f"{row.get(answer, 0):6d}" for answer in ANSWERS))
    for title, key in (
        ("category", "per_category"),
        ("who is at risk", "per_subject"),
        ("frame", "per_frame"),
        ("register", "per_register"),
    ):
        print(f"  per {title}: n, caught, acute 112 first, asked")
        for name, row in result[key].items():
            print(
                f"    {name:16s}{row['n']:5d} {_pct(row['caught'])} "
                f"{_pct(row['acute_112_first'])} {_pct(row['asked'])}"
            )
    if verbose:
        for miss in result["misses"]:
            print(
                f"  MISS {miss['level']}->{miss['answer']} {miss['categories']} "
                f"{miss['subject']}: {miss['text']}"
            )


def meets_targets(result: dict[str, Any]) -> bool:
    part = result["all"]

    def at_least(key):
        return part[key] is None or part[key] >= TARGETS[key]

    def at_most(key):
        return part[key] is None or part[key] <= TARGETS[key]

    return (
        at_least("acute_112_first")
        and at_least("own_suicide_112_first")
        and at_least("elevated_caught")
        and at_most("benign_escalated")
        and at_most("benign_asked")
        and at_most("benign_112")
    )


async def measure(screen: RiskScreen, paths: list[Path]) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory() as directory:
        player = Player(screen, Path(directory))
        for path in paths:
            conversations, folded = load_set(path)
            turns = [
                turn for conversation in conversations for turn in await player.play(conversation)
            ]
            results.append(report(path.name, turns, folded))
    return results


def cross_validate(detector: RiskDetector, items: list[dict]) -> dict[str, Any]:
    """The trained model retrained on four folds and measured on the fifth (patterns
    unchanged; they were written on this data, so these figures flatter them)."""
    order = list(range(len(items)))
    random.Random(0).shuffle(order)
    turns: list[Turn] = []
    with tempfile.TemporaryDirectory() as directory:
        for fold in range(FOLDS):
            held_out = set(order[fold::FOLDS])
            held = [items[i] for i in order[fold::FOLDS]]
            kept = [items[i] for i in order if i not in held_out]
            player = Player(RiskScreen(detector, RiskClassifier.train(kept)), Path(directory))
            for item in held:
                turns += _run(player, item)
    return report(f"training data, {FOLDS}-fold cross-validation", turns, folded=True)


def _run(player: Player, item: dict) -> list[Turn]:
    return asyncio.get_event_loop().run_until_complete(player.play([item]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cross-validate",
        action="store_true",
        help="also cross-validate the trained model on the training data",
    )
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    parser.add_argument(
        "--set",
        type=Path,
        action="append",
        dest="sets",
        help="labelled set to measure (repeatable; default: v4 and the blind rounds)",
    )
    args = parser.parse_args(argv)
    config = Settings.from_environment()
    detector = RiskDetector.from_files(config.spacy_model, config.risk_patterns_file)
    training = load_items(TRAINING_FILES)
    screen = RiskScreen(detector, RiskClassifier.train(training))
    results = asyncio.get_event_loop().run_until_complete(measure(screen, args.sets or SETS))
    if args.cross_validate:
        results.append(cross_validate(detector, training))
    RESULTS.mkdir(parents=True, exist_ok=True)
    for result in results:
        print_report(result, args.verbose)
        name = Path(result["set"]).stem if result["set"].endswith(".yml") else "cross-validation"
        (RESULTS / f"{name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"\nDetails: {RESULTS}/")
    unseen = [r for r in results if not r["folded_into_training"]]
    for result in unseen:
        verdict = "meets" if meets_targets(result) else "MISSES"
        print(f"{result['set']}: {verdict} the targets")
    return 0 if all(meets_targets(result) for result in unseen) else 1


if __name__ == "__main__":
    raise SystemExit(main())
