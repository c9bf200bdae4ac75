"""`make eval-nlu`: the cross-validation splits the data alike on every run."""

from __future__ import annotations

import subprocess

import numpy as np
from rasa.nlu.test import generate_folds
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from tools.eval_nlu import FOLD_SEED, cross_validation_command


def first_fold_texts(seed: int | None) -> list[str]:
    if seed is not None:
        np.random.seed(seed)
    examples = [
        Message(data={"text": f"{intent} {n}", "intent": intent})
        for intent in ("a", "b", "c")
        for n in range(10)
    ]
    _, test = next(generate_folds(5, TrainingData(training_examples=examples)))
    return sorted(message.get("text") for message in test.training_examples)


def test_rasas_folds_follow_numpys_seed():
    assert first_fold_texts(FOLD_SEED) == first_fold_texts(FOLD_SEED)
    draws = {tuple(first_fold_texts(None)) for _ in range(5)}
    assert len(draws) > 1, "unseeded, Rasa's folds should differ between runs"


def test_the_command_seeds_numpy_before_rasa_reads_its_arguments(tmp_path):
    command = cross_validation_command(5, tmp_path)
    seed_at = command.index(str(FOLD_SEED))
    assert command[seed_at + 1 : seed_at + 3] == ["test", "nlu"]
    # The same wrapper with Rasa's --version instead of the cross-validation.
    wrapper = [*command[: seed_at + 1], "--version"]
    shown = subprocess.run(wrapper, capture_output=True, text=True, timeout=120, check=True)
    assert "3.6" in shown.stdout
