"""`make bench-redaction`: redaction time on hostile input, by length.

Every pattern that reads user text must run in linear time (issue 17): a message of the
worst shape must not hold the event loop for seconds. For each shape the time at 10 000,
20 000 and 40 000 characters is printed with the growth from 20 000 to 40 000 (about 2 for
linear work, about 4 for quadratic) and checked against the targets below. A measurement,
not a unit test: timings belong here, never in the test suite.
"""

from __future__ import annotations

import sys
import time

from bot.privacy.redaction import load_redactor
from bot.settings import Settings

SHAPES = {
    "letters": "a",
    "digits and spaces": "12345 ",
    "single digits": "1 ",
    "e-mail-like": "x.",
    "at signs": "a@",
    "addresses": "Storgatan 1 ",
    "names": "Anna ",
    "emoji": "😀",
    "control characters": "\x01\x02 ",
}
LENGTHS = (10_000, 20_000, 40_000)
MAX_SECONDS_AT_40K = 1.0
MAX_GROWTH = 3.0  # from 20 000 to 40 000 characters


def timed(redactor, text: str, runs: int = 3) -> float:
    """The best of a few runs: the growth between lengths is what matters, not noise."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        redactor.redact(text)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    redactor = load_redactor(Settings.from_environment().contacts_file)
    failures = 0
    print(f"{'shape':20s} " + " ".join(f"{n:>8d}" for n in LENGTHS) + "   growth")
    for name, unit in SHAPES.items():
        seconds = [
            timed(redactor, (unit * (length // len(unit) + 1))[:length]) for length in LENGTHS
        ]
        growth = seconds[2] / max(seconds[1], 1e-6)
        ok = seconds[2] <= MAX_SECONDS_AT_40K and growth <= MAX_GROWTH
        failures += not ok
        cells = " ".join(f"{s:7.3f}s" for s in seconds)
        print(f"{name:20s} {cells}   {growth:4.1f}{'' if ok else '  <- over target'}")
    print(
        f"targets: at most {MAX_SECONDS_AT_40K} s at 40 000 characters, growth at most {MAX_GROWTH}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
