"""Estimates: the counts corrected for the coder's measured error, with
intervals a researcher can defend.

Takes the claims table (:mod:`analysis.extract`) and an :class:`ErrorBasis`:
what a validation sample says of the coder, article by article (the units
of :func:`analysis.validation.agreement.validation_units`), either the
shipped model's leave-one-site-out folds (in its manifest) or a sample of
the user's own articles coded by a trained coder. Returns tidy tables:

- :func:`error_rates` (``schema.RATE_COLUMNS``): per claim type, then per
  category, the coder's precision and recall on the chart-cell units
  (claim x procedure x condition: a claim is right only where it lands in
  the right cell);
- :func:`cell_estimates` (``schema.ESTIMATE_COLUMNS``): per (procedure,
  condition, type) cell, per procedure and type over all conditions
  (condition ``all``), the observed claims, the estimate corrected for
  misclassification, and its 95 % interval;
- :func:`share_estimates` (``schema.SHARE_ESTIMATE_COLUMNS``): per
  procedure, condition or pair, the share of articles making each type of
  claim, observed and corrected.

The correction is the ratio of the validation's trained-coder units to the
coder's, per type: the coder's count times precision over recall (what a
count keeps of the true claims, and what it adds). A share of articles is
corrected by the Rogan-Gladen estimator (prevalence under known sensitivity
and specificity). The intervals come from scipy's bootstrap over two
independent samples: the corpus's articles (the sampling of articles) and
the validation's sites (the uncertainty of the error rates; a site's
articles are resampled together, as they were measured together). See
TeBlunthuis, Hase & Chan (2024) and Bachl & Scharkow (2017) for why
validation data should correct estimates, not only describe accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import config
from analysis.schema import (
    ARTICLE_UNIT_COLUMNS,
    ESTIMATE_COLUMNS,
    RATE_COLUMNS,
    SHARE_ESTIMATE_COLUMNS,
    UNIT_COLUMNS,
    claim_key,
    claim_types,
)

RESAMPLES = 999
CONFIDENCE = 0.95
ALL = "all"  # the condition of a procedure's total over its conditions


@dataclass(frozen=True)
class ErrorBasis:
    """Where the coder's error rates come from, and the units they are
    computed from (``schema.UNIT_COLUMNS`` and ``ARTICLE_UNIT_COLUMNS``)."""

    name: str  # said on every page: "leave-one-site-out folds: 70 articles, 35 sites"
    kind: str  # "folds" (the shipped model's) or "validation" (the user's sample)
    units: pd.DataFrame = field(repr=False)
    articles: pd.DataFrame = field(repr=False)
    # content hashes of the articles the coder was trained on
    trained_on: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def n_articles(self) -> int:
        return int(self.units["doc"].nunique()) if len(self.units) else 0

    @property
    def n_sites(self) -> int:
        return int(self.units["site"].nunique()) if len(self.units) else 0


def basis_of_model(model: object) -> ErrorBasis | None:
    """The error basis a model's manifest records (its site folds), or None
    for the rules alone or a model trained without them."""
    manifest = getattr(model, "manifest", None) or {}
    validation = manifest.get("validation")
    if not validation:
        return None
    units = pd.DataFrame(validation.get("units", []), columns=UNIT_COLUMNS)
    articles = pd.DataFrame(validation.get("articles", []), columns=ARTICLE_UNIT_COLUMNS)
    trained = frozenset(d["sha256"] for d in manifest.get("documents", []))
    name = (
        f"the coder's leave-one-site-out cross-validation: {units['doc'].nunique()} coded "
        f"articles from {units['site'].nunique()} websites, each coded by a model that never "
        "saw its website"
    )
    return ErrorBasis(name, "folds", units, articles, trained)


def basis_of_sample(
    gold: pd.DataFrame, claims: pd.DataFrame, source: str, trained_on: frozenset[str] = frozenset()
) -> ErrorBasis:
    """The error basis of a validation sample: a trained coder's coding of
    some articles (a codings table) against the claims the coder made in
    them. Each article is its own site."""
    from analysis.schema import fold_claims
    from analysis.validation.agreement import validation_units

    docs = set(gold["doc"])
    coded = fold_claims(claims[claims["doc"].isin(docs)])
    units, articles = validation_units(gold, coded)
    name = f"your validation sample ({source}): {len(docs)} articles coded by hand"
    return ErrorBasis(name, "validation", units, articles, trained_on)


def in_sample(documents: pd.DataFrame, basis: ErrorBasis | None) -> pd.DataFrame:
    """The documents the coder was trained on (by content hash): counts on
    them show how well it fits its training data, not how well it codes."""
    if basis is None or not basis.trained_on or "sha256" not in documents:
        return documents.iloc[0:0]
    return documents[documents["sha256"].isin(basis.trained_on)]


# ---------------------------------------------------------------- rates


def error_rates(basis: ErrorBasis) -> pd.DataFrame:
    """Precision and recall per type (``category`` "") and per category."""
    units = basis.units
    rows = []
    for keys, level in ((["type"], "type"), (["type", "category"], "category")):
        for key, group in units.groupby(keys, sort=True):
            key = key if isinstance(key, tuple) else (key,)
            predicted, coded, agreed = (
                int(group[c].sum()) for c in ("predicted", "coded", "agreed")
            )
            precision = agreed / predicted if predicted else float("nan")
            recall = agreed / coded if coded else float("nan")
            f1 = 2 * agreed / (predicted + coded) if predicted + coded else float("nan")
            rows.append(
                {
                    "type": key[0],
                    "category": key[1] if level == "category" else "",
                    "precision": precision,
                    "recall": recall,
                    "f1": f1,
                    "predicted": predicted,
                    "coded": coded,
                    "articles": int(group.loc[group["coded"] > 0, "doc"].nunique()),
                    "basis": basis.kind,
                }
            )
    return pd.DataFrame(rows, columns=RATE_COLUMNS)


# ---------------------------------------------------------------- counts


def _cells(claims: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """The cells (procedure, condition, type), with ``all`` for a procedure's
    total, and a (documents x cells) matrix of the distinct claims each
    article adds to each."""
    keyed = claims.assign(_claim=claim_key(claims))
    totals = keyed.assign(condition=ALL).drop_duplicates(["_claim", "procedure"])
    both = pd.concat([keyed.drop_duplicates(["_claim", "procedure", "condition"]), totals])
    per_doc = both.groupby(["doc", "procedure", "condition", "type"]).size()
    wide = per_doc.unstack(["procedure", "condition", "type"], fill_value=0)
    cells = wide.columns.to_frame(index=False)
    return cells, wide.to_numpy(dtype=np.float64), list(wide.index)


def _site_tallies(
    units: pd.DataFrame, types: tuple[str, ...], columns: tuple[str, ...]
) -> np.ndarray:
    """(sites x types x columns) sums of a units table, in ``types`` order."""
    sites = sorted(units["site"].unique())
    out = np.zeros((len(sites), len(types), len(columns)))
    index = {s: i for i, s in enumerate(sites)}
    where = {t: j for j, t in enumerate(types)}
    summed = units.groupby(["site", "type"])[list(columns)].sum()
    for (site, t), row in summed.iterrows():
        if t in where:
            out[index[site], where[t]] = row.to_numpy(dtype=np.float64)
    return out


def _drawn_sum(table: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """``table[drawn].sum(axis=drawn.ndim - 1)``: the rows of ``table`` that
    each resample of ``drawn`` (..., draws) draws, summed, as (times each
    row is drawn) @ ``table``, without the rows themselves: ``table[drawn]``
    of every resample at once took resamples x the table's size (1 GB for
    999 resamples of 500 articles' claim counts). The same sums: the
    tables hold whole numbers, which float64 adds exactly."""
    rows = drawn.reshape(-1, drawn.shape[-1])
    n = table.shape[0]
    at = rows + n * np.arange(rows.shape[0])[:, None]
    times = np.bincount(at.ravel(), minlength=rows.shape[0] * n).reshape(rows.shape[0], n)
    summed = np.tensordot(times.astype(np.float64), table.astype(np.float64), axes=([1], [0]))
    return summed.astype(table.dtype).reshape(drawn.shape[:-1] + table.shape[1:])


def _bootstrap(statistic, n_docs: int, n_sites: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of ``statistic(doc_index, site_index)``, resampling
    the corpus's articles and the validation's sites independently (a sample
    of one is held fixed: it has nothing to resample)."""
    from scipy.stats import bootstrap

    names = [name for name, n in (("docs", n_docs), ("sites", n_sites)) if n >= 2]
    fixed = {"docs": np.arange(n_docs), "sites": np.arange(n_sites)}
    whole = statistic(fixed["docs"], fixed["sites"])
    if not names:  # one article and one site: no interval to speak of
        return np.full(np.shape(whole), np.nan), np.full(np.shape(whole), np.nan)

    def resampled(*drawn: np.ndarray, axis: int = -1) -> np.ndarray:
        chosen = {**fixed, **dict(zip(names, drawn, strict=True))}
        return statistic(chosen["docs"], chosen["sites"])

    result = bootstrap(
        tuple(fixed[name] for name in names),
        resampled,
        vectorized=True,
        paired=False,
        n_resamples=RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    return result.confidence_interval.low, result.confidence_interval.high


def cell_estimates(
    claims: pd.DataFrame, basis: ErrorBasis, seed: int = config.SEED
) -> pd.DataFrame:
    """Per cell: observed claims, the estimate corrected for the coder's
    error, and its 95 % interval (see the module docstring)."""
    if claims.empty or basis.units.empty:
        return pd.DataFrame(columns=ESTIMATE_COLUMNS)
    cells, counts, _ = _cells(claims)
    types = claim_types(claims)
    tallies = _site_tallies(basis.units, types, ("predicted", "coded"))
    type_of_cell = cells["type"].map({t: j for j, t in enumerate(types)}).to_numpy()

    def ratio(v: np.ndarray) -> np.ndarray:  # (..., types): coded over predicted units
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(v[..., 0] > 0, v[..., 1] / v[..., 0], 1.0)

    def statistic(di: np.ndarray, si: np.ndarray, axis: int = -1) -> np.ndarray:
        observed = _drawn_sum(counts, di)  # (..., cells)
        factor = ratio(tallies[si].sum(axis=-3))[..., type_of_cell]
        return np.moveaxis(observed * factor, -1, 0)

    observed = counts.sum(axis=0)
    estimate = observed * ratio(tallies.sum(axis=0))[type_of_cell]
    low, high = _bootstrap(statistic, counts.shape[0], tallies.shape[0], seed)
    out = cells.assign(
        observed=observed.astype(int),
        estimate=estimate,
        low=np.fmin(low, estimate) if np.isfinite(low).any() else low,
        high=np.fmax(high, estimate) if np.isfinite(high).any() else high,
        basis=basis.kind,
    )
    return (
        out[ESTIMATE_COLUMNS].sort_values(["procedure", "condition", "type"]).reset_index(drop=True)
    )


# ---------------------------------------------------------------- shares


SHARE_LEVELS = {
    "procedure": ["procedure"],
    "condition": ["condition"],
    "pair": ["procedure", "condition"],
}


def share_estimates(
    claims: pd.DataFrame, basis: ErrorBasis, level: str = "procedure", seed: int = config.SEED
) -> pd.DataFrame:
    """Per procedure, condition or pair: the share of the articles discussing
    it that make each type of claim, observed and corrected by the
    Rogan-Gladen estimator with the coder's article-level sensitivity and
    specificity, and a 95 % interval (see the module docstring)."""
    by = SHARE_LEVELS[level]
    if claims.empty or basis.articles.empty:
        return pd.DataFrame(columns=SHARE_ESTIMATE_COLUMNS)
    types = claim_types(claims)
    scope = claims[claims["condition"] != ""] if level != "procedure" else claims
    groups = scope.groupby(by, sort=True)["doc"].unique()
    docs = sorted(set(scope["doc"]))
    doc_index = {d: i for i, d in enumerate(docs)}
    # (docs x groups) discussed, and (docs x groups x types) makes the claim
    discussed = np.zeros((len(docs), len(groups)))
    makes = np.zeros((len(docs), len(groups), len(types)))
    type_index = {t: j for j, t in enumerate(types)}
    for g, (key, members) in enumerate(groups.items()):
        for d in members:
            discussed[doc_index[d], g] = 1
        key = key if isinstance(key, tuple) else (key,)
        mask = np.ones(len(scope), dtype=bool)
        for column, value in zip(by, key, strict=True):
            mask &= (scope[column] == value).to_numpy()
        for d, t in scope.loc[mask, ["doc", "type"]].drop_duplicates().itertuples(index=False):
            makes[doc_index[d], g, type_index[t]] = 1
    a = basis.articles
    a = a.assign(
        tp=a["predicted"] * a["coded"],
        pos=a["coded"],
        tn=(1 - a["predicted"]) * (1 - a["coded"]),
        neg=1 - a["coded"],
    )
    tallies = _site_tallies(a, types, ("tp", "pos", "tn", "neg"))

    def corrected(share: np.ndarray, v: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            sensitivity = np.where(v[..., 1] > 0, v[..., 0] / v[..., 1], 1.0)
            specificity = np.where(v[..., 3] > 0, v[..., 2] / v[..., 3], 1.0)
            youden = sensitivity + specificity - 1
            out = np.where(youden > 0, (share + specificity - 1) / youden, share)
        return np.clip(out, 0.0, 1.0)

    def shares(di: np.ndarray) -> np.ndarray:  # (..., groups, types)
        n = _drawn_sum(discussed, di)
        with np.errstate(divide="ignore", invalid="ignore"):
            return _drawn_sum(makes, di) / n[..., None]

    def statistic(di: np.ndarray, si: np.ndarray, axis: int = -1) -> np.ndarray:
        share = np.nan_to_num(shares(di))
        v = tallies[si].sum(axis=-3)[..., None, :, :]  # (..., 1, types, 4)
        est = corrected(share, v)
        return np.moveaxis(est.reshape(*est.shape[:-2], -1), -1, 0)

    observed = shares(np.arange(len(docs)))
    estimate = corrected(observed, tallies.sum(axis=0)[None, :, :])
    low, high = _bootstrap(statistic, len(docs), tallies.shape[0], seed)
    low, high = low.reshape(observed.shape), high.reshape(observed.shape)
    rows = []
    for g, key in enumerate(groups.index):
        key = key if isinstance(key, tuple) else (key,)
        named = dict(zip(by, key, strict=True))
        for t, j in type_index.items():
            rows.append(
                {
                    "level": level,
                    "procedure": named.get("procedure", ""),
                    "condition": named.get("condition", ""),
                    "type": t,
                    "articles": int(discussed[:, g].sum()),
                    "observed": float(observed[g, j]),
                    "estimate": float(estimate[g, j]),
                    "low": float(np.fmin(low[g, j], estimate[g, j]))
                    if low[g, j] == low[g, j]
                    else np.nan,
                    "high": float(np.fmax(high[g, j], estimate[g, j]))
                    if high[g, j] == high[g, j]
                    else np.nan,
                    "basis": basis.kind,
                }
            )
    return pd.DataFrame(rows, columns=SHARE_ESTIMATE_COLUMNS)


# ---------------------------------------------------------------- for a page


@dataclass
class Accuracy:
    """What every page says of the coder's error: where the error rates come
    from, the rates, the corrected counts and shares, and the documents of
    the corpus the coder was trained on."""

    basis: str
    kind: str  # "folds", "validation", or "" when nothing measured the coder
    rates: pd.DataFrame  # RATE_COLUMNS
    estimates: pd.DataFrame  # ESTIMATE_COLUMNS
    shares: pd.DataFrame  # SHARE_ESTIMATE_COLUMNS
    in_sample: list[str]  # docs of the corpus among the coder's training articles
    documents: int  # documents of the corpus

    def recall(self) -> dict[str, float]:
        """Recall per claim type."""
        types = self.rates[self.rates["category"] == ""]
        return dict(zip(types["type"], types["recall"].astype(float), strict=True))

    def to_json(self) -> dict:
        return {
            "basis": self.basis,
            "kind": self.kind,
            "in_sample": self.in_sample,
            "documents": self.documents,
        }


NOT_MEASURED = (
    "nothing: the codebook's rules alone code this corpus, and no validation sample was given"
)


def accuracy_of(
    claims: pd.DataFrame, documents: pd.DataFrame, basis: ErrorBasis | None
) -> Accuracy:
    """Everything a page says of the coder's error (see :class:`Accuracy`)."""
    trained = in_sample(documents, basis)["doc"].astype(str).tolist()
    if basis is None or basis.units.empty:
        empty = pd.DataFrame(columns=RATE_COLUMNS)
        return Accuracy(
            NOT_MEASURED,
            "",
            empty,
            pd.DataFrame(columns=ESTIMATE_COLUMNS),
            pd.DataFrame(columns=SHARE_ESTIMATE_COLUMNS),
            trained,
            len(documents),
        )
    shares = pd.concat(
        [share_estimates(claims, basis, level) for level in SHARE_LEVELS], ignore_index=True
    )
    return Accuracy(
        basis.name,
        basis.kind,
        error_rates(basis),
        cell_estimates(claims, basis),
        shares,
        trained,
        len(documents),
    )


def error_basis(
    codebook: object,
    claims: pd.DataFrame,
    validation: str | None = None,
) -> ErrorBasis | None:
    """Where a run's error rates come from: the user's validation sample (a
    gold file coding some of the corpus's articles) when one is given, else
    the coder's own site folds (its manifest), else none (the rules alone)."""
    from pathlib import Path

    from analysis.errors import TableFormatError
    from analysis.validation.agreement import read_coding

    model_basis = basis_of_model(getattr(codebook, "model", None))
    trained = model_basis.trained_on if model_basis is not None else frozenset()
    if not validation:
        return model_basis
    gold = read_coding(validation)
    gold = gold.assign(doc=gold["doc"].map(lambda d: Path(str(d)).name))
    names = claims["doc"].map(lambda d: Path(str(d)).name)
    known = set(gold["doc"]) & set(names)
    if not known:
        raise TableFormatError(
            f"{validation}: codes none of the corpus's articles (its doc names must be "
            "the corpus's file names); give the coded sample of this corpus"
        )
    return basis_of_sample(
        gold[gold["doc"].isin(known)],
        claims.assign(doc=names),
        Path(str(validation)).name,
        trained,
    )
