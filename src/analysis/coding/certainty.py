"""Certainty: asserted, hedged or negated (GUIDELINES.md "Certainty").

A pipeline component (:mod:`analysis.coding`). A type the codebook gives a
fixed certainty (uncertainty claims are asserted) always has it. Otherwise:

- a claim the cues found takes the strongest certainty of its cues, each
  from the triggers whose scope reaches it inside its clause: a hedge before
  it ("may help strengthen") or within its reach, a negation a few words
  before it ("does not improve"); a negation inside the category's own cues
  is part of the cue ("should not be performed during"), a pseudo-trigger
  changes nothing ("not without risks");
- a claim the learned coder made takes the certainty of the sentence's cues
  of the same type where there are some, else negated when the sentence
  denies an effect as a whole ("showed no benefit"), else hedged by a hedge
  anywhere in it, else asserted.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from analysis.codebook import Category, Codebook, Trigger
from analysis.coding.clauses import clause_at, clause_cuts, words_between
from analysis.coding.page import Claim, Hit, Page
from analysis.prefilter import UNKNOWN, Scan
from analysis.schema import CERTAINTIES


def apply(pages: list[Page], codebook: Codebook) -> list[Page]:
    """The certainty of every claim, with why."""
    for page in pages:
        for i, claims in enumerate(page.claims):
            if not claims:
                continue
            body, scan = page.body(i), page.scans[i]
            scope = Scope(page.cuts(i, codebook), Triggers.find(body, codebook, scan))
            for claim in claims:
                if claim.source == "cue":
                    claim.certainty, why = cue_certainty(claim, body, codebook, scope)
                else:
                    claim.certainty, why = learned_certainty(
                        page.hits[i], body, claim.category, codebook, scan
                    )
                claim.why.append(f"{claim.certainty}: {why}")
    return pages


def any_trigger(triggers: tuple, kind: str, body: str, scan: Scan = UNKNOWN) -> bool:
    """Whether any of ``triggers`` (the codebook's hedges or negations,
    ``kind`` "hedge" or "negation") occurs in ``body``: as the search of
    their alternation (``any_hedge``, ``any_negation``) says, but each one
    searched only where the prefilter's scan lets it match."""
    every, each = gates(kind, len(triggers))
    return scan.may(every) and any(
        scan.may(name) and t.pattern.search(body) is not None
        for name, t in zip(each, triggers, strict=True)
    )


@functools.cache
def gates(kind: str, n: int) -> tuple[str, tuple[str, ...]]:
    """The names the prefilter gates ``n`` triggers of a ``kind`` by (the
    codebook names them so): their alternation's, and each one's. Made
    once, not for every sentence."""
    return f"any_{kind}", tuple(f"{kind}#{i}" for i in range(n))


@dataclass
class Triggers:
    """The certainty triggers found in one sentence body, matched once."""

    pseudo: list[tuple[int, int]]
    negations: list
    hedges: list

    @classmethod
    def find(cls, body: str, codebook: Codebook, scan: Scan = UNKNOWN) -> Triggers:
        # Each trigger is run only where the prefilter's scan lets it match;
        # most sentences have none.
        negations = [m for _, m in _matches(codebook.negations, "negation", body, scan)]
        return cls(
            pseudo=[m.span() for m in codebook.pseudo.finditer(body)] if negations else [],
            negations=negations,
            hedges=_matches(codebook.hedges, "hedge", body, scan),
        )


def _matches(
    triggers: tuple[Trigger, ...], kind: str, body: str, scan: Scan
) -> list[tuple[Trigger, re.Match[str]]]:
    """(trigger, match) of every match of ``triggers`` (``kind`` as for
    :func:`any_trigger`) in ``body``."""
    every, each = gates(kind, len(triggers))
    if not scan.may(every):
        return []
    return [
        (t, m)
        for name, t in zip(each, triggers, strict=True)
        if scan.may(name)
        for m in t.pattern.finditer(body)
    ]


