"""The project's Swedish spaCy pipeline: lookup lemmas, also for text without å/ä/ö."""

from __future__ import annotations

import pytest
import spacy

from bot.spacy_pipeline import DEFAULT_OUTPUT, with_informal_spellings


def test_folded_and_lower_case_forms_are_added_without_overriding_words():
    table = with_informal_spellings({"händer": "hända", "far": "far", "får": "få", "Säpo": "Säpo"})
    assert table["hander"] == "hända"
    assert table["far"] == "far"  # a word of its own keeps its lemma
    assert table["säpo"] == "Säpo" and table["sapo"] == "Säpo"


@pytest.fixture(scope="module")
def nlp():
    if not (DEFAULT_OUTPUT / "meta.json").exists():
        pytest.fail("run `make spacy` (part of `make test`) to build the pipeline first")
    return spacy.load(DEFAULT_OUTPUT)


@pytest.mark.parametrize(
    ("formal", "informal"),
    [("händer", "hander"), ("fängelset", "fangelset"), ("placerar", "placerar"), ("är", "ar")],
)
def test_informal_spelling_gets_the_same_lemma(nlp, formal, informal):
    assert nlp(formal)[0].lemma_ == nlp(informal)[0].lemma_


def test_built_pipeline_lemmatizes_swedish(nlp):
    lemmas = [token.lemma_ for token in nlp("socialtjänsten placerar barnen")]
    assert lemmas == ["socialtjänst", "placera", "barn"]
