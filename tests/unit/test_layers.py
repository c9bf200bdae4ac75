"""The house plan (docs/architecture.md), read from the imports: no module imports upward
across the layers, the adapters do not import each other, and nothing in the runtime
imports the tools or the tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Lowest first. A module belongs to the longest prefix listed; each may import its own
# layer and those below it.
LAYERS: dict[str, int] = {
    # the shared vocabulary and configuration
    "bot.conversation": 0,
    "bot.settings": 0,
    "bot.text": 0,
    "bot.pseudonym": 0,
    # the database layer
    "bot.store": 1,
    # what the bot knows and does, independent of how it is reached
    "bot.escalations": 2,
    "bot.risk": 2,
    "bot.privacy": 2,
    "bot.nlu": 2,
    "bot.dialogue": 2,
    "bot.topics": 2,
    "bot.person_profile": 2,
    "bot.contacts": 2,
    "bot.notify": 2,
    "bot.rasa_client": 2,
    "bot.spacy_pipeline": 2,
    "bot.loop_monitor": 2,
    "bot.sanic_compat": 2,
    "bot.rasa_guards": 2,
    "bot.rasa_hot_paths": 2,
    "bot.linear_models": 2,
    "bot.action_calls": 2,
    "bot.health": 2,
    "bot.statistics": 2,
    # builds a process's parts from one Settings
    "bot.bootstrap": 3,
    # the adapters: what Rasa and the web reach (they ask bot.bootstrap for their parts)
    "bot.channels": 4,
    "bot.staff": 4,
    "actions": 4,
    "bot.privacy.tracker_store": 4,  # Rasa builds it from endpoints.yml
    # entry points: the processes and jobs, which wire the adapters together
    "bot.servers": 5,
    "bot.launcher": 5,
    "bot.retention": 5,
    "bot.envfile": 5,
}
ADAPTERS = ("bot.channels", "bot.staff", "actions")


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_modules() -> list[Path]:
    return sorted([*PROJECT_ROOT.glob("bot/**/*.py"), *PROJECT_ROOT.glob("actions/**/*.py")])


def project_imports(path: Path) -> set[str]:
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    return {name for name in imported if name.split(".")[0] in {"bot", "actions", "tools", "tests"}}


def home(module: str) -> str | None:
    """The longest listed prefix the module belongs to."""
    candidates = [
        prefix for prefix in LAYERS if module == prefix or module.startswith(prefix + ".")
    ]
    return max(candidates, key=len) if candidates else None


def layer(module: str) -> int | None:
    prefix = home(module)
    return LAYERS[prefix] if prefix else None


def adapter_of(module: str) -> str | None:
    prefix = home(module)
    return next((a for a in ADAPTERS if prefix and prefix.startswith(a)), None)


def imports_by_module() -> dict[str, set[str]]:
    modules = {module_name(path): project_imports(path) for path in runtime_modules()}
    modules.pop("bot")  # the package itself: a docstring
    return modules


def wrong_imports(imports: dict[str, set[str]]) -> list[str]:
    found = []
    for importer, names in sorted(imports.items()):
        for imported in sorted(names):
            if imported.split(".")[0] in {"tools", "tests"}:
                found.append(f"{importer} imports {imported} (outside the runtime)")
            elif layer(imported) is not None and layer(imported) > layer(importer):
                found.append(
                    f"{importer} (layer {layer(importer)}) imports {imported} "
                    f"(layer {layer(imported)})"
                )
            elif adapter_of(importer) and adapter_of(imported) not in (None, adapter_of(importer)):
                found.append(f"{importer} imports {imported}, another adapter")
    return found


def test_every_runtime_module_has_a_layer():
    unplaced = [name for name in imports_by_module() if layer(name) is None]
    assert unplaced == [], "add them to LAYERS (and docs/architecture.md)"


def test_no_module_imports_upward_or_across_adapters():
    assert wrong_imports(imports_by_module()) == []


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("bot.store.tables", "bot.staff.review"),  # the store reaching up
        ("bot.staff.review", "bot.channels.rest"),  # one adapter into another
        ("actions.risk", "bot.staff.model"),
        ("bot.risk.detector", "tools.bench"),  # the runtime into the tools
    ],
)
def test_the_check_finds_a_planted_import(importer, imported):
    imports = imports_by_module()
    imports[importer] = {*imports[importer], imported}
    [finding] = wrong_imports(imports)
    assert finding.startswith(importer) and imported in finding
