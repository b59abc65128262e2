"""The learned coder: which (type, category) claims a sentence makes.

A pipeline component (:mod:`analysis.coding`) and a scikit-learn estimator.
:class:`LearnedCoder` follows the estimator contract (``fit``,
``predict_proba``, ``predict``, ``get_params``/``set_params``), so that it
can be cross-validated with ``LeaveOneGroupOut`` and ``cross_val_predict``
like any classifier. It reads the features table
(:mod:`analysis.coding.features`) and returns one probability per label
("type/category"):

- its first step turns the table into a sparse matrix, by the
  *representation* it is given (:data:`REPRESENTATIONS`: word uni- and
  bigrams of the sentence, words of its context and of its neighbours,
  TF-IDF; with ``words+chars``, character n-grams of the sentence too, which
  carry a word's stem across its spellings; and the codebook's cue families
  and the page's layout as binary features): swapping the text
  representation is one parameter;
- its second step is one logistic regression per label, with balanced
  class weights. A label is claimed when its probability reaches
  ``threshold``, chosen by grouped cross-validation (:mod:`analysis.train`).

As a component it adds the claims the cues missed: a cue's claim stands
(the codebook is the coder's explainable backbone) and is marked with the
model's probability; a category the model finds with no claim of the rules
becomes a claim explained by the terms that weighed most.

On disk a model is two files: ``NAME.joblib`` (the fitted estimator) and
``NAME.json`` (its manifest: version, hyperparameters, the file's sha256 for
integrity, the model's content hash (``model_sha256``: vocabularies,
weights, labels and threshold, the same for the same training inputs
whatever the pickle's bytes), the training data's hashes, the documents it
learned from, and the cross-validated figures). The shipped model lives in
the package (``analysis/models/coder``); ``analysis train`` rebuilds it. A
model file is a pickle: load only models you trained or got from a source
you trust, as you would run their code.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from analysis import config
from analysis.codebook import Codebook
from analysis.coding.features import label_of, page_features
from analysis.coding.page import Claim, Page
from analysis.errors import ModelError

# How many of the heaviest terms explain a learned decision.
EXPLAIN_TERMS = 3


def _tfidf(**options: Any) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(**{"min_df": 2, "sublinear_tf": True, "dtype": np.float32, **options})


def words(coder: LearnedCoder) -> list[tuple[str, Any, str, float]]:
    """Word uni- and bigrams of the sentence, words of its context and
    neighbours, and the cue and layout features."""
    from sklearn.feature_extraction import DictVectorizer

    return [
        ("text", _tfidf(ngram_range=(1, 2)), "text", 1.0),
        ("context", _tfidf(), "context", coder.context_weight),
        ("neighbours", _tfidf(), "neighbours", coder.neighbour_weight),
        ("cues", DictVectorizer(), "cues", 1.0),
    ]


def words_and_chars(coder: LearnedCoder) -> list[tuple[str, Any, str, float]]:
    """:func:`words`, and character 3- to 5-grams inside the sentence's words."""
    chars = _tfidf(analyzer="char_wb", ngram_range=(3, 5), min_df=3, max_features=25_000)
    return [*words(coder), ("chars", chars, "text", coder.char_weight)]


REPRESENTATIONS: dict[str, Callable[[LearnedCoder], list[tuple[str, Any, str, float]]]] = {
    "words": words,
    "words+chars": words_and_chars,
}


