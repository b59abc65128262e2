"""Attribution: which procedures and conditions each claim is about.

A pipeline component (:mod:`analysis.coding`), in the order of GUIDELINES.md
"Attribution": the sentence's own mention wins; else the sentence's list
label ("Chemical peels: ..."), its list lead-in, its section heading; else
what the document is about; else, for conditions, none (a claim about skin
in general). Each claim records the level its procedures and conditions
came from (:attr:`Claim.levels`), so that every level can be measured on
coded articles (:mod:`analysis.train`).

In a sentence, a claim the cues found is about the conditions named inside
its own cues (but a harm a cue names, ``condition_is_harm``), and those
named free in its clause, else free anywhere in the sentence: a condition
another category's cue names belongs to that claim ("improve texture and
reduce scars": scars are efficacy's, not texture's). A claim the learned
coder made is about the conditions no cue of the sentence names.

A document is about the conditions its title names; failing a title that
names one, about the condition that dominates its mentions (the codebook's
``attribution.topic_min_mentions`` and ``topic_share``). A document is about
the procedure that dominates its mentions the same way. A claim about no
procedure of the codebook is not a claim of this corpus and is dropped.
"""

from __future__ import annotations

from collections import Counter

from analysis.codebook import Codebook
from analysis.coding.clauses import clause_at, clause_cuts
from analysis.coding.page import (
    NOT_TOPICAL,
    Claim,
    Mention,
    Page,
    find_conditions,
    find_procedures,
    named,
    unique,
)

KINDS = ("procedures", "conditions")
# The levels of attribution, in the guidelines' order.
LEVELS = ("sentence", "list label", "list lead-in", "section heading", "document", "none")


def apply(pages: list[Page], codebook: Codebook) -> list[Page]:
    """Procedures and conditions of every claim, with the level each came from."""
    for page in pages:
        topics = document_topics(page, codebook)
        for i, claims in enumerate(page.claims):
            if not claims:
                continue
            kept = []
            cuts = page.cuts(i, codebook) if page.found[i][2] else []
            for claim in claims:
                claim.procedures, claim.levels["procedures"] = procedures_of(page, i, codebook)
                if topics["procedures"] and not claim.procedures:
                    claim.procedures = list(topics["procedures"])
                    claim.levels["procedures"] = "document"
                claim.conditions, claim.levels["conditions"] = conditions_of(
                    page, i, claim, claims, codebook, cuts
                )
                if claim.levels["conditions"] == "none" and topics["conditions"]:
                    claim.conditions = list(topics["conditions"])
                    claim.levels["conditions"] = "document"
                for kind in KINDS:
                    level = claim.levels[kind]
                    if level != "none":
                        claim.why.append(f"{kind[:-1]} from the {LEVELS_SAID[level]}")
                if claim.procedures:  # a claim about no listed procedure is not coded
                    kept.append(claim)
            page.claims[i] = kept
            if claims and not kept and not page.reasons[i]:
                page.reasons[i] = "no procedure"
    return pages


LEVELS_SAID = {
    "sentence": "sentence",
    "list label": "list label",
    "list lead-in": "list lead-in",
    "section heading": "section heading",
    "document": "document topic",
}


def context_levels(
    page: Page, i: int, codebook: Codebook
) -> list[tuple[str, list[Mention], list[Mention]]]:
    """(level, procedures, conditions) of sentence ``i``'s context, in order."""
    s = page.sentences[i]
    out = []
    label = page.text[s["start"] : s["body_start"]]
    if label:
        out.append(
            ("list label", find_procedures(label, codebook), find_conditions(label, codebook))
        )
    for level, sid in (("list lead-in", s["lead_in"]), ("section heading", s["section"])):
        if sid >= 0:
            _, procs, conds = page.found[sid]
            out.append((level, procs, conds))
    return out


def procedures_of(page: Page, i: int, codebook: Codebook) -> tuple[list[str], str]:
    """A claim's procedures and their level, but the document's."""
    return _first_named(named(page.found[i][1], "procedures"), page, i, codebook, "procedures")


def conditions_of(
    page: Page,
    i: int,
    claim: Claim,
    claims: list[Claim],
    codebook: Codebook,
    cuts: list[int] | None = None,
) -> tuple[list[str], str]:
    """A claim's conditions and their level, but the document's (see the
    module docstring)."""
    own = sentence_conditions(page.body(i), page.found[i][2], claim, claims, codebook, cuts)
    return _first_named(own, page, i, codebook, "conditions")


def _first_named(
    own: list[str], page: Page, i: int, codebook: Codebook, kind: str
) -> tuple[list[str], str]:
    """The guidelines' attribution order: the sentence's own ids, else those
    of the first context level (:func:`context_levels`) that names any."""
    if own:
        return own, "sentence"
    for level, procs, conds in context_levels(page, i, codebook):
        ids = named(procs if kind == "procedures" else conds, kind)
        if ids:
            return ids, level
    return [], "none"


def sentence_conditions(
    body: str,
    conditions: list[Mention],
    claim: Claim,
    claims: list[Claim],
    codebook: Codebook,
    cuts: list[int] | None = None,
) -> list[str]:
    """The conditions a sentence names that a claim is about (see the module
    docstring)."""
    if not conditions:
        return []
    spans = [(h.start, h.end) for c in claims if c.source == "cue" for h in c.hits]
    free = [c for c in conditions if not any(s <= c.start and c.end <= e for s, e in spans)]
    if claim.source != "cue" or not claim.hits:
        return unique([c.id for c in free])
    cuts = cuts if cuts is not None else clause_cuts(body, codebook)
    chosen: list[str] = []
    for category_id in dict.fromkeys(h.category.id for h in claim.hits):
        group = [h for h in claim.hits if h.category.id == category_id]
        own = [
            c.id
            for c in conditions
            if not group[0].category.condition_is_harm
            and any(h.start <= c.start and c.end <= h.end for h in group)
        ]
        clause = clause_at(cuts, group[0].head)
        in_clause = [c for c in free if clause_at(cuts, c.start) == clause]
        chosen += own + [c.id for c in (in_clause or free)]
    return unique(chosen)


def document_topics(page: Page, codebook: Codebook) -> dict[str, list[str]]:
    """The procedures and conditions a document is about (see the module
    docstring). A condition named as the harm a procedure does (inside a
    cue of a harm-role type: "the risk of scarring") is not what the page
    is about."""
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    for i, (s, (_, procs, conds)) in enumerate(zip(page.sentences, page.found, strict=True)):
        if s["kind"] in NOT_TOPICAL:
            continue
        harms = [(h.start, h.end) for h in page.hits[i] if codebook.role(h.category.type) == "harm"]
        counts["procedures"].update(p.id for p in procs if not p.flag)
        counts["conditions"].update(
            c.id for c in conds if not any(a <= c.start and c.end <= b for a, b in harms)
        )
    topics = {kind: dominant(counts[kind], kind, codebook) for kind in KINDS}
    if page.title >= 0:
        titled = named(page.found[page.title][2], "conditions")
        if titled:
            topics["conditions"] = titled
    return topics


def dominant(counts: Counter[str], kind: str, codebook: Codebook) -> list[str]:
    """The id that dominates a document's mentions of ``kind``, or none."""
    if not counts:
        return []
    best, n = counts.most_common(1)[0]
    if (
        n >= codebook.topic_min_mentions[kind]
        and n / sum(counts.values()) >= codebook.topic_share[kind]
    ):
        return [best]
    return []
