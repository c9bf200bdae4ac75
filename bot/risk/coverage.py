"""The coverage grid of the labelled risk data: how many messages per category x who is at
risk x level, per frame (the hard negatives) and per register.

    python -m bot.risk.coverage            # the training data (data/risk/train*.yml)
    python -m bot.risk.coverage FILE ...   # other labelled sets

Older training files carry no `subject`, `frame` or `register`: they are counted as
"unlabelled" in those columns, so the table shows where the grid is still thin.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from bot.risk.classifier import TRAINING_FILES, load_items
from bot.risk.levels import CATEGORIES, SUBJECTS

HARD_NEGATIVE_FRAMES = (
    "negation",
    "figurative",
    "past",
    "hypothetical",
    "news_game_sport",
    "family_travel",
    "everyday",
)


def coverage(items: list[dict]) -> str:
    lines = [f"{len(items)} messages; " + _levels(items), ""]
    signals = [item for item in items if item["level"] != "none"]
    subjects = (*SUBJECTS, "unlabelled")
    lines.append("| category | " + " | ".join(subjects) + " | acute | elevated |")
    lines.append("|---" * (len(subjects) + 3) + "|")
    for category in CATEGORIES:
        mine = [item for item in signals if category in (item.get("categories") or [])]
        per_subject = Counter(item.get("subject") or "unlabelled" for item in mine)
        per_level = Counter(item["level"] for item in mine)
        cells = [str(per_subject.get(subject, 0)) for subject in subjects]
        lines.append(
            f"| {category} | "
            + " | ".join(cells)
            + f" | {per_level.get('acute', 0)} | {per_level.get('elevated', 0)} |"
        )
    negatives = [item for item in items if item["level"] == "none"]
    frames = Counter(item.get("frame") or "unlabelled" for item in negatives)
    hard = sum(frames.get(frame, 0) for frame in HARD_NEGATIVE_FRAMES)
    lines += [
        "",
        f"Level none: {len(negatives)}, of which labelled hard negatives: {hard} "
        f"({hard / len(items):.0%} of all messages)",
        "",
    ]
    lines.append("| frame (level none) | messages |")
    lines.append("|---|---|")
    lines += [f"| {frame} | {count} |" for frame, count in frames.most_common()]
    registers = Counter(item.get("register") or "unlabelled" for item in items)
    lines += ["", "| register | messages |", "|---|---|"]
    lines += [f"| {register} | {count} |" for register, count in registers.most_common()]
    return "\n".join(lines)


def _levels(items: list[dict]) -> str:
    counts = Counter(item["level"] for item in items)
    return ", ".join(f"{counts.get(level, 0)} {level}" for level in ("acute", "elevated", "none"))


def main(argv: list[str]) -> int:
    paths = [Path(arg) for arg in argv[1:]] or TRAINING_FILES
    print(coverage(load_items(paths)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
