"""At most MAX_TOKENS tokens of a message reach the featurizers and DIET (issue 17).

DIET's transformer layer compares every token with every other: a message of 4 000
characters (the most a relative may send) made thousands of tokens, and its classification
held Rasa's event loop for about a second, every conversation waiting. The intent of a
message is in its first few hundred words; the risk screening (actions/risk.py) still
reads the whole text, and so does the stored conversation. No training example is
anywhere near this long, so the trained model is the same with or without the cap.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

MAX_TOKENS = 256


def cap(message: Message, max_tokens: int = MAX_TOKENS) -> None:
    tokens = message.get(TOKENS_NAMES[TEXT])
    if tokens and len(tokens) > max_tokens:
        message.set(TOKENS_NAMES[TEXT], tokens[:max_tokens])


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class TokenCap(GraphComponent):
    """Placed right after the tokenizer: the rest of the pipeline sees the first tokens."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"max_tokens": MAX_TOKENS}

    def __init__(self, config: dict[str, Any]) -> None:
        self.max_tokens = int(config.get("max_tokens", MAX_TOKENS))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TokenCap:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            cap(message, self.max_tokens)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            cap(message, self.max_tokens)
        return messages
