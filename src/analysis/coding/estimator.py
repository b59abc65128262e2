"""The scikit-learn estimator that learns the coder.

:class:`LearnedCoder` follows the estimator contract (``fit``,
``predict_proba``, ``predict``, ``get_params``/``set_params``), so that it
can be cross-validated with ``LeaveOneGroupOut`` and ``cross_val_predict``
like any classifier (:mod:`analysis.train`). It takes the features table
(:mod:`analysis.coding.features`) and a (sentences x labels) 0/1 matrix;
fitted, it is a :class:`~analysis.coding.learned.Coder` (its vectorizers'
vocabularies and idf weights, its regressions as one matrix), which is what
:func:`~analysis.coding.learned.save_model` writes. Only training imports
this module, and scikit-learn with it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from analysis.coding.learned import HYPERPARAMETERS as DEFAULTS
from analysis.coding.learned import REPRESENTATIONS, Coder, feature_names
from analysis.coding.vectors import from_fitted
from analysis.errors import ModelError


def vectorizers(coder: Any) -> list[tuple[str, Any, str, float]]:
    """The steps of ``coder``'s representation as unfitted scikit-learn
    vectorizers: (name, vectorizer, column, weight)."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.feature_extraction.text import TfidfVectorizer

    steps = REPRESENTATIONS[coder.representation](coder.get_params())
    return [
        (
            name,
            TfidfVectorizer(**params, dtype=np.float32)
            if "analyzer" in params
            else DictVectorizer(),
            column,
            weight,
        )
        for name, params, column, weight in steps
    ]


class LearnedCoder(ClassifierMixin, BaseEstimator, Coder):
    """Features table -> one probability per label (see
    :mod:`analysis.coding.learned`); once fitted, a :class:`Coder`.

    Parameters are the estimator's hyperparameters, recorded in the model's
    manifest and version; the defaults are the project's
    (:data:`~analysis.coding.learned.HYPERPARAMETERS`, from
    ``config.LEARNED_CODER``)."""

    def __init__(
        self,
        labels: tuple[str, ...] = (),
        representation: str = DEFAULTS["representation"],
        C: float = DEFAULTS["C"],  # noqa: N803 - scikit-learn's name
        context_weight: float = DEFAULTS["context_weight"],
        neighbour_weight: float = DEFAULTS["neighbour_weight"],
        char_weight: float = DEFAULTS["char_weight"],
        threshold: float = DEFAULTS["threshold"],
        random_state: int = DEFAULTS["random_state"],
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
        steps = vectorizers(self)
        features = ColumnTransformer(
            [(name, transformer, column) for name, transformer, column, _ in steps],
            transformer_weights={name: weight for name, _, _, weight in steps},
        )
        try:
            x = features.fit_transform(X)
        except ValueError as exc:  # no term occurs twice: nothing to learn words from
            raise ModelError(
                f"too little coded text to learn from ({len(X)} sentences: {exc}); "
                "code more articles"
            ) from None
        fitted = {name: from_fitted(t) for name, t, _ in features.transformers_}
        self.steps_ = [(name, fitted[name], column, weight) for name, _, column, weight in steps]
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
        self.names_ = feature_names(self.steps_)
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
