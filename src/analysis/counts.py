"""Counts: how often each kind of claim is made, per procedure and condition.

Takes the claims table (:mod:`analysis.extract`) and returns tidy count
tables. Two units, used on every page, axis and table:

- ``claims``: distinct claims, as the guidelines code them: one per
  sentence, claim type and category (a sentence repeated word for word in
  one document counts once). A row of the evidence table is one claim, so
  a type's claims are the sum of its categories' and the evidence rows;
- ``articles``: documents that make the claim at least once.

:func:`count_claims` returns one row per group of the ``by`` columns
(default ``procedure, condition, type``) with ``claims`` and ``articles``.
A general claim, about the procedure and no particular condition, has
``condition == ""``; a claim attributed to two conditions counts in each.

:func:`document_profile` returns one row per document: ``doc``, ``title``,
``benefit``, ``risk``, ``uncertainty`` (claims of each type), ``benefits``,
``harms``, ``caveats`` (claims of each role: the codebook's role of each
type), ``hedged_share`` and the DISCERN-style answers ``describes_benefits``,
``describes_risks``, ``mentions_uncertainty``; given the general claims about
the procedure it also counts ``general_risk`` (harm claims) and answers
``describes_risks`` with them.

:func:`article_shares` returns, per procedure, condition or pair, the
number of articles and the share of them that make benefit, risk and
uncertainty claims, with 95 % Wilson intervals: the denominators the field
reports ("% of articles that mention risks").
"""

from __future__ import annotations

import math
from statistics import NormalDist

import pandas as pd

from analysis.schema import (
    EFFECT_ROLES,
    ROLES,
    claim_key,
    claim_types,
    document_ids,
    sentence_key,
    types_of_role,
    with_roles,
)

# A wide table's sum of the claims of each role: "benefits", "harms", "caveats".
ROLE_COLUMNS = {role: f"{role}s" for role in ROLES}

DEFAULT_BY = ("procedure", "condition", "type")


def count_claims(
    claims: pd.DataFrame, by: tuple[str, ...] | list[str] = DEFAULT_BY
) -> pd.DataFrame:
    """Claims and articles per group of ``by`` columns."""
    by = list(by)
    missing = [c for c in by if c not in claims.columns]
    if missing:
        raise KeyError(f"count_claims: the claims table has no column {missing}")
    if claims.empty:
        return pd.DataFrame(columns=[*by, "claims", "articles"])
    keyed = claims.assign(_claim=claim_key(claims))
    grouped = keyed.groupby(by, dropna=False, sort=True)
    out = grouped.agg(claims=("_claim", "nunique"), articles=("doc", "nunique"))
    return out.reset_index().sort_values([*by]).reset_index(drop=True)


def pairs(claims: pd.DataFrame) -> pd.DataFrame:
    """Procedure x condition pairs with their claims, most first."""
    counts = count_claims(claims, ["procedure", "condition"])
    return counts.sort_values(["claims", "procedure", "condition"], ascending=[False, True, True])


def add_role_sums(wide: pd.DataFrame, claims: pd.DataFrame) -> pd.DataFrame:
    """``wide`` (a column per claim type) with the claims of each role summed
    (:data:`ROLE_COLUMNS`)."""
    for role, column in ROLE_COLUMNS.items():
        types = [t for t in types_of_role(claims, role) if t in wide.columns]
        wide[column] = wide[types].sum(axis=1) if types else 0
    return wide


def balance(claims: pd.DataFrame) -> pd.DataFrame:
    """Per procedure x condition: claims per type and per role (benefits,
    harms, caveats), the risk share (harms against benefits and harms),
    hedged share, and ``general_risk``: the harm claims the same articles
    make about the procedure with no particular condition."""
    claims = with_roles(claims)
    counts = count_claims(claims, ["procedure", "condition", "type"])
    wide = counts.pivot_table(
        index=["procedure", "condition"], columns="type", values="claims", fill_value=0
    )
    types = list(claim_types(claims))
    for t in types:
        if t not in wide.columns:
            wide[t] = 0
    wide = wide[types].astype(int)
    claims_with_key = claims.assign(_sentence=sentence_key(claims))
    effect = claims_with_key[claims_with_key["role"].isin(EFFECT_ROLES)]
    hedged = (
        effect.assign(_hedged=effect["certainty"].eq("hedged"))
        .groupby(["procedure", "condition"])["_hedged"]
        .mean()
    )
    out = add_role_sums(wide.reset_index(), claims)
    total = out["benefits"] + out["harms"]
    out["risk_share"] = (out["harms"] / total.where(total > 0)).fillna(0.0)
    out["hedged_share"] = (
        out.set_index(["procedure", "condition"]).index.map(hedged).to_series().fillna(0.0).values
    )
    out["general_risk"] = [
        general_risk(claims, r.procedure, claims.loc[pair_mask(claims, r), "doc"])
        for r in out.itertuples()
    ]
    return out


