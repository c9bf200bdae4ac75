"""Only the first tokens of a very long message reach the featurizers and DIET."""

from __future__ import annotations

from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.token_cap import MAX_TOKENS, TokenCap


def message_of(words: int) -> Message:
    text = " ".join(["ord"] * words)
    message = Message(data={TEXT: text})
    message.set(TOKENS_NAMES[TEXT], [Token("ord", i * 4) for i in range(words)])
    return message


def test_a_long_message_keeps_its_first_tokens_and_its_whole_text():
    long, short = message_of(4000), message_of(12)
    TokenCap({}).process([long, short])
    assert len(long.get(TOKENS_NAMES[TEXT])) == MAX_TOKENS
    assert len(long.get(TEXT).split()) == 4000  # the text itself is untouched
    assert len(short.get(TOKENS_NAMES[TEXT])) == 12
