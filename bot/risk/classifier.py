"""The trained risk model: what the deterministic patterns cannot foresee.

Scikit-learn logistic regressions over word and character n-grams of the lower-cased,
å/ä/ö-folded text: one for the level (none, elevated, acute) and one per category. The
category models are all trained on the same messages (those with a signal), so they share
one featurization: a message is featurized twice, not eight times (issue 21). They are
trained by `make train` (python -m bot.risk.classifier) from the labelled messages in
data/risk/train*.yml and saved in models/risk/. The held-out sets in tests/data/ are never
used for training.

The model only ever raises a level (bot/risk/screening.py), so its thresholds are set for
few false escalations: it reports `elevated` when P(elevated or acute) >= ELEVATED_THRESHOLD
and `acute` when P(acute) >= ACUTE_THRESHOLD.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import joblib
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from bot.linear_models import OneText, OneTextModel, probabilities, ready_for_single_rows
from bot.risk.levels import CATEGORIES, RiskLevel
from bot.settings import PROJECT_ROOT, Settings
from bot.text import fold

TRAINING_FILES = sorted((PROJECT_ROOT / "data/risk").glob("train*.yml"))
MODEL_FILE = "risk_model.joblib"
META_FILE = "meta.json"
ELEVATED_THRESHOLD = 0.7
ACUTE_THRESHOLD = 0.5
CATEGORY_THRESHOLD = 0.35
CATEGORIES_FROM = 0.5
LEVELS = [level.value for level in RiskLevel]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prediction:
    level: RiskLevel
    categories: tuple[str, ...]
    probabilities: dict[str, float]


def _features() -> FeatureUnion:
    return FeatureUnion(
        [
            (
                "words",
                TfidfVectorizer(preprocessor=fold, ngram_range=(1, 2), min_df=1, sublinear_tf=True),
            ),
            (
                "chars",
                # Plain character n-grams (across word boundaries: "ska ner", "åka dit")
                # did better than char_wb in cross-validation.
                TfidfVectorizer(
                    preprocessor=fold, analyzer="char", ngram_range=(2, 5), sublinear_tf=True
                ),
            ),
        ]
    )


def _regression() -> LogisticRegression:
    # C=30 (weaker regularisation) was chosen over 3, 10 and 100 by cross-validation.
    return LogisticRegression(C=30, max_iter=5000, class_weight="balanced")


def _model() -> Pipeline:
    return Pipeline([("features", _features()), ("model", _regression())])


class RiskClassifier:
    def __init__(
        self,
        level_model: Pipeline,
        category_features: FeatureUnion | None,
        category_models: dict[str, LogisticRegression],
    ) -> None:
        self.level_model = ready_for_single_rows(level_model)
        self.category_features = category_features
        self.category_models = {
            name: ready_for_single_rows(model) for name, model in category_models.items()
        }
        # The same models asked about one message without scikit-learn's overhead.
        self._level = OneTextModel(level_model)
        self._categories_of_text = OneText(category_features)
        self._categories_of_text.supported &= all(
            type(model) is LogisticRegression for model in self.category_models.values()
        )

    @classmethod
    def train(cls, items: list[dict]) -> RiskClassifier:
        texts = [item["text"] for item in items]
        level_model = _model().fit(texts, [item["level"] for item in items])
        signalled = [item for item in items if item["level"] != "none"]
        if not signalled:
            return cls(level_model, None, {})
        features = _features()
        matrix = features.fit_transform([item["text"] for item in signalled])
        category_models = {}
        for category in CATEGORIES:
            labels = [category in item["categories"] for item in signalled]
            if any(labels) and not all(labels):
                category_models[category] = _regression().fit(matrix, labels)
        return cls(level_model, features, category_models)

    def predict(self, text: str) -> Prediction:
        by_level = dict(zip(self._level.classes_, self._level.predict_proba(text), strict=True))
        acute = by_level.get("acute", 0.0)
        signalled = acute + by_level.get("elevated", 0.0)
        if acute >= ACUTE_THRESHOLD:
            level = RiskLevel.ACUTE
        elif signalled >= ELEVATED_THRESHOLD:
            level = RiskLevel.ELEVATED
        else:
            level = RiskLevel.NONE
        # Categories also below the threshold: the screening may still act on a weaker
        # signal in a message that says when (bot/risk/screening.py).
        categories = self._categories(text) if signalled >= CATEGORIES_FROM else ()
        return Prediction(level, categories, by_level)

    def _category_scores(self, text: str):
        if self._categories_of_text.supported:
            columns = self._categories_of_text.columns(text)
            for category, model in self.category_models.items():
                yield category, model, probabilities(model, columns)
            return
        features = self.category_features.transform([text])
        for category, model in self.category_models.items():
            yield category, model, model.predict_proba(features)[0]

    def _categories(self, text: str) -> tuple[str, ...]:
        if not self.category_models:
            return ()
        scores = {
            category: score[list(model.classes_).index(True)]
            for category, model, score in self._category_scores(text)
        }
        chosen = [
            category for category in CATEGORIES if scores.get(category, 0.0) >= CATEGORY_THRESHOLD
        ]
        return tuple(chosen or [max(scores, key=scores.get)])

    def save(self, directory: Path, training_hash: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        stored = {
            "level": self.level_model,
            "category_features": self.category_features,
            "categories": self.category_models,
        }
        joblib.dump(stored, directory / MODEL_FILE)
        (directory / META_FILE).write_text(json.dumps({"training_hash": training_hash}))

    @classmethod
    def load(cls, directory: Path) -> RiskClassifier | None:
        path = directory / MODEL_FILE
        if not path.exists():
            return None
        stored = joblib.load(path)
        if "category_features" not in stored:
            # Saved before issue 21 (a pipeline per category): `make train` replaces it.
            logger.warning("The risk model in %s is outdated: run `make train`", directory)
            return None
        return cls(stored["level"], stored["category_features"], stored["categories"])


def load_items(paths: list[Path]) -> list[dict]:
    """The single labelled messages of the files. Conversations (`conversation:` entries,
    from the blind rounds) are left out: a message labelled acute only because of an
    earlier one would teach the model the wrong thing about the message alone."""
    items: list[dict] = []
    for path in paths:
        entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        items.extend(entry for entry in entries if "conversation" not in entry)
    return items


def training_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def is_current(directory: Path, paths: list[Path]) -> bool:
    meta = directory / META_FILE
    return meta.exists() and json.loads(meta.read_text()).get("training_hash") == training_hash(
        paths
    )


def main(argv: list[str]) -> int:
    directory = Settings.from_environment().risk_model_dir
    if "--force" not in argv and is_current(directory, TRAINING_FILES):
        print(f"Risk model in {directory} is up to date.")
        return 0
    items = load_items(TRAINING_FILES)
    RiskClassifier.train(items).save(directory, training_hash(TRAINING_FILES))
    counts = {level: sum(item["level"] == level for item in items) for level in LEVELS}
    print(f"Risk model trained on {len(items)} messages {counts} into {directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))


__all__ = ["Prediction", "RiskClassifier"]
