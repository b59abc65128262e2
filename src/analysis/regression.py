"""Group models: does the group still differ once article length and other
covariates are held?

:func:`article_outcomes` takes the claims table (:mod:`analysis.extract`)
and the documents table (:mod:`analysis.corpus`, with its ``words`` and
metadata columns) and returns one row per article (``doc, group, words,
cluster``, the covariates, and per claim type ``<type>_claims`` and
``<type>_any``; ``benefit_claims_all`` and ``harm_claims_all`` by the
codebook's roles).

:func:`group_models` fits, with statsmodels, one model per outcome with the
group and the covariates as terms and returns ``MODEL_COLUMNS``, one row
per outcome and term (the intercept left out):

- presence of a claim type in an article: logistic regression (odds ratio);
- claims of a type: Poisson regression with log(words) as offset, or a
  negative binomial one when the Poisson fit is overdispersed (Pearson
  chi-square over its residual degrees of freedom above
  ``config.OVERDISPERSION``) (rate ratio);
- the article's harm share, harm / (benefit + harm) claims: a binomial
  regression of its harm claims out of its benefit and harm claims (odds
  ratio).

Standard errors are cluster-robust by site when the documents have a
``site`` column with at least ``config.MIN_CLUSTERS`` sites, else
heteroskedasticity-robust (HC1); ``note`` says which, and why a model could
not be fitted (a group where every article, or none, makes the claim).
p-values are adjusted over every term of the table (Benjamini-Hochberg).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analysis import config
from analysis.compare import NOT_GIVEN, groups_of
from analysis.errors import GroupingError
from analysis.schema import claim_key, claim_types, with_roles

MODEL_COLUMNS = [
    "outcome",
    "model",
    "term",
    "n",
    "estimate_name",
    "estimate",
    "low",
    "high",
    "p_value",
    "p_adjusted",
    "note",
]

CLUSTER_COLUMN = "site"


def article_outcomes(
    claims: pd.DataFrame,
    documents: pd.DataFrame,
    by: str,
    covariates: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per article with a group value (see the module docstring)."""
    group = groups_of(documents, by)
    docs = documents.set_index("doc")
    table = pd.DataFrame({"doc": group.index, "group": group.to_numpy()})
    table = table[table["group"] != NOT_GIVEN].reset_index(drop=True)
    if "words" not in docs:
        raise GroupingError("the documents have no word counts (extract them again)")
    table["words"] = pd.to_numeric(docs["words"].reindex(table["doc"]), errors="coerce").to_numpy()
    table["cluster"] = (
        docs[CLUSTER_COLUMN].reindex(table["doc"]).fillna("").astype(str).to_numpy()
        if CLUSTER_COLUMN in docs
        else ""
    )
    for name in covariates:
        table[name] = covariate(documents, name).reindex(table["doc"]).to_numpy()
    keyed = with_roles(claims[claims["doc"].isin(set(table["doc"]))])
    keyed = keyed.assign(_claim=claim_key(keyed)).drop_duplicates(["doc", "_claim"])
    for t in claim_types(claims):
        n = keyed[keyed["type"] == t].groupby("doc")["_claim"].nunique()
        table[f"{t}_claims"] = n.reindex(table["doc"]).fillna(0).astype(int).to_numpy()
        table[f"{t}_any"] = (table[f"{t}_claims"] > 0).astype(int)
    for role in ("benefit", "harm"):
        n = keyed[keyed["role"] == role].groupby("doc")["_claim"].nunique()
        table[f"{role}_claims_all"] = n.reindex(table["doc"]).fillna(0).astype(int).to_numpy()
    return table


