"""`make eval-risk`: how well the risk screening does on the project's labelled messages.

The screening (patterns + trained model, bot/risk/screening.py) is measured on the
held-out set tests/data/risk_holdout_v4.yml (358 messages), written without access to the
training data (data/risk/train*.yml), the patterns or the code, and never used to write
them. (Earlier held-out sets became training data once their misses had been studied.)
With --cross-validate it also reports 5-fold cross-validation on the training data (the
model retrained on four folds, measured on the fifth; the patterns were written on this
data, so these figures flatter them).

Printed per set: recall per level (an acute message must come out acute; an elevated one
counts as caught when it comes out elevated or acute), the false-escalation rate on
messages labelled none, and with --verbose every miss and false escalation. Exits non-zero
when the held-out set misses a target.

Usage: python -m bot.eval_risk [--cross-validate] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.risk import RiskDetector, RiskLevel, Screening
from bot.risk.classifier import TRAINING_FILES, RiskClassifier, load_items
from bot.risk.screening import RiskScreen
from bot.settings import PROJECT_ROOT, settings

HOLDOUTS = [PROJECT_ROOT / "tests/data/risk_holdout_v4.yml"]
FOLDS = 5
TARGETS = {"acute_recall": 1.0, "elevated_recall": 0.95, "false_escalation_rate": 0.03}
RESULTS = PROJECT_ROOT / "results/risk"


@dataclass
class Report:
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    acute_recall: float = 0.0
    elevated_raised_to_acute: float = 0.0
    elevated_recall: float = 0.0
    false_escalation_rate: float = 0.0
    category_recall: float = 0.0
    misses: list[dict] = field(default_factory=list)
    false_escalations: list[dict] = field(default_factory=list)

    def meets_targets(self) -> bool:
        return (
            self.acute_recall >= TARGETS["acute_recall"]
            and self.elevated_recall >= TARGETS["elevated_recall"]
            and self.false_escalation_rate <= TARGETS["false_escalation_rate"]
        )


def evaluate(name: str, items: list[dict], screenings: list[Screening]) -> Report:
    report = Report(name)
    by_level: dict[str, list[tuple[dict, RiskLevel, tuple[str, ...]]]] = {
        level.value: [] for level in RiskLevel
    }
    category_hits = category_total = 0
    for item, screening in zip(items, screenings, strict=True):
        by_level[item["level"]].append((item, screening.level, screening.categories))
        if item["level"] != "none":
            category_total += 1
            category_hits += bool(set(item["categories"]) & set(screening.categories))
    report.counts = {level: len(entries) for level, entries in by_level.items()}

    def rate(entries, accepted) -> float:
        return sum(level in accepted for _, level, _ in entries) / len(entries) if entries else 1.0

    acute, elevated, benign = by_level["acute"], by_level["elevated"], by_level["none"]
    report.acute_recall = rate(acute, {RiskLevel.ACUTE})
    report.elevated_recall = rate(elevated, {RiskLevel.ELEVATED, RiskLevel.ACUTE})
    report.elevated_raised_to_acute = 1 - rate(elevated, {RiskLevel.ELEVATED, RiskLevel.NONE})
    report.false_escalation_rate = 1 - rate(benign, {RiskLevel.NONE})
    report.category_recall = category_hits / category_total if category_total else 1.0
    report.misses = [
        _row(item, level, categories)
        for item, level, categories in acute + elevated
        if (item["level"] == "acute" and level is not RiskLevel.ACUTE) or level is RiskLevel.NONE
    ]
    report.false_escalations = [
        _row(item, level, categories)
        for item, level, categories in benign
        if level is not RiskLevel.NONE
    ]
    return report


def _row(item: dict, level: RiskLevel, categories: tuple[str, ...]) -> dict:
    return {
        "text": item["text"],
        "expected": item["level"],
        "expected_categories": item["categories"],
        "got": level.value,
        "got_categories": list(categories),
    }


def print_report(report: Report, verbose: bool) -> None:
    counts = ", ".join(f"{count} {level}" for level, count in report.counts.items())
    print(f"\n== {report.name} ({counts})")
    print(f"  acute recall      {report.acute_recall:6.1%}  (target 100 %)")
    print(f"  elevated recall   {report.elevated_recall:6.1%}  (target ≥ 95 %; acute also counts)")
    print(f"  false escalations {report.false_escalation_rate:6.1%}  (target ≤ 3 %)")
    raised = report.elevated_raised_to_acute
    print(f"  elevated -> acute {raised:6.1%}  (elevated messages answered as acute)")
    print(f"  category recall   {report.category_recall:6.1%}  (right category when signalled)")
    if verbose:
        for row in report.misses:
            levels = f"{row['expected']}->{row['got']}"
            print(f"  MISS {levels} {row['expected_categories']}: {row['text']}")
        for row in report.false_escalations:
            print(f"  FALSE {row['got']} {row['got_categories']}: {row['text']}")


def cross_validate(detector: RiskDetector, items: list[dict]) -> Report:
    order = list(range(len(items)))
    random.Random(0).shuffle(order)
    screenings: list = [None] * len(items)
    for fold in range(FOLDS):
        held = set(order[fold::FOLDS])
        model = RiskClassifier.train([items[i] for i in order if i not in held])
        screen = RiskScreen(detector, model)
        for i in held:
            screenings[i] = screen.screen(items[i]["text"])
    return evaluate(f"training data, {FOLDS}-fold cross-validation", items, screenings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cross-validate", action="store_true", help="also cross-validate on the training data"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="list every miss and false escalation"
    )
    parser.add_argument(
        "--holdout",
        type=Path,
        action="append",
        help="labelled set to measure (repeatable; default: tests/data/risk_holdout_v4.yml)",
    )
    args = parser.parse_args(argv)
    detector = RiskDetector.from_files(settings.spacy_model, settings.risk_patterns_file)
    training = load_items(TRAINING_FILES)
    screen = RiskScreen(detector, RiskClassifier.train(training))
    held_out_reports = []
    for path in args.holdout or HOLDOUTS:
        items = load_items([path])
        screenings = [screen.screen(item["text"]) for item in items]
        held_out_reports.append(evaluate(f"held-out set ({path.name})", items, screenings))
    files = [f"holdout-{path.stem}.json" for path in args.holdout or HOLDOUTS]
    reports = list(held_out_reports)
    if args.cross_validate:
        reports.append(cross_validate(detector, training))
        files.append("cross-validation.json")
    RESULTS.mkdir(parents=True, exist_ok=True)
    for report, file_name in zip(reports, files, strict=True):
        print_report(report, args.verbose)
        (RESULTS / file_name).write_text(json.dumps(asdict(report), ensure_ascii=False, indent=2))
    print(f"\nDetails: {RESULTS}/")
    targets = "acute 100 %, elevated ≥ 95 %, false escalations ≤ 3 %"
    for report in held_out_reports:
        verdict = "meets" if report.meets_targets() else "MISSES"
        print(f"{report.name}: {verdict} the targets ({targets})")
    return 0 if all(report.meets_targets() for report in held_out_reports) else 1


if __name__ == "__main__":
    raise SystemExit(main())
