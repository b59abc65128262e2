"""What the learned coder sees of a sentence: the features table.

Takes coded pages (:mod:`analysis.coding.page`, after the cues component)
and returns one row per sentence that can carry a claim (not a section
heading over a paragraph: :func:`~analysis.coding.page.opens_section`),
indexed by sentence position:

=========  ==================================================================
text       the sentence with every procedure name replaced by ``xproc`` and
           every condition name by ``xcond``, so that words, not names, are
           learned ("xproc can reduce xcond" reads the same for every pair)
context    the line the sentence continues: the list lead-in of a list item
           ("Side effects include:"), or the heading right above it ("Risks
           & complications" over "Low"); "" when there is none
neighbours the sentences right before and after it (but its context), whose
           words weigh less: a caveat or a list continues its neighbours' topic
cues       the codebook's view as binary features: the kind of line (text,
           list item, heading, ...), the cue families that fired in the
           sentence and in its lead-in, the categories the rules coded,
           whether a procedure or condition is named, a hedge or negation
           present, the length and end mark of the line, and what the rules
           say about it (a definition, a condition described)
=========  ==================================================================

The features express the guidelines, never a sentence: cue families come from
the codebook, the rest from the page's layout.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.codebook import Category, Codebook
from analysis.coding.certainty import any_trigger
from analysis.coding.cues import CODED_KINDS
from analysis.coding.page import Page, context_of, opens_section

FEATURE_COLUMNS = ["text", "context", "neighbours", "cues"]
PROCEDURE_TOKEN = " xproc "
CONDITION_TOKEN = " xcond "


def label_of(category: Category) -> str:
    """A category as the learned coder names it: "type/category"."""
    return f"{category.type}/{category.id}"


def masked(body: str, procedures: list[Any], conditions: list[Any]) -> str:
    """``body`` with procedure and condition names replaced by placeholders."""
    out = body
    spans = [(m.start, m.end, PROCEDURE_TOKEN) for m in procedures]
    spans += [(m.start, m.end, CONDITION_TOKEN) for m in conditions]
    last = len(body) + 1
    for start, end, token in sorted(spans, reverse=True):
        if end > last:  # overlapping names: keep the later one
            continue
        out = out[:start] + token + out[end:]
        last = start
    return out


def cue_features(
    kind: str,
    body: str,
    n_procedures: int,
    n_conditions: int,
    hit_categories: set[str],
    coded_categories: set[str],
    context_categories: set[str],
    hedged: bool,
    negated: bool,
    previous_kind: str,
) -> dict[str, float]:
    """The binary features of one sentence (see the module docstring)."""
    words = len(body.split())
    f: dict[str, float] = {
        f"kind={kind}": 1.0,
        f"previous={previous_kind}": 1.0,
        "words<=3": float(words <= 3),
        "words<=8": float(words <= 8),
        "words>25": float(words > 25),
        "end_mark": float(body.rstrip()[-1:] in ".!"),
        "procedure_named": float(n_procedures > 0),
        "condition_named": float(n_conditions > 0),
        "hedge": float(hedged),
        "negation": float(negated),
    }
    for c in sorted(hit_categories):  # sorted: the same features in the same order
        f[f"cue={c}"] = 1.0
        f[f"cue_type={c.split('/')[0]}"] = 1.0
    for c in sorted(coded_categories):
        f[f"coded={c}"] = 1.0
    for c in sorted(context_categories):
        f[f"context_cue={c}"] = 1.0
    if context_categories or kind == "list_item":
        f["has_context"] = 1.0
    return f


def page_features(page: Page, codebook: Codebook) -> pd.DataFrame:
    """The features table of one page's sentences the learned coder decides
    on, indexed by sentence position."""
    index, rows = page_rows(page, codebook)
    return pd.DataFrame(rows, index=index, columns=FEATURE_COLUMNS)


def page_rows(page: Page, codebook: Codebook) -> tuple[list[int], list[dict]]:
    """The sentence positions and rows of :func:`page_features`, as plain
    lists (the coder reads a batch of pages' rows as columns of lists)."""
    rows, index = [], []
    for i, s in enumerate(page.sentences):
        if s["kind"] not in CODED_KINDS or opens_section(page, i):
            continue
        body, procs, conds = page.found[i]
        c = context_of(page, i)
        cues = cue_features(
            kind=s["kind"],
            body=body,
            n_procedures=len(procs),
            n_conditions=len(conds),
            hit_categories={label_of(h.category) for h in page.hits[i]},
            coded_categories={label_of(x.category) for x in page.claims[i]},
            context_categories={label_of(h.category) for h in page.hits[c]} if c >= 0 else set(),
            hedged=any_trigger(codebook.hedges, "hedge", body, page.scans[i]),
            negated=any_trigger(codebook.negations, "negation", body, page.scans[i]),
            previous_kind=page.sentences[i - 1]["kind"] if i else "",
        )
        if page.reasons[i] and page.reasons[i] != s["kind"]:
            cues[f"rules_say={page.reasons[i]}"] = 1.0
        rows.append(
            {
                "text": masked(body, procs, conds),
                "context": page.sentences[c]["sentence"] if c >= 0 else "",
                "neighbours": " ".join(
                    page.sentences[k]["sentence"]
                    for k in (i - 1, i + 1)
                    if 0 <= k < len(page.sentences) and k != c
                ),
                "cues": cues,
            }
        )
        index.append(i)
    return index, rows