def covariate(documents: pd.DataFrame, name: str) -> pd.Series:
    """A covariate by doc: a documents column (numeric when every value given
    is a number, else a category), or ``year`` from an ISO ``date`` or
    ``published`` column. Empty values are missing."""
    from analysis.metadata import is_iso_date

    if name in documents.columns:
        values = documents[name]
    elif name == "year":
        column = next((c for c in ("date", "published") if c in documents.columns), None)
        if column is None:
            raise GroupingError("no year covariate: the documents have no date column")
        dates = documents[column].fillna("").astype(str)
        values = dates.str[:4].where(dates.map(is_iso_date), "")
    else:
        raise GroupingError(
            f"no covariate {name!r}: the documents have no such column "
            "(words, year, or a metadata column)"
        )
    text = values.fillna("").astype(str).str.strip()
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce")
    given = text != ""
    if given.any() and numbers[given].notna().all():
        return pd.Series(numbers.to_numpy(), index=documents["doc"])
    return pd.Series(text.where(given).to_numpy(), index=documents["doc"], dtype=object)


def group_models(outcomes: pd.DataFrame, by: str, covariates: tuple[str, ...] = ()) -> pd.DataFrame:
    """The models of the module docstring, one row per outcome and term."""
    from scipy.stats import false_discovery_control

    rows: list[dict] = []
    types = [c[: -len("_claims")] for c in outcomes.columns if c.endswith("_claims")]
    data = outcomes.dropna(subset=["words", *covariates])
    data = data[data["words"] > 0]
    if data["group"].nunique() < 2:
        return pd.DataFrame(columns=MODEL_COLUMNS)
    for t in types:
        rows += _fit(data, by, covariates, f"articles making {t} claims", "logistic", f"{t}_any")
        rows += _fit(data, by, covariates, f"{t} claims (per word)", "count", f"{t}_claims")
    rows += _fit(data, by, covariates, "harm share of benefit and harm claims", "share", "")
    out = pd.DataFrame(rows, columns=MODEL_COLUMNS)
    tested = out["p_value"].notna()
    if tested.any():
        out.loc[tested, "p_adjusted"] = false_discovery_control(out.loc[tested, "p_value"])
    return out


def _formula(frame: pd.DataFrame, covariates: tuple[str, ...], reference: str) -> str:
    """``y ~ group + covariates`` in safe names: the group against its
    reference level, numeric covariates as numbers, others as categories."""
    parts = [f"C(g, Treatment(reference={reference!r}))"]
    for i, _ in enumerate(covariates):
        numeric = pd.api.types.is_numeric_dtype(frame[f"x{i}"])
        parts.append(f"x{i}" if numeric else f"C(x{i})")
    return "y ~ " + " + ".join(parts)


def _label(term: str, by: str, reference: str, covariates: tuple[str, ...]) -> str:
    """A formula term as a reader reads it: ``kind: promotional (vs informational)``."""
    if term.startswith("C(g"):
        level = term.split("[T.", 1)[1].rstrip("]")
        return f"{by}: {level} (vs {reference})"
    for i, c in enumerate(covariates):
        if term == f"x{i}":
            return c
        if term.startswith(f"C(x{i})[T."):
            return f"{c}: {term.split('[T.', 1)[1].rstrip(']')}"
    return term


