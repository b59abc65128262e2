"""Explain a coding: each sentence with its cues marked and the rules that fired.

Takes the documents table and the codebook; returns text for a terminal or a
notebook. For every sentence that carries a claim it shows the sentence with
each cue in ``[[double brackets]]``, then one line per claim: type, category,
certainty, procedures, conditions, and the rules behind them (which cue, which
hedge or negation, where the attribution came from). With ``show_all`` it
also lists the sentences that carry no claim and why (heading, question,
boilerplate, reference, describes a condition, no cue, ...).
"""

from __future__ import annotations

import pandas as pd

from analysis.codebook import Codebook
from analysis.coding.page import Claim
from analysis.escape import visible
from analysis.extract import code_document


def mark(body: str, claims: list[Claim]) -> str:
    spans = sorted({(h.start, h.end) for c in claims for h in c.hits})
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    out, last = [], 0
    for s, e in merged:
        out += [body[last:s], "[[", body[s:e], "]]"]
        last = e
    out.append(body[last:])
    return "".join(out)


def explain_text(doc: str, text: str, codebook: Codebook, show_all: bool = False) -> str:
    lines = [f"== {doc}"]
    for s, reason, claims in code_document(doc, text, codebook):
        if not claims:
            if show_all:
                lines.append(f"  - [{reason}] {s['sentence']}")
            continue
        label = text[s["start"] : s["body_start"]]
        lines.append(f"  * {label}{mark(text[s['body_start'] : s['end']], claims)}")
        for c in claims:
            lines.append(
                f"      {c.category.type}/{c.category.id} {c.certainty} "
                f"procedures={','.join(c.procedures)} conditions={','.join(c.conditions) or '-'}"
            )
            for why in c.why:
                lines.append(f"        because {why}")
    return "\n".join(lines)


def explain_documents(documents: pd.DataFrame, codebook: Codebook, show_all: bool = False) -> str:
    """Explanation of every document's coding (see the module docstring),
    with the corpus's control characters made visible: text printed to a
    terminal cannot clear the screen, retitle it or hide a line."""
    return visible(
        "\n\n".join(
            explain_text(doc, text, codebook, show_all)
            for doc, text in zip(documents["doc"], documents["text"], strict=True)
        )
    )
