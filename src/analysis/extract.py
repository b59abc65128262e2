"""Claims out: the claims table of a documents table.

Takes the documents table (``doc``, ``text``) and the codebook; reads each
document as a page (:mod:`analysis.coding.page`: sentences, and the names
they mention) and codes the pages with the coding pipeline
(:mod:`analysis.coding`: the codebook's cues, the learned coder, certainty,
attribution), the way GUIDELINES.md asks.

Returns the claims table, one row per claim x procedure x condition (an
attribution: a claim about two conditions is two rows, with one
``claim_id``; count claims with :func:`analysis.schema.unique_claims` or the
``claims_unique`` table a report writes, never by rows):

================  ==========================================================
claim_id          the claim's stable id (doc, sentence, type and category)
doc               the document
sentence          the sentence text; ``text[start:end] == sentence``
start, end        character offsets of the sentence in the document text
type, category    claim type and category ids of the codebook
role              what the type does for a reader (the codebook's role of
                  the type: benefit, harm or caveat)
certainty         asserted, hedged or negated
procedure         canonical procedure id
condition         canonical condition id, "" for a general claim
cue               the text that fired (several cues joined by " | "); "" for
                  a category the learned coder found with no cue of its own
cue_start/end     offsets of the first cue in the document text (the
                  sentence body, after any list label, when there is no cue)
quantified        whether the sentence states a number for the effect
quantity          that number as written ("40%", "1 in 10", "2 weeks"), or ""
rule              how type, certainty and attribution were decided: the cue,
                  or for a learned decision its probability and the terms
                  that weighed most, and the level each attribution came from
codebook_version  version of the codebook that produced the row
codebook_sha256   content hash of that codebook
model_version     version of the learned coder ("rules" when there is none)
model_sha256      content hash of that model ("" when there is none)
================  ==========================================================
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import pandas as pd

from analysis.codebook import Codebook
from analysis.coding import code_pages, read_pages
from analysis.coding.page import Claim, unique
from analysis.schema import CLAIM_COLUMNS, claim_ids

# Documents the learned coder decides at once: its cost is mostly per call.
BATCH = 32

Coding = list[tuple[dict, str, list[Claim]]]


@contextmanager
def sparing_collector() -> Iterator[None]:
    """Coding makes millions of short-lived objects (rows, matches, hits),
    freed as they go by their reference counts: none is in a reference
    cycle (coding the 500 generated documents of the extraction benchmark
    leaves the collector nothing to find). The cyclic collector's passes
    still walked them, and everything alive besides (the codebook, the
    model, the libraries, the rows coded so far): a quarter of extraction's
    time, and still 0.2-0.3 s of the benchmark's 7.4 s on 500 documents once
    what was alive before was left out of them (:func:`gc.freeze`). Inside,
    that is frozen and the automatic passes wait until the block ends (one
    batch of documents). At its end, what the block made and still holds
    (the batch's pages, hits and claims, about a million objects) joins the
    oldest generation with what was frozen, and the youngest generation's
    count starts again: its first pass would otherwise walk all of it, 0.25
    s of the 5.3 s of coding those 500 documents, only to find it alive. A
    cycle made inside is collected by the next full pass or an explicit
    :func:`gc.collect`; coding makes none (a test holds it so). When
    something is frozen already (an enclosing block, or the application's
    own :func:`gc.freeze`), the block leaves the collector as it is."""
    if gc.get_freeze_count():
        yield
        return
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()  # what the block made, beside what was frozen; count reset
        if enabled:
            gc.enable()
        gc.unfreeze()


def code_documents(items: list[tuple[str, str]], codebook: Codebook) -> list[Coding]:
    """Every sentence of each (doc, text) with why it carries no claim (""
    when it carries some) and its claims, attributed. Every command codes
    through here: :func:`extract_documents` and :mod:`analysis.explain` both
    read this."""
    with sparing_collector():
        pages = code_pages(read_pages(items, codebook), codebook)
    return [
        [
            (s, "" if claims else (page.reasons[i] or "no cue"), claims)
            for i, (s, claims) in enumerate(zip(page.sentences, page.claims, strict=True))
        ]
        for page in pages
    ]


def code_document(doc: str, text: str, codebook: Codebook) -> Coding:
    """:func:`code_documents` of one document."""
    return code_documents([(doc, text)], codebook)[0]


class Extracted(NamedTuple):
    """What extraction gives for one document: its claim rows, and notes on
    what it did not code (rows of the problems table, with ``SET_ASIDE``)."""

    rows: list[dict]
    notes: list[str]


SET_ASIDE = "not coded: a reference list or related links"


def extract_documents(items: list[tuple[str, str]], codebook: Codebook) -> list[Extracted]:
    """Claim rows and notes of each (doc, text) (see the module docstring)."""
    return [
        Extracted(claim_rows(doc, coding, codebook), set_aside(coding, text))
        for (doc, text), coding in zip(items, code_documents(items, codebook), strict=True)
    ]


def extract_document(doc: str, text: str, codebook: Codebook) -> list[dict]:
    """Claim rows of one document (see the module docstring)."""
    return extract_documents([(doc, text)], codebook)[0].rows


def set_aside(coding: Coding, text: str) -> list[str]:
    """Each run of sentences left uncoded after a reference heading, said
    with its lines: where it starts and ends, and where coding resumes."""

    def line_of(s: dict) -> int:
        return text.count("\n", 0, s["start"]) + 1

    notes, run = [], []
    for s in [s for s, _, _ in coding] + [None]:
        if s is not None and s["kind"] == "reference":
            run.append(s)
        elif run:
            after = f"coding resumes at line {line_of(s)}" if s else "to the end of the text"
            notes.append(
                f"lines {line_of(run[0])}-{line_of(run[-1])} from "
                f'"{run[0]["sentence"][:40]}" ({len(run)} sentences); {after}'
            )
            run = []
    return notes


def with_ids(claims: pd.DataFrame) -> pd.DataFrame:
    """The claims table with each claim's stable ``claim_id``."""
    return claims.assign(claim_id=claim_ids(claims) if len(claims) else pd.Series(dtype=str))


def claim_rows(doc: str, coding: Coding, codebook: Codebook) -> list[dict]:
    """The claims table's rows of one coded document (``claim_id`` aside:
    :func:`with_ids` gives it to a table of them)."""
    model = codebook.model
    model_version, model_sha256 = (model.version, model.sha256) if model else ("rules", "")
    rows = []
    for s, _, claims in coding:
        base = s["body_start"]
        for claim in claims:
            # A learned claim with no cue of its own rests on its whole sentence.
            first = min(claim.hits, key=lambda h: h.start, default=None)
            cue_start = base + first.start if first else base
            cue_end = base + first.end if first else s["end"]
            for procedure in claim.procedures:
                for condition in claim.conditions or [""]:
                    rows.append(
                        {
                            "doc": doc,
                            "sentence": s["sentence"],
                            "start": s["start"],
                            "end": s["end"],
                            "type": claim.category.type,
                            "category": claim.category.id,
                            "role": codebook.role(claim.category.type),
                            "certainty": claim.certainty,
                            "procedure": procedure,
                            "condition": condition,
                            "cue": " | ".join(unique([h.text for h in claim.hits])),
                            "cue_start": cue_start,
                            "cue_end": cue_end,
                            "quantified": bool(claim.quantity),
                            "quantity": claim.quantity,
                            "rule": "; ".join(claim.why),
                            "codebook_version": codebook.version,
                            "codebook_sha256": codebook.sha256,
                            "model_version": model_version,
                            "model_sha256": model_sha256,
                        }
                    )
    return rows


def extract(documents: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Claims table of every document (see the module docstring)."""
    items = list(zip(documents["doc"], documents["text"], strict=True))
    rows: list[dict] = []
    for start in range(0, len(items), BATCH):
        for extracted in extract_documents(items[start : start + BATCH], codebook):
            rows.extend(extracted.rows)
    return with_ids(pd.DataFrame(rows, columns=CLAIM_COLUMNS))
