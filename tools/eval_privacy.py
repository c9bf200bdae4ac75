"""`make eval-privacy`: does the redactor leave anything identifying in what is stored?

Two sets in tests/data/privacy/:
- redaction_corpus.yml: Swedish messages, each with the identifiers it holds (kind and the
  exact text). An identifier leaks when its text is still recognisable after redaction:
  a name's words, an e-mail address, the street word of an address, or a digit group of
  three or more digits of a number.
- clean_messages.yml: messages without identifiers (but with dates, times, amounts, ages,
  places, agencies and the public numbers 112, 1177, 90101); any change is a false positive.

Printed: cases and leaks per kind, the false-positive rate, and with --verbose every leak
and false positive. Exits non-zero when a required kind (everything but names) leaks.

Usage: python -m tools.eval_privacy [--verbose] [--corpus FILE] [--clean FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from bot.privacy.redaction import Redactor, load_redactor
from bot.settings import PROJECT_ROOT, Settings

CORPUS = PROJECT_ROOT / "tests/data/privacy/redaction_corpus.yml"
CLEAN = PROJECT_ROOT / "tests/data/privacy/clean_messages.yml"
RESULTS = PROJECT_ROOT / "results/privacy"
REQUIRED = ("personnummer", "phone", "email", "address", "postcode", "ip")
_WORDS = re.compile(r"[^\W\d_][\w'’-]*")


@dataclass
class Report:
    cases: int = 0
    identifiers: dict[str, int] = field(default_factory=dict)
    leaks: dict[str, int] = field(default_factory=dict)
    clean_messages: int = 0
    false_positives: int = 0
    leaked: list[dict] = field(default_factory=list)
    changed_clean: list[dict] = field(default_factory=list)

    @property
    def false_positive_rate(self) -> float:
        return self.false_positives / self.clean_messages if self.clean_messages else 0.0

    def required_leaks(self) -> int:
        return sum(self.leaks.get(kind, 0) for kind in REQUIRED)


def leaks(kind: str, value: str, redacted: str) -> bool:
    """Whether the identifier can still be read in the redacted text."""
    if kind == "name":
        words = {word.lower() for word in _WORDS.findall(redacted)}
        return any(part.lower() in words for part in _WORDS.findall(value) if len(part) > 1)
    if kind == "email":
        return value.lower() in redacted.lower()
    if kind == "address":
        street = _WORDS.findall(value)
        return (
            bool(street) and re.search(rf"\b{re.escape(street[-1])}\b", redacted, re.I) is not None
        )
    groups = [group for group in re.findall(r"\d+", value) if len(group) >= 3]
    remaining = set(re.findall(r"\d+", redacted))
    return any(group in remaining for group in groups) or (not groups and value in redacted)


def evaluate(redactor: Redactor, cases: list[dict], clean: list[str]) -> Report:
    report = Report(cases=len(cases), clean_messages=len(clean))
    identifiers: Counter[str] = Counter()
    leaked: Counter[str] = Counter()
    for case in cases:
        redacted = redactor.redact(case["text"])
        for identifier in case["identifiers"]:
            kind, value = identifier["kind"], identifier["value"]
            identifiers[kind] += 1
            if leaks(kind, value, redacted):
                leaked[kind] += 1
                report.leaked.append({"kind": kind, "value": value, "redacted": redacted})
    for message in clean:
        redacted = redactor.redact(message)
        if redacted != message:
            report.false_positives += 1
            report.changed_clean.append({"text": message, "redacted": redacted})
    report.identifiers = dict(sorted(identifiers.items()))
    report.leaks = {kind: leaked.get(kind, 0) for kind in report.identifiers}
    return report


def print_report(report: Report, verbose: bool) -> None:
    print(f"Redaction corpus: {report.cases} messages")
    for kind, count in report.identifiers.items():
        required = "required" if kind in REQUIRED else "as far as found"
        found = count - report.leaks[kind]
        print(f"  {kind:13} {count:4} identifiers, {report.leaks[kind]:3} leaked "
              f"({found / count:6.1%} masked; {required})")  # fmt: skip
    print(
        f"Clean messages: {report.clean_messages}, changed by the redactor: "
        f"{report.false_positives} ({report.false_positive_rate:.1%} false positives)"
    )
    if verbose:
        for row in report.leaked:
            print(f"  LEAK {row['kind']} {row['value']!r}: {row['redacted']}")
        for row in report.changed_clean:
            print(f"  FALSE POSITIVE: {row['redacted']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list every leak and change")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="default: %(default)s")
    parser.add_argument("--clean", type=Path, default=CLEAN, help="default: %(default)s")
    args = parser.parse_args(argv)
    cases = yaml.safe_load(args.corpus.read_text(encoding="utf-8"))["cases"]
    clean = yaml.safe_load(args.clean.read_text(encoding="utf-8"))["messages"]
    redactor = load_redactor(Settings.from_environment().contacts_file)
    report = evaluate(redactor, cases, clean)
    print_report(report, args.verbose)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "redaction.json").write_text(
        json.dumps(asdict(report), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    print(f"Details: {RESULTS}/redaction.json")
    if report.required_leaks():
        print(f"FAIL: {report.required_leaks()} identifiers of required kinds leaked")
        return 1
    print("Required kinds (personnummer, phone, e-mail, address, postcode, IP): 0 leaks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