def certainty_of(
    hit: Hit,
    body: str,
    cuts: list[int],
    own: list[tuple[int, int]],
    triggers: Triggers,
    codebook: Codebook,
) -> tuple[str, str]:
    """(certainty, why) of one cue from the triggers that reach it. ``own``
    are the spans of its category's cues in the sentence."""
    fixed = codebook.fixed_certainty.get(hit.category.type)
    if fixed:
        return fixed, f"{hit.category.type} claims are {fixed}"
    clause = clause_at(cuts, hit.head)

    def same_clause(pos: int) -> bool:
        return clause_at(cuts, pos) == clause

    for m in triggers.negations:
        if any(s <= m.start() < e for s, e in triggers.pseudo + own):
            continue
        if (
            m.end() <= hit.head
            and same_clause(m.start())
            and words_between(body, m.end(), hit.head) <= codebook.negation_window
        ):
            return "negated", f"negated by {m.group()!r}"
    for trigger, m in triggers.hedges:
        if m.start() < hit.end and hit.start < m.end():
            return "hedged", f"hedged by {m.group()!r} inside the cue"
        if not same_clause(m.start()):
            continue
        if trigger.scope == "clause" or (
            m.end() <= hit.head
            and (
                trigger.scope == "forward"
                or words_between(body, m.end(), hit.head) <= trigger.words
            )
        ):
            return "hedged", f"hedged by {m.group()!r} ({trigger.scope} scope)"
    return "asserted", "no hedge or negation reaches the cue"


def strongest(certainties: list[tuple[str, str]]) -> tuple[str, str]:
    """The strongest change among (certainty, why) pairs: negated, then hedged."""
    return max(certainties, key=lambda cw: CERTAINTIES.index(cw[0]))


@dataclass
class Scope:
    """A sentence body's clauses and certainty triggers, found once."""

    cuts: list[int]
    triggers: Triggers

    @classmethod
    def of(cls, body: str, codebook: Codebook, scan: Scan = UNKNOWN) -> Scope:
        return cls(clause_cuts(body, codebook), Triggers.find(body, codebook, scan))


def cue_certainty(
    claim: Claim, body: str, codebook: Codebook, scope: Scope | None = None
) -> tuple[str, str]:
    """A cue claim's certainty: the strongest of its cues'."""
    scope = scope or Scope.of(body, codebook)
    cuts, triggers = scope.cuts, scope.triggers
    found = []
    for category_id in dict.fromkeys(h.category.id for h in claim.hits):
        group = [h for h in claim.hits if h.category.id == category_id]
        own = [(h.start, h.end) for h in group]
        for hit in group:
            hit.certainty, hit.why = certainty_of(hit, body, cuts, own, triggers, codebook)
            found.append((hit.certainty, f"cue {hit.text!r} {hit.why}"))
    return strongest(found)


def learned_certainty(
    hits: list[Hit], body: str, category: Category, codebook: Codebook, scan: Scan = UNKNOWN
) -> tuple[str, str]:
    """(certainty, why) of a claim the learned coder made (see the module
    docstring)."""
    fixed = codebook.fixed_certainty.get(category.type)
    if fixed:
        return fixed, f"{category.type} claims are {fixed}"
    same = [h for h in hits if h.category.type == category.type]
    if same:
        cuts = clause_cuts(body, codebook)
        triggers = Triggers.find(body, codebook, scan)
        own = [(h.start, h.end) for h in same]
        return strongest([certainty_of(h, body, cuts, own, triggers, codebook) for h in same])
    denied = codebook.denial.search(body) if scan.may("denial") else None
    if denied:
        return "negated", f"the sentence denies the effect: {denied.group()!r}"
    hedge = codebook.any_hedge.search(body) if scan.may("any_hedge") else None
    if hedge:
        return "hedged", f"hedged by {hedge.group()!r} in the sentence"
    return "asserted", "no hedge in the sentence"
