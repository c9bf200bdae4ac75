"""The escalation retry file forgets a deleted conversation's waiting signals (issue 17)."""

from __future__ import annotations

from bot.escalations.escalator import RetryFile
from bot.escalations.service import Signal
from bot.risk.levels import RiskLevel


def signal(reference: str) -> Signal:
    return Signal(reference, RiskLevel.ACUTE, ("travel",), f"utdrag {reference}", "key")


def test_drop_removes_only_the_deleted_conversations_signals(tmp_path):
    retries = RetryFile(tmp_path / "retry.jsonl")
    for reference in ("deleted", "kept", "deleted"):
        retries.append(signal(reference))
    retries._memory.append(signal("deleted"))  # the file was not writable for this one

    assert retries.drop("deleted") == 3
    assert "deleted" not in retries.path.read_text()
    assert [s.conversation_ref for s in retries.take_all()] == ["kept"]
    assert retries.drop("deleted") == 0


def test_drop_on_a_missing_file_is_nothing(tmp_path):
    assert RetryFile(tmp_path / "none.jsonl").drop("any") == 0
