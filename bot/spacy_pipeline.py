"""Build the Swedish spaCy pipeline that Rasa's SpacyNLP loads.

No pretrained Swedish pipeline is downloaded: we start from spaCy's blank `sv` language
(tokenizer rules, stop words) and add the lookup lemmatizer, whose table ships in the
`spacy-lookups-data` package. The result is saved as a normal spaCy pipeline directory.

Relatives often type without å/ä/ö ("vad hander", "fangelset") and Rasa lower-cases the
text first, so the table is extended with the lower-case and å/ä/ö-folded spelling of every
form ("hander" -> "hända") wherever that spelling is not already a word of its own ("far"
stays "far", not "får").

The table (882 000 forms) is held by `CompactLemmatizer`, which gives exactly the lemmas of
spaCy's lookup lemmatizer but keeps the table in three arrays instead of a Python dict:
about 20 MB instead of 300 MB in each of the Rasa and the action server, and loaded in a
fraction of the time (issue 21). spaCy finds the component through the `spacy_factories`
entry point in pyproject.toml, in every process that loads the pipeline.

Usage: python -m bot.spacy_pipeline [OUTPUT_DIR]
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import spacy
from spacy.language import Language
from spacy.strings import get_string_id
from spacy.tokens import Doc

from bot.settings import PROJECT_ROOT
from bot.text import fold

DEFAULT_OUTPUT = PROJECT_ROOT / "models/spacy/sv_vagvisaren"
PIPELINE_NAME = "sv_vagvisaren"
LOOKUP_FILE = "sv_lemma_lookup.json.gz"
FACTORY = "vagvisaren_lemmatizer"


def swedish_lemma_table() -> dict[str, str]:
    data = resources.files("spacy_lookups_data") / "data" / LOOKUP_FILE
    with data.open("rb") as compressed:
        return json.loads(gzip.decompress(compressed.read()))


def with_informal_spellings(table: dict[str, str]) -> dict[str, str]:
    """Adds lower-case and å/ä/ö-folded keys that do not collide with existing forms."""
    extended = dict(table)
    for form, lemma in table.items():
        for variant in (form.lower(), fold(form)):
            extended.setdefault(variant, lemma)
    return extended


class CompactLemmatizer:
    """spaCy's lookup lemmatizer (a token's lemma is the table's entry for its text, else
    the text itself) over a table kept as arrays: the sorted 64-bit string hashes of the
    forms (the same hashes spaCy's own table is keyed by), the row of each form's lemma,
    and the distinct lemmas."""

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.uint64)
        self.rows = np.empty(0, dtype=np.int32)
        self.lemmas: list[str] = []

    @classmethod
    def from_table(cls, table: dict[str, str]) -> CompactLemmatizer:
        lemmatizer = cls()
        lemmatizer.lemmas = sorted(set(table.values()))
        row_of = {lemma: row for row, lemma in enumerate(lemmatizer.lemmas)}
        keys = np.fromiter((get_string_id(form) for form in table), np.uint64, len(table))
        rows = np.fromiter((row_of[lemma] for lemma in table.values()), np.int32, len(table))
        order = np.argsort(keys, kind="stable")
        lemmatizer.keys, lemmatizer.rows = keys[order], rows[order]
        if len(np.unique(lemmatizer.keys)) != len(keys):
            raise ValueError("two forms of the lemma table have the same hash")
        return lemmatizer

    def lemma_rows(self, orths: np.ndarray) -> np.ndarray:
        """The lemma row of each string hash, -1 where the table does not have it."""
        if not len(self.keys):
            return np.full(len(orths), -1)
        at = np.searchsorted(self.keys, orths).clip(max=len(self.keys) - 1)
        return np.where(self.keys[at] == orths, self.rows[at], -1)

    def __call__(self, doc: Doc) -> Doc:
        orths = np.fromiter((token.orth for token in doc), np.uint64, len(doc))
        for token, row in zip(doc, self.lemma_rows(orths).tolist(), strict=True):
            if token.lemma == 0:  # as spaCy's: a lemma set earlier stays
                token.lemma_ = self.lemmas[row] if row >= 0 else token.text
        return doc

    def to_disk(self, path, exclude=()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / "keys.npy", self.keys)
        np.save(path / "rows.npy", self.rows)
        (path / "lemmas.json").write_text(json.dumps(self.lemmas, ensure_ascii=False))

    def from_disk(self, path, exclude=()) -> CompactLemmatizer:
        path = Path(path)
        self.keys = np.load(path / "keys.npy")
        self.rows = np.load(path / "rows.npy")
        self.lemmas = json.loads((path / "lemmas.json").read_text())
        return self


# No annotations: spaCy validates a factory's arguments by them, and this module's are
# strings (`from __future__ import annotations`) it cannot resolve.
@Language.factory(FACTORY)
def make_lemmatizer(nlp, name):
    return CompactLemmatizer()


def build_pipeline() -> spacy.language.Language:
    nlp = spacy.blank("sv")
    lemmatizer = nlp.add_pipe(FACTORY)
    # The table is stored inside the pipeline, so spacy-lookups-data is needed only here.
    table = CompactLemmatizer.from_table(with_informal_spellings(swedish_lemma_table()))
    lemmatizer.keys, lemmatizer.rows, lemmatizer.lemmas = table.keys, table.rows, table.lemmas
    nlp.meta["name"] = PIPELINE_NAME
    nlp.meta["version"] = "1.2.0"
    nlp.meta["description"] = (
        "Blank Swedish + lookup lemmas (spacy-lookups-data) with å/ä/ö-folded forms, "
        "in a compact table"
    )
    return nlp


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(output, ignore_errors=True)  # no component of an earlier build left behind
    build_pipeline().to_disk(output)
    print(f"Swedish spaCy pipeline written to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
