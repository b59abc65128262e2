"""The codebook's rules: cue patterns find claims a reader can check.

A pipeline component (:mod:`analysis.coding`). For every sentence of a page
it records why no claim can stand on it (its kind of line, or GUIDELINES.md
"Not claims": a condition being described, a definition, another agent as
the subject) and the cue hits of every category; where a claim can stand,
the hits become the rules' claims, one per category:

- only the cues the prefilter lets through are run; a match inside a
  procedure name is not a cue ("collagen induction therapy"); a category's
  exclusions and a cue's required predicate are looked for once the cue
  has matched; a list item's required predicate may stand in its lead-in;
- a cue inside another type's longer cue, a general category's cue
  overlapping a more specific one's (the codebook's ``prefer``) and a weak
  cue beside the effect it evaluates give way;
- a claim of a type whose role is *benefit* is no claim in the scope of an
  irrealis trigger ("ask whether it is effective");
- a category that ``with_condition_becomes`` another becomes it when a
  condition is named free in the cue's clause (texture "for stretch marks"
  is efficacy).

Certainty and attribution are later components'.
"""

from __future__ import annotations

import functools
import re

from analysis.codebook import Codebook
from analysis.coding.clauses import clause_at, clause_cuts
from analysis.coding.page import Claim, Hit, Mention, Page
from analysis.prefilter import UNKNOWN, Scan
from analysis.segment import CLAIM_KINDS

# Kinds of line whose cues are found, for the learned coder to read, when
# there is one: a bare list item or a table cell looks like a heading to the
# segmenter. Claims still stand only on CLAIM_KINDS by the rules.
CODED_KINDS = ("text", "list_item", "heading", "boilerplate")
LEADING_ARTICLE = re.compile(r"^(?:the|a|an|your|their|this|these)\s+", re.IGNORECASE)


def apply(pages: list[Page], codebook: Codebook) -> list[Page]:
    """Cue hits, reasons and the rules' claims of every sentence."""
    hit_kinds = CODED_KINDS if codebook.model is not None else CLAIM_KINDS
    for page in pages:
        for i, s in enumerate(page.sentences):
            body, procs, conds = page.found[i]
            lead_in = page.sentences[s["lead_in"]]["sentence"] if s["lead_in"] >= 0 else ""
            scan = page.scans[i]
            hits = find_hits(body, procs, codebook, lead_in, scan) if s["kind"] in hit_kinds else []
            page.hits[i] = hits
            if s["kind"] not in CLAIM_KINDS:
                page.reasons[i] = s["kind"]
                continue
            page.reasons[i] = not_a_claim(body, procs, conds, codebook, scan)
            if not page.reasons[i] and hits:
                cuts = page.cuts(i, codebook)
                page.claims[i] = rule_claims(body, conds, list(hits), codebook, scan, cuts)
    return pages


def not_a_claim(
    body: str,
    procedures: list[Mention],
    conditions: list[Mention],
    cb: Codebook,
    scan: Scan = UNKNOWN,
) -> str:
    """Why a sentence body carries no claim, or "" when it may (``scan``:
    the prefilter's scan of ``body``)."""
    named = any(not p.flag for p in procedures)
    if scan.may("background_subjects") and cb.background_subjects.match(body):
        return "background subject"
    article = LEADING_ARTICLE.match(body)
    offset = article.end() if article else 0
    if not named and any(c.start == offset for c in conditions):
        return "describes a condition"
    definition = cb.definition.search(body) if scan.may("definition") else None
    if not named and definition and "," not in body[: definition.start()]:
        return "definition"
    return ""


def find_hits(
    body: str,
    procedures: list[Mention],
    codebook: Codebook,
    lead_in: str = "",
    scan: Scan | None = None,
) -> list[Hit]:
    """Cue matches of every category in one sentence body (see the module
    docstring). A list item's required predicate may stand in its
    ``lead_in`` ("Avoid it if you are:" then "Pregnant"). ``scan`` is the
    prefilter's scan of ``body`` (made here when not given)."""
    names = [(p.start, p.end) for p in procedures]
    prefilter = codebook.prefilter
    scan = scan or prefilter.scan(body)
    starts = scan.starts
    hits = []
    excluded_of: dict[str, list[tuple[int, int]]] = {}
    for name in prefilter.candidates(starts):  # in the codebook's order
        category, cue = codebook.cue_index[name]
        matches = [
            m
            for m in prefilter.matches(name, body, starts)
            if m.end() > m.start()
            and not any(s <= m.start() and m.end() <= e for s, e in names)  # a name's part
        ]
        if not matches:
            continue
        needed = None
        if cue.requires is not None:
            may = scan.may(f"requires:{name}")
            needed = list(cue.requires.finditer(body)) if may else []
        if needed == [] and lead_in and cue.requires.search(lead_in):
            needed = None  # the lead-in states it; certainty attaches to the cue
        if needed == []:
            continue
        excluded = excluded_of.get(category.id)
        if excluded is None:
            excluded = [
                m.span()
                for gate, x in zip(
                    exclusion_gates(category.id, len(category.exclude)),
                    category.exclude,
                    strict=True,
                )
                if scan.may(gate)
                for m in x.finditer(body)
            ]
            excluded_of[category.id] = excluded
        for m in matches:
            if any(s < m.end() and m.start() < e for s, e in excluded):
                continue
            head = m.start("head") if "head" in cue.pattern.groupindex else -1
            if needed:
                # The predicate the cue needs carries the certainty:
                # "people with bleeding disorders may be at higher risk".
                after = [n for n in needed if n.start() >= m.start()]
                head = (after or needed)[0].start()
            hits.append(
                Hit(
                    category,
                    cue.name,
                    m.start(),
                    m.end(),
                    head if head >= 0 else m.start(),
                    m.group(),
                    weak=cue.weak,
                )
            )
    return resolve_overlaps(hits, codebook)


