"""The tables' contracts, in one place: every table's columns, and the one
function that folds claim rows into claims.

Each step takes and returns tidy pandas tables; their columns are named
here (the modules that make them document what each column means):

- documents (:mod:`analysis.corpus`): ``DOCUMENT_COLUMNS``, then any
  metadata columns; problems: ``PROBLEM_COLUMNS``;
- sentences (:mod:`analysis.segment`): ``SENTENCE_COLUMNS``;
- claims (:mod:`analysis.extract`): ``CLAIM_COLUMNS``, one row per claim x
  procedure x condition (an *attribution*: a claim about two conditions is
  two rows sharing one ``claim_id``; :func:`unique_claims` is one row per
  claim); each claim's ``role`` is its type's (``ROLES``);
- codings (:mod:`analysis.validation.agreement`, :mod:`analysis.validation.sample`,
  :mod:`analysis.validation.qdpx`): ``CODING_COLUMNS``, one row per claim with its
  procedures and conditions as tuples: what two coders are compared on;
- evidence (:mod:`analysis.summary`): ``EVIDENCE_COLUMNS``, the codings'
  columns plus the number and the cue a reader checks;
- fetched pages (:mod:`analysis.fetch`): ``FETCH_COLUMNS``.

A *claim* is a sentence of a document, a claim type and a category
(GUIDELINES.md, "Unit of coding"): :func:`claim_key` is its identity,
whitespace and case aside, and :func:`fold_claims` turns any table of claim
rows (the claims table, a gold file, a coded sheet) into one row per claim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

CERTAINTIES = ("asserted", "hedged", "negated")
# The guidelines' three claim types: always shown, at zero too, in this order.
# A type the codebook adds is counted and shown after them (claim_types).
TYPES = ("benefit", "risk", "uncertainty")
# What a claim type does for a reader (the codebook's `role` of each type):
# counts, balances and absence statements read roles, never type names, so
# that a harm-like type the codebook adds counts as a harm everywhere.
ROLES = ("benefit", "harm", "caveat")
EFFECT_ROLES = ("benefit", "harm")  # the roles of claims about an effect
# The roles of the guidelines' three types, for a table written without a
# role column (a gold file, a coded sheet, a claims table of an older version).
DEFAULT_ROLES = {"benefit": "benefit", "risk": "harm", "uncertainty": "caveat"}

DOCUMENT_COLUMNS = ["doc", "title", "text", "sha256", "source", "words"]
PROBLEM_COLUMNS = ["doc", "problem", "action"]
SENTENCE_COLUMNS = [
    "doc",
    "sid",
    "start",
    "end",
    "sentence",
    "body_start",
    "kind",
    "line",
    "section",
    "lead_in",
]
CLAIM_COLUMNS = [
    "claim_id",
    "doc",
    "sentence",
    "start",
    "end",
    "type",
    "category",
    "role",
    "certainty",
    "procedure",
    "condition",
    "cue",
    "cue_start",
    "cue_end",
    "quantified",
    "quantity",
    "rule",
    "codebook_version",
    "codebook_sha256",
    "model_version",
    "model_sha256",
]
CODING_COLUMNS = ["doc", "sentence", "type", "category", "certainty", "procedures", "conditions"]
EVIDENCE_COLUMNS = [*CODING_COLUMNS, "quantity", "cue"]
# What a validation sample says of the coder, per article (validation.agreement):
# chart-cell units (claim x procedure x condition) per type and category...
UNIT_COLUMNS = ["doc", "site", "type", "category", "predicted", "coded", "agreed"]
# ...and whether an article makes a claim of a type about a procedure.
ARTICLE_UNIT_COLUMNS = ["doc", "site", "procedure", "type", "predicted", "coded"]
# Corrected counts (analysis.estimates): condition "all" is a procedure's
# total over its conditions, "" its claims about no particular condition.
ESTIMATE_COLUMNS = [
    "procedure",
    "condition",
    "type",
    "observed",
    "estimate",
    "low",
    "high",
    "basis",
]
# Corrected shares of articles (analysis.estimates).
SHARE_ESTIMATE_COLUMNS = [
    "level",
    "procedure",
    "condition",
    "type",
    "articles",
    "observed",
    "estimate",
    "low",
    "high",
    "basis",
]
# Error rates of the coder (analysis.estimates): per type, then per category.
RATE_COLUMNS = [
    "type",
    "category",
    "precision",
    "recall",
    "f1",
    "predicted",
    "coded",
    "articles",
    "basis",
]
FETCH_COLUMNS = ["doc", "url", "final_url", "title", "site", "author", "date", "fetched", "status"]


def claim_types(*tables: pd.DataFrame) -> tuple[str, ...]:
    """The claim types to count in tables with a ``type`` column: the
    guidelines' three, then any other type the codebook codes, by name."""
    seen = set()
    for table in tables:
        if table is not None and "type" in table.columns:
            seen.update(table["type"].dropna().astype(str).unique())
    return (*TYPES, *sorted(seen - set(TYPES) - {""}))


