"""The project's NLU training examples as the YAML files in data/nlu write them."""

from __future__ import annotations

import yaml

from bot.settings import PROJECT_ROOT


def training_examples() -> list[tuple[str, str]]:
    """(intent, text) for every example line of data/nlu, file by file, in order."""
    examples = []
    for path in sorted((PROJECT_ROOT / "data/nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            if "intent" in block:
                for line in block["examples"].splitlines():
                    if line.strip():
                        examples.append((block["intent"], line.strip().removeprefix("- ").strip()))
    return examples
