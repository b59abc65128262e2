"""Counts: how often each kind of claim is made, per procedure and condition.

Takes the claims table (:mod:`analysis.extract`) and returns tidy count
tables. Two measures, as the guidelines count them:

- ``mentions``: distinct sentences making the claim; a sentence repeated
  word for word in one document counts once;
- ``documents``: documents that make the claim at least once.

:func:`count_claims` returns one row per group of the ``by`` columns
(default ``procedure, condition, type``) with ``mentions`` and ``documents``.
A general claim has ``condition == ""``.

:func:`document_profile` returns one row per document: ``doc``, ``title``,
``benefit``, ``risk``, ``uncertainty`` (mentions of each type), ``hedged_share``
and the DISCERN-style answers ``describes_benefits``, ``describes_risks``,
``mentions_uncertainty``.
"""

from __future__ import annotations

import re

import pandas as pd

TYPES = ("benefit", "risk", "uncertainty")
DEFAULT_BY = ("procedure", "condition", "type")


def sentence_key(claims: pd.DataFrame) -> pd.Series:
    """Identity of a sentence for counting: its document and its words."""
    words = claims["sentence"].map(lambda s: re.sub(r"\s+", " ", str(s)).strip().lower())
    return claims["doc"].astype(str) + "\x1f" + words


def count_claims(
    claims: pd.DataFrame, by: tuple[str, ...] | list[str] = DEFAULT_BY
) -> pd.DataFrame:
    """Mentions and documents per group of ``by`` columns."""
    by = list(by)
    missing = [c for c in by if c not in claims.columns]
    if missing:
        raise KeyError(f"count_claims: the claims table has no column {missing}")
    if claims.empty:
        return pd.DataFrame(columns=[*by, "mentions", "documents"])
    keyed = claims.assign(_sentence=sentence_key(claims))
    grouped = keyed.groupby(by, dropna=False, sort=True)
    out = grouped.agg(mentions=("_sentence", "nunique"), documents=("doc", "nunique"))
    return out.reset_index().sort_values([*by]).reset_index(drop=True)


def pairs(claims: pd.DataFrame) -> pd.DataFrame:
    """Procedure x condition pairs with their claim mentions, most first."""
    counts = count_claims(claims, ["procedure", "condition"])
    return counts.sort_values(["mentions", "procedure", "condition"], ascending=[False, True, True])


def balance(claims: pd.DataFrame) -> pd.DataFrame:
    """Per procedure x condition: mentions per type, risk share, hedged share."""
    counts = count_claims(claims, ["procedure", "condition", "type"])
    wide = counts.pivot_table(
        index=["procedure", "condition"], columns="type", values="mentions", fill_value=0
    )
    for t in TYPES:
        if t not in wide.columns:
            wide[t] = 0
    wide = wide[list(TYPES)].astype(int)
    claims_with_key = claims.assign(_sentence=sentence_key(claims))
    effect = claims_with_key[claims_with_key["type"].isin(["benefit", "risk"])]
    hedged = (
        effect.assign(_hedged=effect["certainty"].eq("hedged"))
        .groupby(["procedure", "condition"])["_hedged"]
        .mean()
    )
    out = wide.reset_index()
    total = out["benefit"] + out["risk"]
    out["risk_share"] = (out["risk"] / total.where(total > 0)).fillna(0.0)
    out["hedged_share"] = (
        out.set_index(["procedure", "condition"]).index.map(hedged).to_series().fillna(0.0).values
    )
    return out


def document_profile(claims: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """One row per document: mentions per type and the DISCERN-style answers."""
    base = documents[["doc", "title"]].copy()
    counts = count_claims(claims, ["doc", "type"]) if not claims.empty else None
    for t in TYPES:
        if counts is None:
            base[t] = 0
            continue
        per = counts[counts["type"] == t].set_index("doc")["mentions"]
        base[t] = base["doc"].map(per).fillna(0).astype(int)
    if claims.empty:
        base["hedged_share"] = 0.0
    else:
        effect = claims[claims["type"].isin(["benefit", "risk"])]
        share = effect.assign(h=effect["certainty"].eq("hedged")).groupby("doc")["h"].mean()
        base["hedged_share"] = base["doc"].map(share).fillna(0.0)
    base["describes_benefits"] = base["benefit"] > 0
    base["describes_risks"] = base["risk"] > 0
    base["mentions_uncertainty"] = base["uncertainty"] > 0
    return base
