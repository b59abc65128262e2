"""The learned coder: which (type, category) claims a sentence makes.

A scikit-learn pipeline over the features table (:mod:`analysis.features`):
word uni- and bigrams of the sentence, words of its context and of its
neighbours (TF-IDF), and the
codebook's cue families and the page's layout as binary features, into one
logistic regression per (type, category), with balanced class weights. A
category is claimed when its probability reaches the threshold chosen by
grouped cross-validation (:mod:`analysis.train`).

On disk a model is two files: ``NAME.joblib`` (the fitted pipeline) and
``NAME.json`` (its manifest: version, the file's sha256 for integrity, the
model's content hash (``model_sha256``: its vocabularies, weights, labels
and threshold, the same for the same training inputs whatever the pickle's
bytes), the threshold,
the training data's hashes and the cross-validated figures). The shipped
model lives in the package (``analysis/models/coder``); ``analysis train``
rebuilds it. A model file is a pickle: load only models you trained or got
from a source you trust, as you would run their code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import ModelError

SEED = 0
# Weight of the context's and the neighbours' words beside the sentence's
# own, and the regularisation of every per-category regression (chosen on the
# leave-one-site-out folds: neighbours at 0.25 gave category F1 0.524 against
# 0.513 without them, 0.520 at 0.5 and 0.510 at 1).
CONTEXT_WEIGHT = 1.0
NEIGHBOUR_WEIGHT = 0.25
C = 16.0
# How many of the heaviest terms explain a learned decision.
EXPLAIN_TERMS = 3


@dataclass(frozen=True)
class Model:
    path: str
    version: str
    sha256: str  # content hash: what claim rows and the cache key record
    labels: tuple[str, ...]  # "type/category"
    threshold: float
    pipeline: Any = field(repr=False)
    manifest: dict = field(repr=False, default_factory=dict)
    # The fitted regressions as one (features x labels) matrix and a bias
    # row, and the feature names: derived from the pipeline by from_pipeline.
    weights: Any = field(repr=False, default=None)
    bias: Any = field(repr=False, default=None)
    names: Any = field(repr=False, default=None)


def from_pipeline(
    pipeline: Any, labels: list[str] | tuple[str, ...], threshold: float, **meta: Any
) -> Model:
    """A model of a fitted pipeline, its regressions gathered for speed."""
    estimators = pipeline.named_steps["classify"].estimators_
    names = pipeline.named_steps["features"].get_feature_names_out()
    weights = np.zeros((len(names), len(labels)), dtype=np.float64)
    bias = np.zeros(len(labels), dtype=np.float64)
    for j, estimator in enumerate(estimators):
        if hasattr(estimator, "coef_"):
            weights[:, j] = np.ravel(estimator.coef_)
            bias[j] = float(np.ravel(estimator.intercept_)[0])
        else:  # a label never seen in training: a constant probability
            p = float(np.clip(np.ravel(estimator.y_)[0], 1e-9, 1 - 1e-9))
            bias[j] = np.log(p / (1 - p))
    short = np.array([n.split("__", 1)[-1] for n in names], dtype=object)
    return Model(
        path=meta.get("path", ""),
        version=meta.get("version", ""),
        sha256=content_hash(pipeline, labels, threshold, weights, bias),
        labels=tuple(labels),
        threshold=float(threshold),
        pipeline=pipeline,
        manifest=meta.get("manifest", {}),
        weights=weights,
        bias=bias,
        names=short,
    )


def build_pipeline() -> Any:
    """An unfitted pipeline (features table -> one probability per label)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import Pipeline

    def words() -> TfidfVectorizer:
        return TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, dtype=np.float32)

    columns = ColumnTransformer(
        [
            ("text", words(), "text"),
            ("context", TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32), "context"),
            (
                "neighbours",
                TfidfVectorizer(min_df=2, sublinear_tf=True, dtype=np.float32),
                "neighbours",
            ),
            ("cues", DictVectorizer(), "cues"),
        ],
        transformer_weights={
            "text": 1.0,
            "context": CONTEXT_WEIGHT,
            "neighbours": NEIGHBOUR_WEIGHT,
            "cues": 1.0,
        },
    )
    regression = LogisticRegression(
        C=C, class_weight="balanced", solver="liblinear", max_iter=2000, random_state=SEED
    )
    return Pipeline([("features", columns), ("classify", OneVsRestClassifier(regression))])


