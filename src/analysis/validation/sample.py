"""Coding samples: sentences for a human to code, and their coding read back.

:func:`draw_sample` takes the sentences table (:mod:`analysis.segment`) and
the claims table and returns the coding sheet: a stratified random sample of
the sentences that can carry a claim, strata by document, predicted
procedure and predicted type ("none" for a sentence with no claim), each
stratum in proportion to its size and at least one sentence where ``n``
allows. Columns: ``sample_id, doc, start, end, sentence`` and, empty for the
coder, ``type, category, certainty, procedures, conditions, note``. The
prediction is not shown: the coder codes blind. A sentence with two claims
gets a second row (copy the row); a sentence with none keeps ``type`` empty.

:func:`code_list` is the second sheet: every value the coder may write.

:func:`read_coded_sheet` checks a coded sheet against the codebook and
returns the gold table (``doc, sentence, type, category, certainty,
procedures, conditions``, the last two lists) that GUIDELINES.md's file
format describes; an unknown value is refused with its row and the values
allowed.
"""

from __future__ import annotations

import pandas as pd

from analysis.codebook import Codebook
from analysis.errors import ParameterError, SheetError
from analysis.schema import CERTAINTIES, CODING_COLUMNS
from analysis.segment import CLAIM_KINDS

CODER_COLUMNS = ["type", "category", "certainty", "procedures", "conditions", "note"]
SHEET_COLUMNS = ["sample_id", "doc", "start", "end", "sentence", *CODER_COLUMNS]


def _allocate(sizes: pd.Series, n: int) -> pd.Series:
    """Sentences to draw per stratum: proportional, largest remainders, at
    least one per stratum while ``n`` allows, never more than the stratum."""
    n = min(n, int(sizes.sum()))
    base = (sizes * n / sizes.sum()).clip(lower=1 if n >= len(sizes) else 0)
    take = base.astype(int).clip(upper=sizes)
    remainder = (base - take).sort_values(ascending=False)
    for stratum in remainder.index:
        if take.sum() >= n:
            break
        if take[stratum] < sizes[stratum]:
            take[stratum] += 1
    while take.sum() > n:  # the minimum of one overshot: trim the largest
        take[take.idxmax()] -= 1
    return take


def draw_sample(
    sentences: pd.DataFrame, claims: pd.DataFrame, n: int, seed: int = 0
) -> pd.DataFrame:
    """The coding sheet of ``n`` sentences (see the module docstring)."""
    if n < 1:
        raise ParameterError(f"--n must be at least 1 (sentences to draw), got {n}")
    pool = sentences[sentences["kind"].isin(CLAIM_KINDS)].copy()
    pool = pool.drop_duplicates(["doc", "sentence"])
    first = claims.sort_values(["doc", "start", "type"]).drop_duplicates(["doc", "start"])
    predicted = first.set_index(["doc", "start"])[["procedure", "type"]]
    pool = pool.join(predicted, on=["doc", "start"])
    pool["procedure"] = pool["procedure"].fillna("")
    pool["type"] = pool["type"].fillna("none")
    strata = ["doc", "procedure", "type"]
    sizes = pool.groupby(strata).size()
    take = _allocate(sizes, n)
    parts = [
        group.sample(n=int(take[key]), random_state=seed)
        for key, group in pool.groupby(strata)
        if take[key] > 0
    ]
    if not parts:
        return pd.DataFrame(columns=SHEET_COLUMNS)
    drawn = pd.concat(parts).sort_values(["doc", "start"]).reset_index(drop=True)
    sheet = drawn[["doc", "start", "end", "sentence"]].copy()
    sheet.insert(0, "sample_id", range(1, len(sheet) + 1))
    for column in CODER_COLUMNS:
        sheet[column] = ""
    return sheet[SHEET_COLUMNS]


def code_list(codebook: Codebook) -> pd.DataFrame:
    """Every value a coder may write: ``column, value, label, type``."""
    rows = [
        {"column": "type", "value": t, "label": label, "type": ""}
        for t, label in codebook.types.items()
    ]
    rows += [
        {"column": "category", "value": c.id, "label": c.label, "type": c.type}
        for c in codebook.categories
    ]
    rows += [{"column": "certainty", "value": c, "label": c, "type": ""} for c in CERTAINTIES]
    rows += [
        {"column": "procedures", "value": i, "label": label, "type": ""}
        for i, label in codebook.procedures.labels.items()
    ]
    rows += [
        {"column": "conditions", "value": i, "label": label, "type": ""}
        for i, label in codebook.conditions.labels.items()
    ]
    return pd.DataFrame(rows, columns=["column", "value", "label", "type"])


def _split(value: object) -> list[str]:
    text = "" if value is None or value != value else str(value)
    return [v.strip() for v in text.replace(";", "|").replace(",", "|").split("|") if v.strip()]


def read_coded_sheet(
    sheet: pd.DataFrame, codebook: Codebook, source: str = "sheet"
) -> pd.DataFrame:
    """The gold table of a coded sheet (see the module docstring)."""
    missing = {"doc", "sentence", "type", "category"} - set(sheet.columns)
    if missing:
        raise SheetError(
            f"{source}: missing columns {sorted(missing)}; use the sheet `analysis sample` wrote"
        )
    categories = {c.id: c.type for c in codebook.categories}
    rows = []
    for i, r in enumerate(sheet.fillna("").astype(str).to_dict("records"), start=2):
        claim_type, category = r["type"].strip(), r["category"].strip()
        if not claim_type and not category:
            continue  # coded as no claim
        where = f"{source}: row {i}"
        if category not in categories:
            raise SheetError(
                f"{where}: unknown category {category!r}; one of {', '.join(categories)}"
            )
        if claim_type and claim_type != categories[category]:
            raise SheetError(
                f"{where}: category {category!r} is of type {categories[category]!r}, not {claim_type!r}"
            )
        certainty = r.get("certainty", "").strip() or "asserted"
        if certainty not in CERTAINTIES:
            raise SheetError(f"{where}: certainty {certainty!r}; one of {', '.join(CERTAINTIES)}")
        attribution = {}
        for column, lexicon in (
            ("procedures", codebook.procedures),
            ("conditions", codebook.conditions),
        ):
            values = _split(r.get(column, ""))
            unknown = [v for v in values if v not in lexicon.labels]
            if unknown:
                raise SheetError(
                    f"{where}: unknown {column} {unknown}; ids: {', '.join(lexicon.labels)}"
                )
            attribution[column] = values
        rows.append(
            {
                "doc": r["doc"],
                "sentence": r["sentence"],
                "type": categories[category],
                "category": category,
                "certainty": certainty,
                **attribution,
            }
        )
    return pd.DataFrame(
        rows,
        columns=CODING_COLUMNS,
    )
