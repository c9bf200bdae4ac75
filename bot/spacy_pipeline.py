"""Build the Swedish spaCy pipeline that Rasa's SpacyNLP loads.

No pretrained Swedish pipeline is downloaded: we start from spaCy's blank `sv` language
(tokenizer rules, stop words) and add the lookup lemmatizer, whose table ships in the
`spacy-lookups-data` package. The result is saved as a normal spaCy pipeline directory.

Relatives often type without å/ä/ö ("vad hander", "fangelset") and Rasa lower-cases the
text first, so the table is extended with the lower-case and å/ä/ö-folded spelling of every
form ("hander" -> "hända") wherever that spelling is not already a word of its own ("far"
stays "far", not "får").

Usage: python -m bot.spacy_pipeline [OUTPUT_DIR]
"""

from __future__ import annotations

import gzip
import json
import sys
from importlib import resources
from pathlib import Path

import spacy
from spacy.lookups import Lookups

from bot.settings import PROJECT_ROOT
from bot.text import fold

DEFAULT_OUTPUT = PROJECT_ROOT / "models/spacy/sv_vagvisaren"
PIPELINE_NAME = "sv_vagvisaren"
LOOKUP_FILE = "sv_lemma_lookup.json.gz"


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


def build_pipeline() -> spacy.language.Language:
    nlp = spacy.blank("sv")
    lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    lookups = Lookups()
    lookups.add_table("lemma_lookup", with_informal_spellings(swedish_lemma_table()))
    # The table is stored inside the pipeline, so spacy-lookups-data is needed only here.
    lemmatizer.initialize(lookups=lookups)
    nlp.meta["name"] = PIPELINE_NAME
    nlp.meta["version"] = "1.1.0"
    nlp.meta["description"] = (
        "Blank Swedish + lookup lemmatizer (spacy-lookups-data) with å/ä/ö-folded forms"
    )
    return nlp


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    build_pipeline().to_disk(output)
    print(f"Swedish spaCy pipeline written to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