def content_hash(
    pipeline: Any, labels: Any, threshold: float, weights: np.ndarray, bias: np.ndarray
) -> str:
    """sha256 of what the model computes: vocabularies, idf weights, the
    regressions, labels and threshold. A pickle's bytes also depend on which
    equal strings the process happened to share, so they are no identity."""
    h = hashlib.sha256(json.dumps([list(labels), round(float(threshold), 6)]).encode())
    for name, transformer, _ in pipeline.named_steps["features"].transformers_:
        vocabulary = getattr(transformer, "vocabulary_", {})
        h.update(name.encode())
        h.update(json.dumps(sorted((str(k), int(v)) for k, v in vocabulary.items())).encode())
        idf = getattr(transformer, "idf_", None)
        if idf is not None:
            h.update(np.ascontiguousarray(idf, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(weights).tobytes())
    h.update(np.ascontiguousarray(bias).tobytes())
    return h.hexdigest()


def transform(model: Model, features: pd.DataFrame) -> Any:
    """The sparse feature matrix of a features table. The fitted vectorizers
    are called one by one: the column transformer's machinery costs more
    than the work on a single page."""
    from scipy import sparse

    columns = model.pipeline.named_steps["features"]
    weights = columns.transformer_weights or {}
    parts = [
        transformer.transform(features[column]) * weights.get(name, 1.0)
        for name, transformer, column in columns.transformers_
        if transformer not in ("drop", "passthrough")
    ]
    return sparse.hstack(parts, format="csr")


def probabilities(model: Model, features: pd.DataFrame) -> np.ndarray:
    """(sentences x labels) probabilities of a features table: each label's
    logistic regression, as its ``predict_proba`` gives it."""
    if features.empty:
        return np.zeros((0, len(model.labels)))
    return decide(model, features)[0]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z)))


def decide(model: Model, features: pd.DataFrame) -> tuple[np.ndarray, Any]:
    """(probabilities, feature matrix) of a features table."""
    x = transform(model, features)
    return _sigmoid(x @ model.weights + model.bias), x


def top_terms(model: Model, x: Any, row: int, label: str) -> list[str]:
    """The features of sentence ``row`` of ``x`` that weigh most for ``label``."""
    j = model.labels.index(label)
    start, end = x.indptr[row], x.indptr[row + 1]
    indices, data = x.indices[start:end], x.data[start:end]
    weights = data * model.weights[indices, j]
    order = np.argsort(-weights)[:EXPLAIN_TERMS]
    return [str(model.names[indices[k]]) for k in order if weights[k] > 0]


def save_model(
    pipeline: Any, labels: list[str], threshold: float, out: str | Path, manifest: dict
) -> Model:
    """Write ``OUT.joblib`` and ``OUT.json``; return the model as loaded."""
    import io

    import joblib

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for _, transformer, _ in pipeline.named_steps["features"].transformers_:
        # Pickled as they are, these would change from process to process:
        # the terms min_df dropped (a set, never used to predict) and the
        # memory address of the stop list (a cache key of the vectorizer).
        if hasattr(transformer, "stop_words_"):
            transformer.stop_words_ = None
        if hasattr(transformer, "_stop_words_id"):
            del transformer._stop_words_id
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=3)
    data = buffer.getvalue()
    threshold = round(float(threshold), 4)
    meta = {
        **manifest,
        "labels": list(labels),
        "threshold": threshold,
        "sha256": hashlib.sha256(data).hexdigest(),
        "model_sha256": from_pipeline(pipeline, labels, threshold).sha256,
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
    sha = hashlib.sha256(data).hexdigest()
    if sha != manifest.get("sha256"):
        raise ModelError(
            f"{blob}: its sha256 is not the one {manifest_path.name} records: "
            "the file is damaged or was replaced; train it again"
        )
    import io

    pipeline = joblib.load(io.BytesIO(data))
    model = from_pipeline(
        pipeline,
        manifest["labels"],
        manifest["threshold"],
        path=str(base),
        version=str(manifest.get("version", "")),
        manifest=manifest,
    )
    if model.sha256 != manifest.get("model_sha256"):
        raise ModelError(
            f"{blob}: computes another model than {manifest_path.name} records "
            "(model_sha256): train it again"
        )
    return model