def pair_mask(claims: pd.DataFrame, row: object) -> pd.Series:
    return (claims["procedure"] == row.procedure) & (claims["condition"] == row.condition)


def risks_of(claims: pd.DataFrame, procedure: str, docs=None) -> pd.DataFrame:
    """The harm claims about ``procedure`` (in ``docs``, when given)."""
    claims = with_roles(claims)
    mask = (claims["procedure"] == procedure) & (claims["role"] == "harm")
    if docs is not None:
        mask &= claims["doc"].isin(set(docs))
    return claims[mask]


def n_claims(claims: pd.DataFrame) -> int:
    """Distinct claims of a claims table (see the module docstring)."""
    return int(claim_key(claims).nunique()) if len(claims) else 0


def general_risk(claims: pd.DataFrame, procedure: str, docs: pd.Series | list[str]) -> int:
    """Risk claims about ``procedure`` with no particular condition, in ``docs``:
    a general risk applies to every condition an article discusses it for."""
    risks = risks_of(claims, procedure, docs)
    return n_claims(risks[risks["condition"] == ""])


def general_risks(claims: pd.DataFrame, procedure: str, docs: list[str]) -> list[int]:
    """:func:`general_risk` of each document of ``docs`` on its own, in one
    grouping of the claims instead of one pass over them per document."""
    risks = risks_of(claims, procedure, docs)
    general = risks[risks["condition"] == ""]
    if general.empty:
        return [0 for _ in docs]
    per_doc = general.assign(_claim=claim_key(general)).groupby("doc")["_claim"].nunique()
    return [int(per_doc.get(d, 0)) for d in docs]


def other_risk(
    claims: pd.DataFrame, procedure: str, condition: str, docs: pd.Series | list[str]
) -> int:
    """Risk claims about ``procedure`` for conditions other than ``condition``
    (and not general), in ``docs``."""
    risks = risks_of(claims, procedure, docs)
    return n_claims(risks[~risks["condition"].isin(["", condition])])


