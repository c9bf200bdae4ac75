"""Creates `.env` from `.env.example` on first run, with freshly generated secrets.

Every value written as `generate` in the example becomes a new random secret. Values in an
existing `.env` are never changed, so secrets stay stable across runs; settings that a newer
version added to the example are appended (with fresh secrets) so an upgrade just works.

Usage: python -m bot.envfile [EXAMPLE] [TARGET]
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT

GENERATE = "generate"


def _setting_key(line: str) -> str | None:
    """The key of a `KEY=value` line; None for comments and blank lines."""
    key, separator, _ = line.partition("=")
    if not separator or line.lstrip().startswith("#"):
        return None
    return key.strip()


def render(example: str) -> str:
    lines = []
    for line in example.splitlines():
        key, _, value = line.partition("=")
        if _setting_key(line) is not None and value.strip() == GENERATE:
            line = f"{key}={secrets.token_urlsafe(48)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def missing_settings(example: str, existing: str) -> str:
    """The example's lines for keys that `existing` lacks, rendered with fresh secrets."""
    present = {_setting_key(line) for line in existing.splitlines()}
    return "".join(
        render(line)
        for line in example.splitlines()
        if (key := _setting_key(line)) is not None and key not in present
    )


def create_env_file(example: Path, target: Path) -> bool:
    """Returns True when a new file was written or missing settings were appended."""
    template = example.read_text(encoding="utf-8")
    if target.exists():
        existing = target.read_text(encoding="utf-8")
        additions = missing_settings(template, existing)
        if not additions:
            return False
        separator = "" if existing.endswith("\n") or not existing else "\n"
        target.write_text(existing + separator + additions, encoding="utf-8")
        return True
    target.write_text(render(template), encoding="utf-8")
    target.chmod(0o600)
    return True


def main(argv: list[str]) -> int:
    example = Path(argv[1]) if len(argv) > 1 else PROJECT_ROOT / ".env.example"
    target = Path(argv[2]) if len(argv) > 2 else PROJECT_ROOT / ".env"
    if create_env_file(example, target):
        print(f"Wrote {target} (new settings get fresh secrets; existing values are kept).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
