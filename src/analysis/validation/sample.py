"""Coding samples: sentences for a human to code, and their coding read back.

:func:`draw_sample` takes the sentences table (:mod:`analysis.segment`) and
the claims table and returns the coding sheet: a stratified random sample of
the sentences that can carry a claim. The strata are what the coder
predicted for a sentence (its first claim's type and category, or "none")
and how sure it was (a claim a cue stated, one the learned coder made with
no cue, no claim): the claims it is least sure of are where it errs, so the
strata share the sample equally (as far as each has sentences), in the
manner of active learning, and each sentence carries the ``weight`` (its
stratum's sentences over those drawn) that makes a weighted estimate from
the sample unbiased for the corpus. Columns: ``sample_id, doc, start, end,
sentence, context`` (the paragraph the sentence stands in, after its section
heading, so that "fine lines" can be coded without opening the article),
``stratum, weight`` and, empty for the coder, ``type, category, certainty,
procedures, conditions, note``. The prediction is not shown: the coder
codes blind (the stratum names the prediction: hide that column from the
coder, or keep it for after). A sentence with two claims gets a second row
(copy the row); a sentence with none keeps ``type`` empty.

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
SHEET_COLUMNS = [
    "sample_id",
    "doc",
    "start",
    "end",
    "sentence",
    "context",
    "stratum",
    "weight",
    *CODER_COLUMNS,
]


def _allocate(sizes: pd.Series, n: int) -> pd.Series:
    """Sentences to draw per stratum: an equal share each, a stratum with
    fewer sentences giving its rest to the others, never more than a stratum
    holds."""
    n = min(n, int(sizes.sum()))
    take = pd.Series(0, index=sizes.index)
    while take.sum() < n:
        open_ = take < sizes
        share = max(1, (n - int(take.sum())) // int(open_.sum()))
        for stratum in sizes.index[open_.to_numpy()]:
            if take.sum() >= n:
                break
            take[stratum] = min(int(sizes[stratum]), int(take[stratum]) + share)
    return take


def _context(sentences: pd.DataFrame) -> pd.Series:
    """Each sentence's paragraph (its line) after its section heading."""
    key = sentences["doc"].astype(str) + "\x1f"
    line_text = sentences.groupby([sentences["doc"], sentences["line"]])["sentence"].transform(
        " ".join
    )
    by_sid = dict(zip(key + sentences["sid"].astype(str), sentences["sentence"], strict=True))
    heading = (key + sentences["section"].astype(str)).map(by_sid).fillna("")
    return (heading.where(heading == "", "[" + heading + "] ") + line_text).str.slice(0, 2000)


def draw_sample(
    sentences: pd.DataFrame, claims: pd.DataFrame, n: int, seed: int = 0
) -> pd.DataFrame:
    """The coding sheet of ``n`` sentences (see the module docstring)."""
    if n < 1:
        raise ParameterError(f"--n must be at least 1 (sentences to draw), got {n}")
    sentences = sentences.assign(context=_context(sentences))
    pool = sentences[sentences["kind"].isin(CLAIM_KINDS)].copy()
    pool = pool.drop_duplicates(["doc", "sentence"])
    first = claims.sort_values(["doc", "start", "type", "category"]).drop_duplicates(
        ["doc", "start"]
    )
    first = first.assign(
        predicted=first["type"] + "/" + first["category"],
        sure=first["cue"].fillna("").astype(str).map(lambda c: "cue" if c else "learned"),
    )
    pool = pool.join(first.set_index(["doc", "start"])[["predicted", "sure"]], on=["doc", "start"])
    pool["stratum"] = (
        pool["predicted"].fillna("none") + " (" + pool["sure"].fillna("no claim") + ")"
    )
    sizes = pool.groupby("stratum").size()
    take = _allocate(sizes, n)
    parts = [
        group.sample(n=int(take[key]), random_state=seed).assign(
            weight=float(sizes[key]) / float(take[key])
        )
        for key, group in pool.groupby("stratum")
        if take[key] > 0
    ]
    if not parts:
        return pd.DataFrame(columns=SHEET_COLUMNS)
    drawn = pd.concat(parts).sort_values(["doc", "start"]).reset_index(drop=True)
    sheet = drawn[["doc", "start", "end", "sentence", "context", "stratum", "weight"]].copy()
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