class LearnedCoder(ClassifierMixin, BaseEstimator):
    """Features table -> one probability per label (see the module docstring).

    Parameters are the estimator's hyperparameters, recorded in the model's
    manifest and version; the defaults are the project's
    (``config.LEARNED_CODER``)."""

    def __init__(
        self,
        labels: tuple[str, ...] = (),
        representation: str = config.LEARNED_CODER["representation"],
        C: float = config.LEARNED_CODER["C"],  # noqa: N803 - scikit-learn's name
        context_weight: float = config.LEARNED_CODER["context_weight"],
        neighbour_weight: float = config.LEARNED_CODER["neighbour_weight"],
        char_weight: float = config.LEARNED_CODER["char_weight"],
        threshold: float = 0.5,
        random_state: int = config.SEED,
    ) -> None:
        self.labels = labels
        self.representation = representation
        self.C = C
        self.context_weight = context_weight
        self.neighbour_weight = neighbour_weight
        self.char_weight = char_weight
        self.threshold = threshold
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> LearnedCoder:  # noqa: N803
        """Fit on a features table and its (sentences x labels) 0/1 matrix."""
        from sklearn.compose import ColumnTransformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        if self.representation not in REPRESENTATIONS:
            raise ModelError(
                f"unknown representation {self.representation!r} "
                f"(known: {', '.join(REPRESENTATIONS)})"
            )
        y = np.asarray(y)
        self.labels_ = tuple(self.labels) or tuple(str(j) for j in range(y.shape[1]))
        steps = REPRESENTATIONS[self.representation](self)
        self.features_ = ColumnTransformer(
            [(name, transformer, column) for name, transformer, column, _ in steps],
            transformer_weights={name: weight for name, _, _, weight in steps},
        )
        x = self.features_.fit_transform(X)
        regression = LogisticRegression(
            C=self.C,
            class_weight="balanced",
            solver="liblinear",
            max_iter=2000,
            random_state=self.random_state,
        )
        with warnings.catch_warnings():
            # a label nobody coded in these articles: its model is a constant
            warnings.filterwarnings("ignore", message="Label not .* is present in all training")
            self.classify_ = OneVsRestClassifier(regression).fit(x, y)
        self.classes_ = np.arange(y.shape[1])
        self._gather()
        return self

    def _gather(self) -> None:
        """The fitted regressions as one (features x labels) matrix and a
        bias row, and the feature names: one product decides every label."""
        self.names_ = feature_names(self.features_)
        weights = np.zeros((len(self.names_), len(self.labels_)), dtype=np.float64)
        bias = np.zeros(len(self.labels_), dtype=np.float64)
        for j, estimator in enumerate(self.classify_.estimators_):
            if hasattr(estimator, "coef_"):
                weights[:, j] = np.ravel(estimator.coef_)
                bias[j] = float(np.ravel(estimator.intercept_)[0])
            else:  # a label never seen in training: a constant probability
                p = float(np.clip(np.ravel(estimator.y_)[0], 1e-9, 1 - 1e-9))
                bias[j] = np.log(p / (1 - p))
        self.weights_, self.bias_ = weights.astype(np.float32), bias

    def __getstate__(self) -> dict[str, Any]:
        # On disk the coder is its vectorizers and one weight matrix (in
        # single precision): the per-label regressions hold the same
        # numbers in another shape, and the feature names are the
        # vectorizers'.
        state = {k: v for k, v in self.__dict__.items() if k not in ("classify_", "names_")}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "features_" in state:
            self.names_ = feature_names(self.features_)

    def transform(self, X: pd.DataFrame) -> Any:  # noqa: N803
        """The sparse feature matrix of a features table. The fitted
        vectorizers are called one by one: the column transformer's
        machinery costs more than the work on a single page."""
        from scipy import sparse

        weights = self.features_.transformer_weights or {}
        parts = [
            transformer.transform(X[column]) * weights.get(name, 1.0)
            for name, transformer, column in self.features_.transformers_
            if transformer not in ("drop", "passthrough")
        ]
        return sparse.hstack(parts, format="csr")

    def decide(self, X: pd.DataFrame) -> tuple[np.ndarray, Any]:  # noqa: N803
        """(probabilities, feature matrix) of a features table."""
        x = self.transform(X)
        return 1.0 / (1.0 + np.exp(-(x @ self.weights_ + self.bias_))), x

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        """(sentences x labels) probabilities, as each label's logistic
        regression's ``predict_proba`` gives them."""
        if len(X) == 0:
            return np.zeros((0, len(self.labels_)))
        return self.decide(X)[0]

    def predict(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        return (self.predict_proba(X) >= self.threshold).astype(np.int8)

    def top_terms(self, x: Any, row: int, label: str) -> list[str]:
        """The features of sentence ``row`` of ``x`` that weigh most for ``label``."""
        j = self.labels_.index(label)
        start, end = x.indptr[row], x.indptr[row + 1]
        indices, data = x.indices[start:end], x.data[start:end]
        weights = data * self.weights_[indices, j]
        order = np.argsort(-weights)[:EXPLAIN_TERMS]
        return [str(self.names_[indices[k]]) for k in order if weights[k] > 0]

    def content_hash(self) -> str:
        """sha256 of what the coder computes: hyperparameters, vocabularies,
        idf weights, the regressions, labels and threshold. A pickle's bytes
        also depend on which equal strings the process happened to share,
        so they are no identity."""
        params = {k: v for k, v in self.get_params().items() if k != "threshold"}
        h = hashlib.sha256(
            json.dumps(
                [list(self.labels_), round(float(self.threshold), 6), repr(sorted(params.items()))]
            ).encode()
        )
        for name, transformer, _ in self.features_.transformers_:
            vocabulary = getattr(transformer, "vocabulary_", {})
            h.update(name.encode())
            h.update(json.dumps(sorted((str(k), int(v)) for k, v in vocabulary.items())).encode())
            idf = getattr(transformer, "idf_", None)
            if idf is not None:
                h.update(np.ascontiguousarray(idf, dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(self.weights_).tobytes())
        h.update(np.ascontiguousarray(self.bias_).tobytes())
        return h.hexdigest()


def feature_names(features: Any) -> np.ndarray:
    """The fitted column transformer's feature names, without their step."""
    names = features.get_feature_names_out()
    return np.array([n.split("__", 1)[-1] for n in names], dtype=object)


@dataclass(frozen=True)
class Model:
    """A fitted coder as shipped: the estimator with its manifest."""

    path: str
    version: str
    sha256: str  # content hash: what claim rows and the cache key record
    coder: LearnedCoder = field(repr=False)
    manifest: dict = field(repr=False, default_factory=dict)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.coder.labels_)

    @property
    def threshold(self) -> float:
        return float(self.coder.threshold)


def as_model(coder: LearnedCoder, **meta: Any) -> Model:
    """A fitted coder as a model the codebook can code with."""
    return Model(
        path=meta.get("path", ""),
        version=meta.get("version", ""),
        sha256=coder.content_hash(),
        coder=coder,
        manifest=meta.get("manifest", {}),
    )


# ---------------------------------------------------------------- component


def apply(pages: list[Page], codebook: Codebook) -> list[Page]:
    """Add the claims the learned coder finds and the cues missed (see the
    module docstring). The pages are decided together: the vectorizers'
    cost is per call."""
    model = codebook.model
    if model is None:
        return pages
    coder = model.coder
    tables = [page_features(page, codebook) for page in pages]
    where = [(page, i) for page, table in zip(pages, tables, strict=True) for i in table.index]
    if not where:
        return pages
    prob, x = coder.decide(pd.concat(tables, ignore_index=True))
    decided = prob >= coder.threshold
    column = {label: j for j, label in enumerate(coder.labels_)}
    for row, (page, i) in enumerate(where):
        claims = page.claims[i]
        ruled = {label_of(c.category) for c in claims}
        for claim in claims:
            j = column.get(label_of(claim.category))
            if j is not None:
                claim.probability = float(prob[row, j])
                claim.why.append(f"model p={prob[row, j]:.2f}")
        for j in np.flatnonzero(decided[row]):
            label = coder.labels_[j]
            if label in ruled:
                continue
            category = codebook.category(label.split("/", 1)[1])
            terms = ", ".join(repr(t) for t in coder.top_terms(x, row, label))
            terms = terms or "its features together"
            claims.append(
                Claim(
                    category,
                    [h for h in page.hits[i] if h.category.id == category.id],
                    source="learned",
                    probability=float(prob[row, j]),
                    why=[f"{category.id} learned (model p={prob[row, j]:.2f}), weighed by {terms}"],
                )
            )
        page.claims[i] = claims
    return pages


# ---------------------------------------------------------------- files


def save_model(coder: LearnedCoder, out: str | Path, manifest: dict) -> Model:
    """Write ``OUT.joblib`` and ``OUT.json``; return the model as loaded."""
    import joblib

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for _, transformer, _ in coder.features_.transformers_:
        # Pickled as they are, these would change from process to process:
        # the terms min_df dropped (a set, never used to predict) and the
        # memory address of the stop list (a cache key of the vectorizer).
        if hasattr(transformer, "stop_words_"):
            transformer.stop_words_ = None
        if hasattr(transformer, "_stop_words_id"):
            del transformer._stop_words_id
    coder.threshold = round(float(coder.threshold), 4)
    buffer = io.BytesIO()
    joblib.dump(coder, buffer, compress=3)
    data = buffer.getvalue()
    meta = {
        **manifest,
        "labels": list(coder.labels_),
        "threshold": coder.threshold,
        "hyperparameters": {k: v for k, v in coder.get_params().items() if k != "labels"},
        "sha256": hashlib.sha256(data).hexdigest(),
        "model_sha256": coder.content_hash(),
    }
    tmp = out.with_suffix(".joblib.tmp")
    tmp.write_bytes(data)
    tmp.replace(out.with_suffix(".joblib"))
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return load_model(out)


def load_model(path: str | Path) -> Model:
    """The model at ``path`` (with or without its suffix); ModelError if it
    is missing, damaged or not the file its manifest describes."""
    import joblib

    base = Path(path)
    if base.suffix in (".joblib", ".json"):
        base = base.with_suffix("")
    blob, manifest_path = base.with_suffix(".joblib"), base.with_suffix(".json")
    if not blob.is_file() or not manifest_path.is_file():
        raise ModelError(
            f"{base}: no model here (expected {blob.name} and {manifest_path.name}; "
            "train one with `analysis train`, or pass --model none for the rules alone)"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ModelError(f"{manifest_path}: not a model manifest ({exc})") from exc
    data = blob.read_bytes()
    if hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
        raise ModelError(
            f"{blob}: its sha256 is not the one {manifest_path.name} records: "
            "the file is damaged or was replaced; train it again"
        )
    coder = joblib.load(io.BytesIO(data))
    if not isinstance(coder, LearnedCoder):
        raise ModelError(f"{blob}: not a learned coder of this version: train it again")
    model = as_model(
        coder, path=str(base), version=str(manifest.get("version", "")), manifest=manifest
    )
    if model.sha256 != manifest.get("model_sha256"):
        raise ModelError(
            f"{blob}: computes another model than {manifest_path.name} records "
            "(model_sha256): train it again"
        )
    return model
