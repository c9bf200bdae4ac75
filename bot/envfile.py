"""Creates `.env` from `.env.example` on first run, with freshly generated secrets.

Every value written as `generate` in the example becomes a new random secret. An existing
`.env` is never touched, so secrets stay stable across runs.

Usage: python -m bot.envfile [EXAMPLE] [TARGET]
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT

GENERATE = "generate"


def render(example: str) -> str:
    lines = []
    for line in example.splitlines():
        key, separator, value = line.partition("=")
        if separator and not line.lstrip().startswith("#") and value.strip() == GENERATE:
            line = f"{key}={secrets.token_urlsafe(48)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def create_env_file(example: Path, target: Path) -> bool:
    """Returns True when a new file was written."""
    if target.exists():
        return False
    target.write_text(render(example.read_text(encoding="utf-8")), encoding="utf-8")
    target.chmod(0o600)
    return True


def main(argv: list[str]) -> int:
    example = Path(argv[1]) if len(argv) > 1 else PROJECT_ROOT / ".env.example"
    target = Path(argv[2]) if len(argv) > 2 else PROJECT_ROOT / ".env"
    if create_env_file(example, target):
        print(f"Wrote {target} with new secrets.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
