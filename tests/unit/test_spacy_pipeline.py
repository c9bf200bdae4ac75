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


def test_the_compact_table_gives_the_lookup_lemmatizers_lemmas(tmp_path):
    """CompactLemmatizer keeps spaCy's lookup semantics: the table's lemma for the exact
    text, the text itself for a form the table does not have (issue 21)."""
    from bot.spacy_pipeline import FACTORY, CompactLemmatizer

    table = {"barnen": "barn", "placerar": "placera", "Säpo": "Säpo", "hander": "hända"}
    nlp = spacy.blank("sv")
    lemmatizer = nlp.add_pipe(FACTORY)
    compact = CompactLemmatizer.from_table(table)
    lemmatizer.keys, lemmatizer.rows, lemmatizer.lemmas = compact.keys, compact.rows, compact.lemmas
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")

    lemmas = [token.lemma_ for token in loaded("Barnen barnen placerar Säpo hander okänt")]
    assert lemmas == ["Barnen", "barn", "placera", "Säpo", "hända", "okänt"]


def test_the_pipeline_loads_by_path_alone_in_a_new_process():
    """Rasa's SpacyNLP and `rasa train` load the pipeline without importing the project:
    spaCy must find the lemmatizer through the entry point in pyproject.toml."""
    import subprocess
    import sys

    program = (
        "import sys, spacy; nlp = spacy.load(sys.argv[1]); "
        "print(' '.join(t.lemma_ for t in nlp('socialtjänsten placerar barnen')))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", program, str(DEFAULT_OUTPUT)],
        capture_output=True,
        text=True,
        check=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": ""},
    )
    assert shown.stdout.split() == ["socialtjänst", "placera", "barn"]
    assert "bot.spacy_pipeline" not in program
