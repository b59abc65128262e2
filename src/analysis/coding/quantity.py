"""Quantities: the number a claim's sentence states for its effect.

A pipeline component (:mod:`analysis.coding`). Every claim gets the first
number its sentence states for an effect (the codebook's ``quantities``: a
percentage, a ratio, a count of patients, a size of effect, a duration) as
written ("40%", "1 in 10", "2 weeks"), or "" when it states none: the claims
table's ``quantified`` and ``quantity``.
"""

from __future__ import annotations

from analysis.codebook import Codebook
from analysis.coding.page import Page
from analysis.prefilter import TextScan


def apply(pages: list[Page], codebook: Codebook) -> list[Page]:
    """The quantity of every claim's sentence."""
    for page in pages:
        for i, claims in enumerate(page.claims):
            if claims:
                s = page.sentences[i]
                quantity = quantity_of(s["sentence"], codebook, page.scanned, s["start"])
                for claim in claims:
                    claim.quantity = quantity
    return pages


def quantity_of(
    sentence: str, codebook: Codebook, scanned: TextScan | None = None, start: int = 0
) -> str:
    """The first number the sentence states for an effect, or "".
    ``scanned``, the prefilter's scan of the text the sentence stands in at
    ``start``, spares the quantities that cannot match it."""
    names = [f"quantity:{name}" for name, _ in codebook.quantities]
    possible = (
        set(names) if scanned is None else scanned.within(start, start + len(sentence), names)
    )
    found = [
        m
        for key, (_, pattern) in zip(names, codebook.quantities, strict=True)
        if key in possible and (m := pattern.search(sentence))
    ]
    return min(found, key=lambda m: (m.start(), -m.end())).group(0) if found else ""
