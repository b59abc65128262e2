"""Clauses of a sentence body, for the reach of a hedge or a negation and for
which condition a claim is about.

A clause starts at the sentence's start, at the codebook's ``clauses.breakers``
(";", " but ", ", which", ...), and after the first comma of a sentence that
opens with a subordinator ("While microneedling helps acne, it can ...").
"""

from __future__ import annotations

import bisect
import re

from analysis.codebook import Codebook

WORD = re.compile(r"\w+")


def clause_cuts(body: str, codebook: Codebook) -> list[int]:
    """Offsets where clauses start (the first is 0)."""
    cuts = {0}
    if codebook.subordinators.match(body):
        comma = body.find(",")
        if comma > 0:
            cuts.add(comma)
    cuts.update(m.start() for m in codebook.breakers.finditer(body))
    return sorted(cuts)


def clause_at(cuts: list[int], position: int) -> int:
    """The index of the clause holding ``position``."""
    return bisect.bisect_right(cuts, position) - 1


def words_between(text: str, a: int, b: int) -> int:
    return len(WORD.findall(text[a:b])) if b > a else 0