def document_profile(
    claims: pd.DataFrame,
    documents: pd.DataFrame,
    general: pd.DataFrame | None = None,
    procedure_claims: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per document: claims per type and role and the DISCERN-style
    answers. For a deep dive's pair: ``general`` are the claims about the
    same procedure with no particular condition, ``procedure_claims`` every
    claim about the procedure in those articles, under any condition. An
    article describes risks of the procedure when it makes a harm claim
    about it at all: for this condition, in general (``general_risk``) or
    for another condition (``other_risk``); "no risk" is never said of an
    article that names one."""
    base = documents[["doc", "title"]].copy()
    base.insert(1, "id", document_ids(documents).reindex(base["doc"]).to_numpy())
    claims = with_roles(claims)
    counts = count_claims(claims, ["doc", "type"]) if not claims.empty else None
    for t in claim_types(claims):
        if counts is None:
            base[t] = 0
            continue
        per = counts[counts["type"] == t].set_index("doc")["claims"]
        base[t] = base["doc"].map(per).fillna(0).astype(int)
    if claims.empty:
        base["hedged_share"] = 0.0
    else:
        effect = claims[claims["role"].isin(EFFECT_ROLES)]
        share = effect.assign(h=effect["certainty"].eq("hedged")).groupby("doc")["h"].mean()
        base["hedged_share"] = base["doc"].map(share).fillna(0.0)

    def harms_per_doc(table: pd.DataFrame | None) -> pd.Series:
        if table is None or table.empty:
            return pd.Series(dtype=int)
        table = with_roles(table)
        risks = table[table["role"] == "harm"]
        return risks.assign(_c=claim_key(risks)).groupby("doc")["_c"].nunique()

    base["general_risk"] = base["doc"].map(harms_per_doc(general)).fillna(0).astype(int)
    other = None
    if procedure_claims is not None and not procedure_claims.empty:
        own = set(claims["condition"]) | {""}
        other = procedure_claims[~procedure_claims["condition"].isin(own)]
    base["other_risk"] = base["doc"].map(harms_per_doc(other)).fillna(0).astype(int)
    base = add_role_sums(base, claims)
    base["describes_benefits"] = base["benefits"] > 0
    base["describes_risks"] = (base["harms"] + base["general_risk"] + base["other_risk"]) > 0
    base["mentions_uncertainty"] = base["caveats"] > 0
    return base


MATRIX_ROWS = {"category": ["type", "category"], "condition": ["condition"]}


def matrix(claims: pd.DataFrame, documents: pd.DataFrame, rows: str = "category") -> pd.DataFrame:
    """The code x document matrix a QDA tool shows: one row per category
    (``rows="category"``: ``type, category``) or condition (``"condition"``;
    "" is no particular condition), one column per document of
    ``documents`` (named by ``doc``, in their order, articles with no claim
    too), and in each cell the claims of that row in that document."""
    keys = MATRIX_ROWS[rows]
    docs = list(documents["doc"])
    if claims.empty:
        return pd.DataFrame(columns=[*keys, *docs])
    counted = count_claims(claims, [*keys, "doc"])
    wide = counted.pivot_table(index=keys, columns="doc", values="claims", fill_value=0)
    wide = wide.reindex(columns=docs, fill_value=0).astype(int)
    return wide.reset_index().rename_axis(columns=None)


def cooccurrence(profile: pd.DataFrame) -> pd.DataFrame:
    """Which kinds of claim the articles of a :func:`document_profile` make
    together: per combination ("benefit, no risk", ...), the articles and
    their titles. A general risk of the procedure counts as a risk."""
    combos = {
        "benefits and risks": profile["describes_benefits"] & profile["describes_risks"],
        "benefits, no risk detected at all (for no condition, nor in general)": profile[
            "describes_benefits"
        ]
        & ~profile["describes_risks"],
        "risks, no benefit": ~profile["describes_benefits"] & profile["describes_risks"],
        "benefits, no uncertainty": profile["describes_benefits"]
        & ~profile["mentions_uncertainty"],
    }
    return pd.DataFrame(
        [
            {
                "articles making": name,
                "articles": int(mask.sum()),
                "titles": "; ".join(profile.loc[mask, "title"].astype(str)),
            }
            for name, mask in combos.items()
        ]
    )


SHARE_LEVELS = {
    "procedure": ["procedure"],
    "condition": ["condition"],
    "pair": ["procedure", "condition"],
}


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of k successes in n (Newcombe 1998, method
    3), as scipy's ``binomtest(k, n).proportion_ci(method="wilson")`` gives
    it (a test holds the two equal): its formula is written out here because
    importing scipy.stats for it took 0.6-0.9 s of every overview's kernel."""
    if n == 0:
        return (float("nan"), float("nan"))
    z = NormalDist().inv_cdf(0.5 + 0.5 * confidence)
    p = k / n
    denom = 2 * (n + z**2)
    center = (2 * n * p + z**2) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z**2)
    return (0.0 if k == 0 else center - delta, 1.0 if k == n else center + delta)


def article_shares(claims: pd.DataFrame, level: str = "procedure") -> pd.DataFrame:
    """Per procedure, condition or pair (``level``): the articles that make
    any claim about it, and for each type the articles making such a claim,
    their share and its 95 % Wilson interval. At the pair level an article's
    general risk claims about the procedure count as risk claims for the pair."""
    by = SHARE_LEVELS[level]
    columns = [*by, "articles"]
    claims = with_roles(claims)
    types = claim_types(claims)
    harms = set(types_of_role(claims, "harm"))
    for t in types:
        columns += [f"{t}_articles", f"{t}_share", f"{t}_low", f"{t}_high"]
    if claims.empty:
        return pd.DataFrame(columns=columns)
    specific = claims[claims["condition"] != ""] if level != "procedure" else claims
    rows = []
    for key, group in specific.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        docs = set(group["doc"])
        row = dict(zip(by, key, strict=True))
        row["articles"] = len(docs)
        for t in types:
            making = set(group.loc[group["type"] == t, "doc"])
            if t in harms and level == "pair":
                risks = risks_of(claims, row["procedure"], docs)
                risks = risks[risks["type"] == t]
                making |= set(risks.loc[risks["condition"] == "", "doc"])
            low, high = wilson(len(making), len(docs))
            row |= {
                f"{t}_articles": len(making),
                f"{t}_share": len(making) / len(docs),
                f"{t}_low": low,
                f"{t}_high": high,
            }
        rows.append(row)
    return pd.DataFrame(rows, columns=columns).sort_values(
        ["articles", *by], ascending=[False, *[True] * len(by)]
    )
