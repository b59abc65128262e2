"""The learned coder: which (type, category) claims a sentence makes.

A pipeline component (:mod:`analysis.coding`) and the fitted coder as data
(:class:`Coder`). The scikit-learn estimator that learns it,
:class:`analysis.coding.estimator.LearnedCoder`, follows the estimator
contract and is a :class:`Coder` once fitted; coding with a model loaded
from disk never imports scikit-learn (0.9 s of every process that codes).
A coder reads the features table (:mod:`analysis.coding.features`) and
returns one probability per label ("type/category"):

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

On disk a model is data, never code: ``NAME.json`` (its manifest: version,
hyperparameters, each step's vocabulary, the arrays' sha256 for integrity,
the model's content hash (``model_sha256``: vocabularies, weights, labels
and threshold, the same for the same training inputs), the training data's
hashes, the documents it learned from, and the cross-validated figures) and
``NAME.npz`` (the idf weights and the regressions, read with
``allow_pickle=False``). Loading rebuilds the steps from the representation
the manifest names, so a model file, wherever it comes from, cannot run
code; one that is not a model is a named error. The shipped model lives in
the package (``analysis/models/coder``); ``analysis train`` rebuilds it.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import config
from analysis.codebook import Codebook
from analysis.coding.features import FEATURE_COLUMNS, label_of, page_rows
from analysis.coding.model_files import files_of
from analysis.coding.page import Claim, Page
from analysis.coding.vectors import of_kind
from analysis.errors import ModelError

# How many of the heaviest terms explain a learned decision.
EXPLAIN_TERMS = 3


# A step of the feature matrix: (name, the vectorizer's parameters, the
# features table's column it reads, its weight). Parameters with an
# ``analyzer`` are scikit-learn's ``TfidfVectorizer``'s, none are a
# ``DictVectorizer``'s: the estimator builds them from these, a fitted coder
# computes their matrices itself (:mod:`analysis.coding.vectors`).
Step = tuple[str, dict[str, Any], str, float]
TFIDF = {"min_df": 2, "sublinear_tf": True, "ngram_range": (1, 1)}


def words(params: Mapping[str, Any]) -> list[Step]:
    """Word uni- and bigrams of the sentence, words of its context and
    neighbours, and the cue and layout features."""
    return [
        ("text", {**TFIDF, "analyzer": "word", "ngram_range": (1, 2)}, "text", 1.0),
        ("context", {**TFIDF, "analyzer": "word"}, "context", params["context_weight"]),
        ("neighbours", {**TFIDF, "analyzer": "word"}, "neighbours", params["neighbour_weight"]),
        ("cues", {}, "cues", 1.0),
    ]


def words_and_chars(params: Mapping[str, Any]) -> list[Step]:
    """:func:`words`, and character 3- to 5-grams inside the sentence's words."""
    chars = {**TFIDF, "analyzer": "char_wb", "ngram_range": (3, 5), "min_df": 3}
    chars.update(max_features=25_000)  # the commonest, of those in 3 sentences or more
    return [*words(params), ("chars", chars, "text", params["char_weight"])]


REPRESENTATIONS: dict[str, Callable[[Mapping[str, Any]], list[Step]]] = {
    "words": words,
    "words+chars": words_and_chars,
}
# The hyperparameters of a coder, and their defaults (the project's).
HYPERPARAMETERS: dict[str, Any] = {
    **config.LEARNED_CODER,
    "threshold": 0.5,
    "random_state": config.SEED,
}