def with_roles(claims: pd.DataFrame) -> pd.DataFrame:
    """``claims`` with a ``role`` column: its own where it has one, else the
    guidelines' role of each type ("" for a type with none)."""
    if "type" not in claims.columns:
        return claims.assign(role="")
    if "role" in claims.columns:
        own = claims["role"].fillna("").astype(str)
        missing = own == ""
        if not missing.any():  # a claims table's rows all have theirs
            return claims.assign(role=own)
        return claims.assign(role=own.where(~missing, claims["type"].map(DEFAULT_ROLES).fillna("")))
    return claims.assign(role=claims["type"].map(DEFAULT_ROLES).fillna(""))


def types_of_role(claims: pd.DataFrame, role: str) -> tuple[str, ...]:
    """The claim types of ``claims`` that play ``role``, in counting order."""
    roled = with_roles(claims)
    mine = set(roled.loc[roled["role"] == role, "type"].astype(str))
    return tuple(t for t in claim_types(claims) if t in mine) or tuple(
        t for t, r in DEFAULT_ROLES.items() if r == role
    )


def types_in(table: pd.DataFrame, suffix: str = "_articles") -> tuple[str, ...]:
    """The claim types of a wide table, from its ``<type><suffix>`` columns."""
    found = [c[: -len(suffix)] for c in table.columns if c.endswith(suffix) and c != suffix[1:]]
    return tuple(t for t in found if t)


SPACES = re.compile(r"\s+")


def _words(sentence: object) -> str:
    return SPACES.sub(" ", str(sentence)).strip().lower()


def sentence_key(claims: pd.DataFrame) -> pd.Series:
    """Identity of a sentence for counting: its document and its words."""
    sentences = claims["sentence"]
    # each distinct sentence is normalised once (a claims table repeats a
    # sentence for each of its claims and attributions); a missing one
    # (None, NaN) in its place, as it is
    codes, distinct = pd.factorize(sentences)
    words = np.array([_words(s) for s in distinct] + [""], dtype=object)[codes]
    missing = np.flatnonzero(codes < 0)
    words[missing] = [_words(s) for s in sentences.iloc[missing]]
    return claims["doc"].astype(str) + "\x1f" + pd.Series(words, index=claims.index)


def claim_key(claims: pd.DataFrame) -> pd.Series:
    """Identity of a claim: its sentence, type and category."""
    return (
        sentence_key(claims)
        + "\x1f"
        + claims["type"].astype(str).str.strip()
        + "\x1f"
        + claims["category"].astype(str).str.strip()
    )


def claim_ids(claims: pd.DataFrame) -> pd.Series:
    """A claim's stable id: the first 16 hex digits of the sha256 of its
    :func:`claim_key`. The same claim (a sentence repeated word for word in
    one document, or the same claim coded on another run) has the same id;
    the rows of its attributions (one per procedure x condition) share it."""
    import hashlib

    return claim_key(claims).map(
        lambda key: hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    )