def _fit(
    data: pd.DataFrame,
    by: str,
    covariates: tuple[str, ...],
    outcome: str,
    kind: str,
    column: str,
) -> list[dict]:
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ModelWarning, PerfectSeparationWarning

    frame = pd.DataFrame({"g": data["group"].astype(str).to_numpy()})
    scale: dict[str, float] = {}  # numeric covariates enter standardised (the fit converges)
    for i, c in enumerate(covariates):
        values = data[c].to_numpy()
        if pd.api.types.is_numeric_dtype(data[c]):
            sd = float(np.std(values)) or 1.0
            values, scale[f"x{i}"] = (values - np.mean(values)) / sd, sd
        frame[f"x{i}"] = values
    frame["words"] = data["words"].to_numpy(dtype=float)
    frame["cluster"] = data["cluster"].to_numpy()
    if kind == "share":
        frame["benefit"] = data["benefit_claims_all"].to_numpy()
        frame["harm"] = data["harm_claims_all"].to_numpy()
        frame = frame[frame["benefit"] + frame["harm"] > 0].reset_index(drop=True)
        frame["y"] = frame["harm"] / (frame["benefit"] + frame["harm"])
    else:
        frame["y"] = data[column].to_numpy()
    reference = sorted(frame["g"].unique())[0]
    formula = _formula(frame, covariates, reference)
    n = len(frame)
    base = {"outcome": outcome, "n": n, "p_adjusted": float("nan")}
    clusters = frame["cluster"][frame["cluster"] != ""]
    if len(clusters) == n and clusters.nunique() >= config.MIN_CLUSTERS:
        codes = pd.factorize(frame["cluster"])[0]
        cov = {"cov_type": "cluster", "cov_kwds": {"groups": codes}}
        note = f"cluster-robust errors by site ({clusters.nunique()} sites)"
    else:
        cov = {"cov_type": "HC1"}
        note = (
            f"robust (HC1) errors: no {CLUSTER_COLUMN} column"
            if clusters.empty
            else f"robust (HC1) errors: fewer than {config.MIN_CLUSTERS} sites to cluster by"
        )
    by_group = frame.groupby("g")["y"]
    if kind == "logistic" and ((by_group.max() == 0) | (by_group.min() == 1)).any():
        return [
            base
            | {
                "model": "logistic",
                "term": f"{by}",
                "estimate_name": "odds ratio",
                "estimate": float("nan"),
                "low": float("nan"),
                "high": float("nan"),
                "p_value": float("nan"),
                "note": "not fitted: in a group every article, or none, makes the claim",
            }
        ]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("error", PerfectSeparationWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            if kind == "logistic":
                model_name, estimate_name = "logistic", "odds ratio"
                result = smf.glm(formula, frame, family=sm.families.Binomial()).fit(**cov)
            elif kind == "share":
                from patsy import dmatrix

                model_name, estimate_name = "binomial (harm of benefit + harm claims)", "odds ratio"
                exog = dmatrix(formula.split("~", 1)[1], frame, return_type="dataframe")
                endog = frame[["harm", "benefit"]].to_numpy()
                result = sm.GLM(endog, exog, family=sm.families.Binomial()).fit(**cov)
            else:
                estimate_name = "rate ratio"
                offset = np.log(frame["words"])
                poisson = smf.glm(formula, frame, family=sm.families.Poisson(), offset=offset).fit()
                dispersion = poisson.pearson_chi2 / max(poisson.df_resid, 1)
                if dispersion > config.OVERDISPERSION:
                    model_name = f"negative binomial (Poisson dispersion {dispersion:.1f})"
                    result = smf.negativebinomial(formula, frame, offset=offset).fit(
                        start_params=np.append(poisson.params.to_numpy(), 0.5),
                        method="bfgs",
                        disp=0,
                        maxiter=500,
                        **cov,
                    )
                else:
                    model_name = f"Poisson (dispersion {dispersion:.1f})"
                    result = smf.glm(
                        formula, frame, family=sm.families.Poisson(), offset=offset
                    ).fit(**cov)
    except (PerfectSeparationWarning, np.linalg.LinAlgError, ValueError) as exc:
        return [
            base
            | {
                "model": kind,
                "term": by,
                "estimate_name": "",
                "estimate": float("nan"),
                "low": float("nan"),
                "high": float("nan"),
                "p_value": float("nan"),
                "note": f"not fitted: {exc}",
            }
        ]
    troubles = sorted({w.category.__name__ for w in caught if issubclass(w.category, ModelWarning)})
    if troubles:
        note += "; fit warned: " + ", ".join(troubles) + " (read with care)"
    ci = result.conf_int()
    rows = []
    for term in result.params.index:
        if term in ("Intercept", "alpha"):
            continue
        per = scale.get(term, 1.0)  # back to the covariate's own unit
        rows.append(
            base
            | {
                "model": model_name,
                "term": _label(term, by, reference, covariates),
                "estimate_name": estimate_name,
                "estimate": float(np.exp(result.params[term] / per)),
                "low": float(np.exp(ci.loc[term, 0] / per)),
                "high": float(np.exp(ci.loc[term, 1] / per)),
                "p_value": float(result.pvalues[term]),
                "note": note,
            }
        )
    return rows