class Coder:
    """A fitted coder: features table -> one probability per label (see
    the module docstring), from its vocabularies, idf weights and
    regressions. ``hyperparameters`` are the estimator's (the keys of
    :data:`HYPERPARAMETERS` but the threshold)."""

    def __init__(
        self,
        labels: tuple[str, ...],
        threshold: float,
        hyperparameters: Mapping[str, Any],
        steps: list[tuple[str, Any, str, float]],
        weights: np.ndarray,
        bias: np.ndarray,
    ) -> None:
        self.labels_ = tuple(labels)
        self.threshold = threshold
        self.hyperparameters = dict(hyperparameters)
        self.representation = self.hyperparameters["representation"]
        self.steps_ = steps
        self.names_ = feature_names(steps)
        self.weights_, self.bias_ = weights, bias

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Its hyperparameters, labels and threshold, as the estimator's."""
        return {"labels": self.labels_, **self.hyperparameters, "threshold": self.threshold}

    def transform(self, X: pd.DataFrame | dict[str, list]) -> Any:  # noqa: N803
        """The sparse feature matrix of a features table (or of its columns
        as lists): each fitted vectorizer (:mod:`analysis.coding.vectors`)
        on its column, weighted, side by side."""
        from scipy import sparse

        parts = [
            transformer.transform(X[column]) * weight
            for _, transformer, column, weight in self.steps_
        ]
        return sparse.hstack(parts, format="csr")

    def decide(self, X: pd.DataFrame | dict[str, list]) -> tuple[np.ndarray, Any]:  # noqa: N803
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
        for name, transformer, _, _ in self.steps_:
            vocabulary = getattr(transformer, "vocabulary_", {})
            h.update(name.encode())
            h.update(json.dumps(sorted((str(k), int(v)) for k, v in vocabulary.items())).encode())
            idf = getattr(transformer, "idf_", None)
            if idf is not None:
                h.update(np.ascontiguousarray(idf, dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(self.weights_).tobytes())
        h.update(np.ascontiguousarray(self.bias_).tobytes())
        return h.hexdigest()


def feature_names(steps: list[tuple[str, Any, str, float]]) -> np.ndarray:
    """The feature names of fitted steps, in the order of the matrix."""
    return np.array(
        [str(n) for _, transformer, _, _ in steps for n in transformer.get_feature_names_out()],
        dtype=object,
    )


@dataclass(frozen=True)
class Model:
    """A fitted coder as shipped: the estimator with its manifest."""

    path: str
    version: str
    sha256: str  # content hash: what claim rows and the cache key record
    coder: Coder = field(repr=False)
    manifest: dict = field(repr=False, default_factory=dict)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.coder.labels_)

    @property
    def threshold(self) -> float:
        return float(self.coder.threshold)


def as_model(coder: Coder, **meta: Any) -> Model:
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
    where, rows = [], []
    for page in pages:
        index, found = page_rows(page, codebook)
        where += [(page, i) for i in index]
        rows += found
    if not where:
        return pages
    prob, x = coder.decide({column: [row[column] for row in rows] for column in FEATURE_COLUMNS})
    decided = prob >= coder.threshold
    chosen = decided.any(axis=1).tolist()  # the rows where the coder codes some label
    column = {label: j for j, label in enumerate(coder.labels_)}
    for row, (page, i) in enumerate(where):
        claims = page.claims[i]
        if not claims and not chosen[row]:
            continue  # most sentences: no claim of the rules', none of the coder's
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
# A model on disk is data, never code: NAME.json (the manifest, the
# hyperparameters and each step's vocabulary) and NAME.npz (the idf weights
# and the regressions, read with allow_pickle=False). The steps themselves
# are rebuilt from the representation the manifest names.
FILE_FORMAT = "claimscope-coder/1"


