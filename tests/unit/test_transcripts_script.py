"""A held-out set for `python -m tools.transcripts --script`: only ids, channels and what the
relative says are read, whether the file is a list or a mapping that holds one."""

from __future__ import annotations

import pytest
import yaml

from tools.transcripts import load_script

CONVERSATION = {
    "id": "mother-sms",
    "channel": "sms",
    "who": "a mother",
    "turns": [{"say": "hej", "expect": ["greets"], "safety_critical": False}, {"say": "tack"}],
}


@pytest.mark.parametrize("shape", ["list", "dialogues", "conversations"])
def test_a_script_is_read_in_either_shape(tmp_path, shape):
    data = [CONVERSATION] if shape == "list" else {shape: [CONVERSATION]}
    path = tmp_path / "set.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    [dialogue] = load_script(path)
    assert (dialogue.id, dialogue.channel) == ("mother-sms", "sms")
    assert [turn.say for turn in dialogue.turns] == ["hej", "tack"]
    assert all(turn.expect == [] for turn in dialogue.turns)  # the judge's, never the bot's