def resolve_overlaps(hits: list[Hit], codebook: Codebook) -> list[Hit]:
    """A cue inside another type's longer cue, or a general category's cue
    overlapping a more specific one's, gives way."""
    if len(hits) < 2:
        return hits  # nothing to give way to

    def inside(a: Hit, b: Hit) -> bool:
        return b.start <= a.start and a.end <= b.end and (b.end - b.start) > (a.end - a.start)

    kept = [
        h
        for h in hits
        if not any(o.category.type != h.category.type and inside(h, o) for o in hits)
    ]
    general_of = specifics_of(codebook.prefer)
    kept = [
        h
        for h in kept
        if not any(
            o.category.id in general_of.get(h.category.id, ())
            and o.start < h.end
            and h.start < o.end
            for o in kept
        )
    ]
    present = {h.category.id for h in kept if not h.weak}
    return [h for h in kept if not (h.weak and present & set(h.category.weak_yields_to))]


@functools.cache
def exclusion_gates(category_id: str, n: int) -> tuple[str, ...]:
    """The names the prefilter gates a category's ``n`` exclusions by (the
    codebook names them so), made once, not for every sentence."""
    return tuple(f"exclude:{category_id}#{k}" for k in range(n))


@functools.cache
def specifics_of(prefer: tuple[tuple[str, str], ...]) -> dict[str, frozenset[str]]:
    """General category id -> the more specific ones it gives way to (the
    codebook's ``prefer`` pairs)."""
    out: dict[str, set[str]] = {}
    for specific, general in prefer:
        out.setdefault(general, set()).add(specific)
    return {general: frozenset(specifics) for general, specifics in out.items()}


def irrealis(hit: Hit, body: str, cuts: list[int], codebook: Codebook) -> str:
    """The trigger that makes a cue a plan or a question, or ""."""
    clause = clause_at(cuts, hit.head)
    for m in codebook.irrealis.finditer(body):
        if m.end() <= hit.head and clause_at(cuts, m.start()) == clause:
            return m.group()
    return ""


def rule_claims(
    body: str,
    conditions: list[Mention],
    hits: list[Hit],
    codebook: Codebook,
    scan: Scan = UNKNOWN,
    cuts: list[int] | None = None,
) -> list[Claim]:
    """The rules' claims of one sentence body from its cue hits, one per
    category (see the module docstring; ``scan``: the prefilter's scan of
    ``body``; ``cuts``: where its clauses start, when known)."""
    cuts = cuts if cuts is not None else clause_cuts(body, codebook)
    by_category: dict[str, list[Hit]] = {}
    may_be_irrealis = scan.may("irrealis")
    for hit in hits:
        if (
            may_be_irrealis
            and codebook.role(hit.category.type) == "benefit"
            and irrealis(hit, body, cuts, codebook)
        ):
            continue
        by_category.setdefault(hit.category.id, []).append(hit)
    spans = [(h.start, h.end) for group in by_category.values() for h in group]
    free = [c for c in conditions if not any(s <= c.start and c.end <= e for s, e in spans)]
    claims: dict[str, Claim] = {}
    for group in by_category.values():
        category = group[0].category
        why = [f"{category.id} by cue {h.name} {h.text!r}" for h in group]
        clause = clause_at(cuts, group[0].head)
        in_clause = [c for c in free if clause_at(cuts, c.start) == clause]
        if category.with_condition_becomes and any(not c.flag for c in in_clause):
            target = codebook.category(category.with_condition_becomes)
            why.append(f"{category.id} framed as treating a named condition: {target.id}")
            category = target
        claim = claims.get(category.id)
        if claim is None:
            claims[category.id] = Claim(category, list(group), why=why)
        else:
            claim.hits += group
            claim.why += why
    return list(claims.values())
