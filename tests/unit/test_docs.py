"""The documentation agrees with the repository.

- docs/configuration.md documents exactly the variables of .env.example: in its
  "## Reference" section, every table row starts with the variable's name in backticks.
- Every repository path written in backticks in README.md and docs/*.md exists (paths
  under bot/, actions/, tools/, tests/, data/, deployment/ and docs/; glob patterns and
  placeholders such as `round<N>.yml` are skipped).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
ENV_EXAMPLE = ROOT / ".env.example"

# A variable set in .env.example: NAME=value at the start of a line (comments are skipped).
_ENV_LINE = re.compile(r"^([A-Z][A-Z0-9_]*)=", re.MULTILINE)
# A row of a reference table: | `NAME` | default | meaning |
_REFERENCE_ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", re.MULTILINE)

PATH_ROOTS = ("bot", "actions", "tools", "tests", "data", "deployment", "docs")
# A path under one of the roots, not preceded by a character that would make it part of
# something else (a URL, another path, a module name).
_PATH = re.compile(r"(?<![\w./~-])((?:" + "|".join(PATH_ROOTS) + r")/[^\s`'\"(),;]*)")
# Placeholders and patterns: <N>, *, …, {name}, [x], $VAR, ...
_NOT_A_PATH = re.compile(r"[<>*?\[\]{}$…]|\.\.\.")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)


def env_example_variables() -> list[str]:
    return _ENV_LINE.findall(ENV_EXAMPLE.read_text(encoding="utf-8"))


def reference_section(markdown: str) -> str:
    """The text of the "## Reference" section, up to the next second-level heading."""
    match = re.search(r"^## Reference\s*$(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    assert match, "docs/configuration.md has no '## Reference' section"
    return match.group(1)


def documented_variables() -> list[str]:
    section = reference_section(CONFIGURATION.read_text(encoding="utf-8"))
    return _REFERENCE_ROW.findall(section)


def test_the_configuration_reference_names_exactly_the_variables_of_env_example():
    documented = documented_variables()
    in_example = env_example_variables()
    twice = sorted({name for name in documented if documented.count(name) > 1})
    missing = sorted(set(in_example) - set(documented))
    extra = sorted(set(documented) - set(in_example))
    problems = []
    if missing:
        problems.append(f"in .env.example but not in docs/configuration.md: {', '.join(missing)}")
    if extra:
        problems.append(f"in docs/configuration.md but not in .env.example: {', '.join(extra)}")
    if twice:
        problems.append(f"documented more than once: {', '.join(twice)}")
    assert not problems, "; ".join(problems)


def code_spans(markdown: str) -> list[str]:
    """Inline code spans and fenced code blocks, in order of appearance."""
    spans = [block.group(0) for block in _FENCE.finditer(markdown)]
    prose = _FENCE.sub("", markdown)
    spans += [span.group(2) for span in _INLINE_CODE.finditer(prose)]
    return spans


def paths_in(text: str) -> list[str]:
    found = []
    for candidate in _PATH.findall(text):
        path = candidate.split("::", 1)[0].rstrip(".:")
        if _NOT_A_PATH.search(path):
            continue
        found.append(path)
    return found


def documentation_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_path_the_documentation_names_exists():
    missing = []
    for document in documentation_files():
        for span in code_spans(document.read_text(encoding="utf-8")):
            for path in paths_in(span):
                if not (ROOT / path).exists():
                    missing.append(f"{document.relative_to(ROOT)}: {path}")
    missing = sorted(set(missing))
    assert not missing, "paths in the documentation that do not exist:\n" + "\n".join(missing)


# The helpers above, on examples: what counts as a path and what is skipped.


def test_paths_are_found_in_code_and_placeholders_are_skipped():
    text = (
        "run `python -m tools.eval_nlu --held-out tests/data/nlu_blind/round2.yml`, "
        "see `tests/unit/test_privacy.py::test_x`, `data/risk/train*.yml`, "
        "`tests/data/risk_blind/round<N>.yml`, `bot/store/migrations/`, "
        "`https://example.org/bot/x.py`, `../shared/domain/brief.md`, `bot.channels.rest`"
    )
    found = [path for span in code_spans(text) for path in paths_in(span)]
    assert found == [
        "tests/data/nlu_blind/round2.yml",
        "tests/unit/test_privacy.py",
        "bot/store/migrations/",
    ]


def test_the_reference_is_read_from_its_own_section_only():
    markdown = (
        "## Reference\n\n| variable | default |\n| --- | --- |\n| `A_B` | `1` |\n"
        "\n## Variables not in `.env.example`\n\n| `C_D` | x |\n"
    )
    assert _REFERENCE_ROW.findall(reference_section(markdown)) == ["A_B"]
