"""What the learned coder sees of a sentence: the features table.

Takes one document's sentences (:mod:`analysis.segment`) with what the rules
found in each (procedure and condition mentions, cue hits, the categories the
rules coded) and returns one row per sentence that can carry a claim:

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
           present, the length and end mark of the line
=========  ==================================================================

The features express the guidelines, never a sentence: cue families come from
the codebook, the rest from the page's layout.
"""

from __future__ import annotations

from typing import Any

FEATURE_COLUMNS = ["text", "context", "neighbours", "cues"]
# Kinds of line the learned coder decides on. Headings are among them: a bare
# list item or a table cell looks like a heading to the segmenter, and the
# model learns from the layout which ones carry claims.
CODED_KINDS = ("text", "list_item", "heading", "boilerplate")
PROCEDURE_TOKEN = " xproc "
CONDITION_TOKEN = " xcond "


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
