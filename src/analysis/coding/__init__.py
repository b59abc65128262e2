"""Coding: from a segmented page to its claims, by a pipeline of components.

Every component has one interface, in the manner of spaCy's pipeline
components: it takes the pages (:class:`~analysis.coding.page.Page`, made by
:func:`~analysis.coding.page.read_page`) and the codebook, adds what it
decides to them, and returns them. The pipeline is a list of component
names (``config.CODING_PIPELINE``), looked up in :data:`COMPONENTS`:

============  ===============================================================
cues          the codebook's rules: cue hits, why a sentence carries no
              claim, the rules' claims (:mod:`analysis.coding.cues`)
learned       the learned coder adds the claims the cues missed
              (:mod:`analysis.coding.learned`; nothing without a model)
certainty     asserted, hedged or negated (:mod:`analysis.coding.certainty`)
attribution   procedures and conditions, by the guidelines' order
              (:mod:`analysis.coding.attribution`)
quantity      the number a claim's sentence states for its effect
              (:mod:`analysis.coding.quantity`)
============  ===============================================================

Domain knowledge lives in the codebook: no component reads the name of a
claim type; a type's *role* (benefit, harm, caveat) is data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from analysis import config
from analysis.codebook import Codebook
from analysis.coding import attribution, certainty, cues, quantity
from analysis.coding.page import Claim, Hit, Mention, Page, read_page

Component = Callable[[list[Page], Codebook], list[Page]]


def _learned(pages: list[Page], codebook: Codebook) -> list[Page]:
    """:func:`analysis.coding.learned.apply`, imported when first run: the
    coder needs scikit-learn, which a command that codes nothing (a re-run
    with nothing changed) never loads."""
    from analysis.coding import learned

    return learned.apply(pages, codebook)


COMPONENTS: dict[str, Component] = {
    "cues": cues.apply,
    "learned": _learned,
    "certainty": certainty.apply,
    "attribution": attribution.apply,
    "quantity": quantity.apply,
}

__all__ = ["COMPONENTS", "Claim", "Hit", "Mention", "Page", "code_pages", "read_pages"]


def read_pages(items: Sequence[tuple[str, str]], codebook: Codebook) -> list[Page]:
    """The pages of (doc, text) pairs, before any component."""
    return [read_page(doc, text, codebook) for doc, text in items]


def code_pages(
    pages: list[Page],
    codebook: Codebook,
    components: Sequence[str] = config.CODING_PIPELINE,
) -> list[Page]:
    """Run the named components over the pages, in order."""
    unknown = [name for name in components if name not in COMPONENTS]
    if unknown:
        raise ValueError(f"unknown coding components {unknown} (known: {', '.join(COMPONENTS)})")
    for name in components:
        pages = COMPONENTS[name](pages, codebook)
    return pages
