"""Build the Swedish spaCy pipeline that Rasa's SpacyNLP loads.

No pretrained Swedish pipeline is downloaded: we start from spaCy's blank `sv` language
(tokenizer rules, stop words) and add the lookup lemmatizer, whose table ships in the
`spacy-lookups-data` package. The result is saved as a normal spaCy pipeline directory.

Usage: python -m bot.spacy_pipeline [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import spacy

from bot.settings import PROJECT_ROOT

DEFAULT_OUTPUT = PROJECT_ROOT / "models/spacy/sv_vagvisaren"
PIPELINE_NAME = "sv_vagvisaren"


def build_pipeline() -> spacy.language.Language:
    nlp = spacy.blank("sv")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    # initialize() loads the lemma table from spacy-lookups-data into the pipeline,
    # so the saved pipeline no longer needs that package at run time.
    nlp.initialize()
    nlp.meta["name"] = PIPELINE_NAME
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = "Blank Swedish + lookup lemmatizer (spacy-lookups-data)"
    return nlp


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    build_pipeline().to_disk(output)
    print(f"Swedish spaCy pipeline written to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
