"""`make help` lists every target with one line (the "## " comment on the target's line)."""

from __future__ import annotations

import re

from bot.settings import PROJECT_ROOT

MAKEFILE = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")


def phony_targets() -> set[str]:
    [line] = re.findall(r"^\.PHONY: (.*)$", MAKEFILE, flags=re.M)
    return set(line.split())


def described_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):[^=\n]*## \S", MAKEFILE, flags=re.M))


def test_every_target_has_a_line_in_make_help():
    assert phony_targets() - described_targets() == set()


def test_every_described_target_is_phony():
    assert described_targets() - phony_targets() == set()


def test_the_fast_target_needs_no_service_and_the_full_one_runs_everything():
    fast = re.search(r"^test-fast:.*\n((?:\t.*\n)+)", MAKEFILE, flags=re.M).group(1)
    assert "pytest tests/unit" in fast and "ruff check" in fast
    full = re.search(r"^test:.*\n((?:\t.*\n)+)", MAKEFILE, flags=re.M).group(1)
    assert "$(BIN)/pytest --numprocesses" in full
