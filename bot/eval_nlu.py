"""`make eval-nlu`: cross-validated intent classification report.

Runs Rasa's own cross-validation (`rasa test nlu --cross-validation`) on data/nlu with the
project's config.yml, then prints per-intent and macro F1 and checks the target.

Usage: python -m bot.eval_nlu [--folds N] [--target F1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT, settings

TARGET_MACRO_F1 = 0.90
RESULTS = PROJECT_ROOT / "results/nlu-cross-validation"


def run_cross_validation(folds: int, out: Path) -> None:
    command = [
        sys.executable, "-m", "rasa", "test", "nlu",
        "--nlu", "data/nlu", "--config", "config.yml",
        "--cross-validation", "--folds", str(folds), "--out", str(out),
    ]  # fmt: skip
    subprocess.run(
        command, cwd=PROJECT_ROOT, env={**os.environ, **settings.rasa_environment()}, check=True
    )


def summarise(report_path: Path) -> tuple[float, dict[str, float]]:
    report = json.loads(report_path.read_text())
    per_intent = {
        name: values["f1-score"]
        for name, values in report.items()
        if isinstance(values, dict) and "support" in values and not name.endswith(" avg")
    }
    return report["macro avg"]["f1-score"], per_intent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--target", type=float, default=TARGET_MACRO_F1)
    args = parser.parse_args(argv)

    run_cross_validation(args.folds, RESULTS)
    macro_f1, per_intent = summarise(RESULTS / "intent_report.json")
    print(f"\nIntent F1 ({args.folds}-fold cross-validation):")
    for name, f1 in sorted(per_intent.items(), key=lambda item: item[1]):
        print(f"  {name:24s} {f1:.3f}")
    verdict = "meets" if macro_f1 >= args.target else "MISSES"
    print(f"Macro F1: {macro_f1:.3f} ({verdict} the target {args.target:.2f})")
    print(f"Full report: {RESULTS}/intent_report.json, errors: {RESULTS}/intent_errors.json")
    return 0 if macro_f1 >= args.target else 1


if __name__ == "__main__":
    raise SystemExit(main())