def save_model(coder: Coder, out: str | Path, manifest: dict) -> Model:
    """Write ``OUT.json`` and ``OUT.npz`` (``OUT`` taken as given: no suffix
    of its own is replaced); return the model as loaded."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    coder.threshold = round(float(coder.threshold), 4)
    arrays = {"weights": coder.weights_, "bias": coder.bias_}
    steps = []
    for name, transformer, _, _ in coder.steps_:
        vocabulary = {str(k): int(v) for k, v in transformer.vocabulary_.items()}
        steps.append({"name": name, "vocabulary": dict(sorted(vocabulary.items()))})
        if getattr(transformer, "idf_", None) is not None:
            arrays[f"idf/{name}"] = np.asarray(transformer.idf_, dtype=np.float64)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    data = buffer.getvalue()
    params = {k: v for k, v in coder.get_params().items() if k != "labels"}
    meta = {
        **manifest,
        "format": FILE_FORMAT,
        "labels": list(coder.labels_),
        "threshold": coder.threshold,
        "hyperparameters": params,
        "steps": steps,
        "sha256": hashlib.sha256(data).hexdigest(),
        "model_sha256": coder.content_hash(),
    }
    arrays_path, manifest_path = files_of(out)
    tmp = arrays_path.with_name(arrays_path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(arrays_path)
    manifest_path.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return load_model(out)


def load_model(path: str | Path) -> Model:
    """The model at ``path``; ModelError naming the file if it is missing,
    damaged, or not a model. Loading runs no code from the files: the
    manifest is JSON, the arrays are read without pickle."""
    arrays_path, manifest_path = files_of(path)
    base = arrays_path.with_suffix("")
    if not arrays_path.is_file() or not manifest_path.is_file():
        raise ModelError(
            f"{base}: no model here (expected {arrays_path.name} and {manifest_path.name}; "
            "train one with `analysis train`, or pass --model none for the rules alone)"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"{manifest_path}: not a model manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FILE_FORMAT:
        raise ModelError(
            f"{manifest_path}: not a claimscope coder of this version (format "
            f"{manifest.get('format') if isinstance(manifest, dict) else None!r}, expected "
            f"{FILE_FORMAT!r}): train it again with `analysis train`"
        )
    data = arrays_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
        raise ModelError(
            f"{arrays_path}: its sha256 is not the one {manifest_path.name} records: "
            "the file is damaged or was replaced; train it again"
        )
    try:
        coder = _rebuild(manifest, np.load(io.BytesIO(data), allow_pickle=False))
    except (KeyError, TypeError, ValueError, OSError) as exc:
        raise ModelError(f"{base}: not a model this version can read ({exc})") from exc
    model = as_model(
        coder, path=str(base), version=str(manifest.get("version", "")), manifest=manifest
    )
    if model.sha256 != manifest.get("model_sha256"):
        raise ModelError(
            f"{arrays_path}: computes another model than {manifest_path.name} records "
            "(model_sha256): train it again"
        )
    return model


def _rebuild(manifest: dict, arrays: Any) -> Coder:
    """A fitted coder from its manifest and arrays: the representation's
    steps, each given its vocabulary and idf weights."""
    params = {**HYPERPARAMETERS, **manifest["hyperparameters"]}
    unknown = sorted(set(params) - set(HYPERPARAMETERS))
    if unknown:
        raise ValueError(f"unknown hyperparameters {unknown}")
    threshold = params.pop("threshold")
    if params["representation"] not in REPRESENTATIONS:
        raise ValueError(f"unknown representation {params['representation']!r}")
    saved = {step["name"]: step for step in manifest["steps"]}
    steps = []
    for name, step_params, column, weight in REPRESENTATIONS[params["representation"]](params):
        vocabulary = {str(k): int(v) for k, v in saved[name]["vocabulary"].items()}
        idf = arrays.get(f"idf/{name}")
        idf = None if idf is None else np.asarray(idf, dtype=np.float64)
        steps.append((name, of_kind(step_params, vocabulary, idf), column, weight))
    coder = Coder(
        labels=tuple(str(label) for label in manifest["labels"]),
        threshold=threshold,
        hyperparameters=params,
        steps=steps,
        weights=np.asarray(arrays["weights"], dtype=np.float32),
        bias=np.asarray(arrays["bias"], dtype=np.float64),
    )
    if coder.weights_.shape != (len(coder.names_), len(coder.labels_)):
        raise ValueError(
            f"weights of shape {coder.weights_.shape} for {len(coder.names_)} features and "
            f"{len(coder.labels_)} labels"
        )
    return coder