def unique_claims(claims: pd.DataFrame) -> pd.DataFrame:
    """The claims table with one row per claim (``claims_unique``): the
    columns of its first row, its procedures and conditions joined by "|"
    (``procedures``, ``conditions``), and no ``procedure``/``condition``.
    Count claims here, not in the claims table, whose rows are attributions."""
    if claims.empty:
        return claims.drop(columns=["procedure", "condition"], errors="ignore").assign(
            procedures=pd.Series(dtype=str), conditions=pd.Series(dtype=str)
        )
    keyed = claims.assign(_id=claim_ids(claims))
    grouped = keyed.groupby("_id", sort=False)
    first = grouped.first()
    first["procedures"] = grouped["procedure"].agg(lambda v: "|".join(sorted({x for x in v if x})))
    first["conditions"] = grouped["condition"].agg(lambda v: "|".join(sorted({x for x in v if x})))
    out = first.reset_index(drop=True).drop(columns=["procedure", "condition"])
    return out


def ids(value: object) -> tuple[str, ...]:
    """Canonical ids from a list, a JSON list, or text split at | or ;."""
    if value is None or (isinstance(value, float) and value != value):
        return ()
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return tuple(sorted({str(v) for v in value if str(v) and str(v).lower() != "nan"}))
    text = str(value).strip()
    if text.startswith("["):
        try:
            return ids(json.loads(text))
        except ValueError:
            pass
    if text.lower() in ("", "nan", "none", "general"):
        return ()
    return tuple(sorted({p.strip() for p in re.split(r"[|;,]", text) if p.strip()}))


def fold_claims(table: pd.DataFrame, extra: Iterable[str] = ()) -> pd.DataFrame:
    """One row per claim (:func:`claim_key`) of a table of claim rows:
    ``CODING_COLUMNS``, the procedures and conditions of all its rows as
    sorted tuples, and the first value of each ``extra`` column, in the
    order the claims first appear."""
    extra = [c for c in extra if c not in CODING_COLUMNS]
    if table.empty:
        return pd.DataFrame(columns=[*CODING_COLUMNS, *extra])
    procs = table["procedures"] if "procedures" in table else table.get("procedure")
    conds = table["conditions"] if "conditions" in table else table.get("condition")
    none = pd.Series([()] * len(table), index=table.index)
    keyed = table.assign(
        _key=claim_key(table),
        _procedures=none if procs is None else procs.map(ids),
        _conditions=none if conds is None else conds.map(ids),
        type=table["type"].astype(str).str.strip(),
        category=table["category"].astype(str).str.strip(),
        certainty=table["certainty"].fillna("").astype(str).str.strip()
        if "certainty" in table
        else "",
    )
    grouped = keyed.groupby("_key", sort=False)
    first = grouped[["doc", "sentence", "type", "category", "certainty", *extra]].first()
    first["procedures"] = grouped["_procedures"].agg(_union)
    first["conditions"] = grouped["_conditions"].agg(_union)
    return first.reset_index(drop=True)[[*CODING_COLUMNS, *extra]]


def _union(values: pd.Series) -> tuple[str, ...]:
    return tuple(sorted(set().union(*values)))


ID_COLUMNS = ("id", "label")  # metadata columns a user names documents by


def document_ids(documents: pd.DataFrame) -> pd.Series:
    """Each document's short, stable id (by ``doc``): its ``id`` or ``label``
    metadata value when it has one, else its file name (a table corpus's
    row keeps its ``#row``); two documents with one name are told apart by
    their paths. Tables, matrices and charts name documents by it, the
    title standing in its own column."""
    from pathlib import PurePosixPath

    docs = documents["doc"].astype(str)
    ids = docs.map(lambda d: PurePosixPath(d.split("#", 1)[0]).name + _row(d))
    for column in ID_COLUMNS:
        if column in documents.columns:
            given = documents[column].fillna("").astype(str).str.strip()
            ids = given.where(given != "", ids)
            break
    clash = ids.duplicated(keep=False)
    ids = ids.where(~clash, docs)
    return pd.Series(ids.to_numpy(), index=docs.to_numpy())


def _row(doc: str) -> str:
    return "#" + doc.split("#", 1)[1] if "#" in doc else ""
