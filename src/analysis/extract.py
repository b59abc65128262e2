"""Claims out: sentences that claim a benefit, a risk or an uncertainty.

Takes the documents table (``doc``, ``text``) and the codebook; segments each
document (:mod:`analysis.segment`) and codes every sentence the way
GUIDELINES.md asks:

1. *Not claims* are passed over: headings, questions, boilerplate, reference
   lists, and sentences about something other than a procedure (a condition
   being described, a substance as the subject).
2. *Cues*: each category's patterns are matched on the sentence (only those
   whose literal heads occur in it, see :mod:`analysis.prefilter`); a match
   inside a procedure name is not a cue ("collagen induction therapy"). A cue
   inside another type's longer cue, a general category overlapping a more
   specific one, and a weak cue beside the effect it evaluates give way.
2b. *The learned coder* (:mod:`analysis.model`), when the codebook has one,
   reads each sentence's words, its context in the page and the cues above
   as features, and adds the claims made in words no cue names (bare list
   items under a lead-in, table cells, new phrasings); the cues' own claims
   stand.
3. *Certainty* comes from the triggers whose scope reaches the cue inside
   its clause: a hedge before it ("may help strengthen"), a negation a few
   words before it ("does not improve"); a cue before the hedge stays
   asserted. Uncertainty claims are asserted.
4. *Attribution*: procedures named in the sentence (not as a comparison),
   else those of the list lead-in, the section heading, the document topic.
   Conditions named in the claim's own cue or free in its clause, else in the
   sentence, else the lead-in's, the heading's, the document's, else none.

Returns the claims table, one row per claim x procedure x condition:

================  ==========================================================
doc               the document
sentence          the sentence text; ``text[start:end] == sentence``
start, end        character offsets of the sentence in the document text
type, category    claim type and category ids of the codebook
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
                  that weighed most
codebook_version  version of the codebook that produced the row
codebook_sha256   content hash of that codebook
model_version     version of the learned coder ("rules" when there is none)
model_sha256      content hash of that model ("" when there is none)
================  ==========================================================
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis.codebook import Category, Codebook, Trigger
from analysis.features import CODED_KINDS, FEATURE_COLUMNS, cue_features, masked
from analysis.schema import CERTAINTIES, CLAIM_COLUMNS
from analysis.segment import CLAIM_KINDS, segment_document

WORD = re.compile(r"\w+")
# Documents the learned coder decides at once: its cost is mostly per call.
BATCH = 32
LEADING_ARTICLE = re.compile(r"^(?:the|a|an|your|their|this|these)\s+", re.IGNORECASE)


@dataclass
class Mention:
    id: str
    start: int  # offsets inside the sentence body
    end: int
    flag: bool = False  # comparator (procedures) or population (conditions)


@dataclass
class Hit:
    """One cue match inside a sentence body."""

    category: Category
    name: str
    start: int
    end: int
    head: int  # where certainty attaches: the cue, or the predicate it requires
    text: str
    weak: bool = False
    certainty: str = "asserted"
    why: str = ""


@dataclass
class Claim:
    category: Category
    hits: list[Hit]
    certainty: str
    procedures: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- mentions


def find_procedures(body: str, codebook: Codebook) -> list[Mention]:
    out = []
    for m in codebook.procedures.pattern.finditer(body):
        comparator = bool(codebook.comparators.search(body[max(0, m.start() - 40) : m.start()]))
        out.append(
            Mention(codebook.procedures.canonical(m.group()), m.start(), m.end(), comparator)
        )
    return out


def find_conditions(body: str, codebook: Codebook) -> list[Mention]:
    out = []
    for m in codebook.conditions.pattern.finditer(body):
        before, after = body[max(0, m.start() - 40) : m.start()], body[m.end() : m.end() + 12]
        population = bool(
            codebook.population.search(before) or codebook.population_after.match(after)
        )
        out.append(
            Mention(codebook.conditions.canonical(m.group()), m.start(), m.end(), population)
        )
    return out


def unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def topic(counts: Counter[str], kind: str, codebook: Codebook) -> str:
    """The procedure or condition (``kind``) a document is about, or ""."""
    if not counts:
        return ""
    best, n = counts.most_common(1)[0]
    minimum = codebook.topic_min_mentions[kind]
    if n >= minimum and n / sum(counts.values()) >= codebook.topic_share:
        return best
    return ""


# ---------------------------------------------------------------- not claims


def not_a_claim(
    body: str, procedures: list[Mention], conditions: list[Mention], cb: Codebook
) -> str:
    """Why a sentence body carries no claim, or "" when it may."""
    named = any(not p.flag for p in procedures)
    if cb.background_subjects.match(body):
        return "background subject"
    rest = LEADING_ARTICLE.sub("", body)
    offset = len(body) - len(rest)
    if not named and any(c.start == offset for c in conditions):
        return "describes a condition"
    definition = cb.definition.search(body)
    if not named and definition and "," not in body[: definition.start()]:
        return "definition"
    return ""


# ---------------------------------------------------------------- cues


def find_hits(
    body: str, procedures: list[Mention], codebook: Codebook, lead_in: str = ""
) -> list[Hit]:
    """Cue matches of every category in one sentence body. Only the cues the
    prefilter lets through are run; a category's exclusions and a cue's
    required predicate are looked for only once the cue has matched. A list
    item's required predicate may stand in its ``lead_in`` ("Avoid it if
    you are:" then "Pregnant")."""
    names = [(p.start, p.end) for p in procedures]
    prefilter = codebook.prefilter
    starts = prefilter.starts(body)
    hits = []
    for category in codebook.categories:
        excluded: list[tuple[int, int]] | None = None
        for cue in category.cues:
            if starts is not None and cue.name not in starts and cue.name not in prefilter.always:
                continue
            matches = [
                m
                for m in prefilter.matches(cue.name, body, starts)
                if m.end() > m.start()
                and not any(s <= m.start() and m.end() <= e for s, e in names)  # a name's part
            ]
            if not matches:
                continue
            needed = list(cue.requires.finditer(body)) if cue.requires is not None else None
            if needed == [] and lead_in and cue.requires.search(lead_in):
                needed = None  # the lead-in states it; certainty attaches to the cue
            if needed == []:
                continue
            if excluded is None:
                excluded = [m.span() for x in category.exclude for m in x.finditer(body)]
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

    def inside(a: Hit, b: Hit) -> bool:
        return b.start <= a.start and a.end <= b.end and (b.end - b.start) > (a.end - a.start)

    kept = [
        h
        for h in hits
        if not any(o.category.type != h.category.type and inside(h, o) for o in hits)
    ]
    general_of = {}
    for specific, general in codebook.prefer:
        general_of.setdefault(general, set()).add(specific)
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


# ---------------------------------------------------------------- certainty


def clause_cuts(masked: str, codebook: Codebook) -> list[int]:
    """Offsets where clauses start (the first is 0)."""
    cuts = {0}
    if codebook.subordinators.match(masked):
        comma = masked.find(",")
        if comma > 0:
            cuts.add(comma)
    cuts.update(m.start() for m in codebook.breakers.finditer(masked))
    return sorted(cuts)


def words_between(text: str, a: int, b: int) -> int:
    return len(WORD.findall(text[a:b])) if b > a else 0


@dataclass
class Triggers:
    """The certainty triggers found in one sentence body, matched once."""

    pseudo: list[tuple[int, int]]
    negations: list[re.Match[str]]
    hedges: list[tuple[Trigger, re.Match[str]]]

    @classmethod
    def find(cls, body: str, codebook: Codebook) -> Triggers:
        # One scan says whether any trigger is there; most sentences have none.
        negated = codebook.any_negation.search(body) is not None
        hedged = codebook.any_hedge.search(body) is not None
        return cls(
            pseudo=[m.span() for m in codebook.pseudo.finditer(body)] if negated else [],
            negations=[m for t in codebook.negations for m in t.pattern.finditer(body)]
            if negated
            else [],
            hedges=[(t, m) for t in codebook.hedges for m in t.pattern.finditer(body)]
            if hedged
            else [],
        )


def certainty_of(
    hit: Hit,
    masked: str,
    cuts: list[int],
    own: list[tuple[int, int]],
    triggers: Triggers,
    codebook: Codebook,
) -> tuple[str, str]:
    """(certainty, why) of one cue from the triggers that reach it.

    ``own`` are the spans of the category's cues in the sentence: a negation
    inside them is part of the cue ("should not be performed during").
    """
    fixed = codebook.fixed_certainty.get(hit.category.type)
    if fixed:
        return fixed, f"{hit.category.type} claims are {fixed}"
    clause = bisect.bisect_right(cuts, hit.head) - 1

    def same_clause(pos: int) -> bool:
        return bisect.bisect_right(cuts, pos) - 1 == clause

    for m in triggers.negations:
        if any(s <= m.start() < e for s, e in triggers.pseudo + own):
            continue
        if (
            m.end() <= hit.head
            and same_clause(m.start())
            and words_between(masked, m.end(), hit.head) <= codebook.negation_window
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
                or words_between(masked, m.end(), hit.head) <= trigger.words
            )
        ):
            return "hedged", f"hedged by {m.group()!r} ({trigger.scope} scope)"
    return "asserted", "no hedge or negation reaches the cue"


def irrealis(hit: Hit, masked: str, cuts: list[int], codebook: Codebook) -> str:
    """The trigger that makes a benefit cue a plan or a question, or ""."""
    clause = bisect.bisect_right(cuts, hit.head) - 1
    for m in codebook.irrealis.finditer(masked):
        if m.end() <= hit.head and bisect.bisect_right(cuts, m.start()) - 1 == clause:
            return m.group()
    return ""


# ---------------------------------------------------------------- claims


def code_sentence(
    body: str,
    procedures: list[Mention],
    conditions: list[Mention],
    codebook: Codebook,
    hits: list[Hit] | None = None,
) -> list[Claim]:
    """Claims of one sentence body by the rules, before context attribution
    (``hits``: the sentence's cue hits, when already found)."""
    cuts = clause_cuts(body, codebook)
    by_category: dict[str, list[Hit]] = {}
    if hits is None:
        hits = find_hits(body, procedures, codebook)
    for hit in hits:
        if hit.category.type == "benefit" and irrealis(hit, body, cuts, codebook):
            continue
        by_category.setdefault(hit.category.id, []).append(hit)
    triggers = Triggers.find(body, codebook) if by_category else None
    for hits in by_category.values():
        own = [(h.start, h.end) for h in hits]
        for hit in hits:
            hit.certainty, hit.why = certainty_of(hit, body, cuts, own, triggers, codebook)
    spans = [(h.start, h.end) for hits in by_category.values() for h in hits]

    def consumed(c: Mention) -> bool:
        return any(s <= c.start and c.end <= e for s, e in spans)

    claims: dict[str, Claim] = {}
    for hits in by_category.values():
        category = hits[0].category
        certainty = next(
            (c for c in ("negated", "hedged") if any(h.certainty == c for h in hits)), "asserted"
        )
        why = [f"{category.id} by cue {h.name} {h.text!r}, {h.why}" for h in hits]
        own = [
            c.id
            for c in conditions
            if not category.condition_is_harm
            and any(h.start <= c.start and c.end <= h.end for h in hits)
        ]
        clause = bisect.bisect_right(cuts, hits[0].head) - 1
        free = [c for c in conditions if not consumed(c)]
        in_clause = [c for c in free if bisect.bisect_right(cuts, c.start) - 1 == clause]
        if category.with_condition_becomes and any(not c.flag for c in in_clause):
            target = codebook.category(category.with_condition_becomes)
            why.append(f"{category.id} framed as treating a named condition: {target.id}")
            category = target
        chosen = own + [c.id for c in (in_clause or free)]
        if chosen:
            why.append("condition named in the sentence")
        claim = claims.get(category.id)
        if claim is None:
            claims[category.id] = Claim(category, hits, certainty, [], unique(chosen), why)
        else:
            claim.hits += hits
            claim.conditions = unique(claim.conditions + chosen)
            claim.why += why
            claim.certainty = max(claim.certainty, certainty, key=CERTAINTIES.index)
    named = unique([p.id for p in procedures if not p.flag])
    for claim in claims.values():
        claim.procedures = named
        if named:
            claim.why.append("procedure named in the sentence")
    return list(claims.values())


@dataclass
class Page:
    """One document as the rules read it, sentence by sentence."""

    sentences: list[dict]
    found: list[tuple[str, list[Mention], list[Mention]]]  # body, procedures, conditions
    hits: list[list[Hit]]  # cue hits ([] where no claim can stand)
    reasons: list[str]  # why a sentence carries no claim by the rules ("" when it may)
    claims: list[list[Claim]]  # the rules' claims, before attribution
    topics: dict[str, str]


def read_page(doc: str, text: str, codebook: Codebook, features: bool | None = None) -> Page:
    """Segment a document, find its mentions and cues, code it by the rules.
    With ``features`` (default: when the codebook has a model) the cues are
    also found in the lines the learned coder reads beside those the rules
    code (headings that may be bare list items or table cells)."""
    if features is None:
        features = codebook.model is not None
    hit_kinds = CODED_KINDS if features else CLAIM_KINDS
    sentences = segment_document(doc, text, codebook)
    found, hits, reasons, claims = [], [], [], []
    proc_counts: Counter[str] = Counter()
    cond_counts: Counter[str] = Counter()
    for s in sentences:
        body = text[s["body_start"] : s["end"]]
        procs, conds = find_procedures(body, codebook), find_conditions(body, codebook)
        found.append((body, procs, conds))
        if s["kind"] not in ("reference", "boilerplate"):
            proc_counts.update(p.id for p in procs if not p.flag)
            cond_counts.update(c.id for c in conds)
        lead_in = sentences[s["lead_in"]]["sentence"] if s["lead_in"] >= 0 else ""
        sentence_hits = find_hits(body, procs, codebook, lead_in) if s["kind"] in hit_kinds else []
        hits.append(sentence_hits)
        if s["kind"] not in CLAIM_KINDS:
            reasons.append(s["kind"])
            claims.append([])
            continue
        reason = not_a_claim(body, procs, conds, codebook)
        reasons.append(reason)
        claims.append(
            [] if reason else code_sentence(body, procs, conds, codebook, list(sentence_hits))
        )
    topics = {
        "procedures": topic(proc_counts, "procedures", codebook),
        "conditions": topic(cond_counts, "conditions", codebook),
    }
    return Page(sentences, found, hits, reasons, claims, topics)


def context_of(page: Page, i: int) -> int:
    """The sentence that sentence ``i`` continues: its list lead-in, else the
    heading or the line ending in ":" right above it; -1 when none."""
    s = page.sentences[i]
    if s["lead_in"] >= 0:
        return s["lead_in"]
    if i and page.sentences[i - 1]["line"] != s["line"]:
        previous = page.sentences[i - 1]
        if previous["kind"] == "heading" or previous["sentence"].rstrip().endswith(":"):
            return i - 1
    return -1


def page_features(page: Page, codebook: Codebook) -> pd.DataFrame:
    """The features table (:mod:`analysis.features`) of the sentences the
    learned coder decides on, indexed by sentence position."""
    rows, index = [], []
    for i, s in enumerate(page.sentences):
        if s["kind"] not in CODED_KINDS:
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
            hedged=bool(codebook.any_hedge.search(body)),
            negated=bool(codebook.any_negation.search(body)),
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
    return pd.DataFrame(rows, index=index, columns=FEATURE_COLUMNS)


def label_of(category: Category) -> str:
    return f"{category.type}/{category.id}"


def learned_certainty(hits: list[Hit], body: str, category: Category, cb: Codebook) -> tuple:
    """(certainty, why) of a claim the model made: the certainty of the
    sentence's cues of the same type where there are some, else negated when
    the sentence denies an effect as a whole, else hedged by a hedge
    anywhere in it."""
    fixed = cb.fixed_certainty.get(category.type)
    if fixed:
        return fixed, f"{category.type} claims are {fixed}"
    same = [h for h in hits if h.category.type == category.type]
    if same:
        cuts = clause_cuts(body, cb)
        triggers = Triggers.find(body, cb)
        own = [(h.start, h.end) for h in same]
        certainty, why = max(
            (certainty_of(h, body, cuts, own, triggers, cb) for h in same),
            key=lambda cw: CERTAINTIES.index(cw[0]),
        )
        return certainty, why
    denied = cb.denial.search(body)
    if denied:
        return "negated", f"the sentence denies the effect: {denied.group()!r}"
    hedge = cb.any_hedge.search(body)
    if hedge:
        return "hedged", f"hedged by {hedge.group()!r} in the sentence"
    return "asserted", "no hedge in the sentence"


def apply_model(pages: list[Page], codebook: Codebook) -> None:
    """Add the claims the learned coder finds and the cues missed. A cue's
    claim stands (the codebook is the coder's explainable backbone) and is
    marked with the model's probability; a category the model finds with no
    claim of the rules becomes a claim explained by the terms that weighed
    most. On sites left out of training, keeping every cue's claim scores
    as well as letting the model overrule them, and explains more. The
    pages are decided together: the vectorizers' cost is per call."""
    from analysis.model import decide, top_terms

    model = codebook.model
    tables = [page_features(page, codebook) for page in pages]
    where = [(page, i) for page, table in zip(pages, tables, strict=True) for i in table.index]
    if not where:
        return
    prob, x = decide(model, pd.concat(tables, ignore_index=True))
    decided = prob >= model.threshold
    column = {label: j for j, label in enumerate(model.labels)}
    for row, (page, i) in enumerate(where):
        body, procs, conds = page.found[i]
        claims = page.claims[i]
        ruled = {label_of(c.category) for c in claims}
        for claim in claims:
            j = column.get(label_of(claim.category))
            if j is not None:
                claim.why.append(f"model p={prob[row, j]:.2f}")
        for j in np.flatnonzero(decided[row]):
            label = model.labels[j]
            if label in ruled:
                continue
            category = codebook.category(label.split("/", 1)[1])
            certainty, why = learned_certainty(page.hits[i], body, category, codebook)
            terms = ", ".join(repr(t) for t in top_terms(model, x, row, label))
            terms = terms or "its features together"
            claims.append(
                Claim(
                    category,
                    [h for h in page.hits[i] if h.category.id == category.id],
                    certainty,
                    unique([p.id for p in procs if not p.flag]),
                    unique([c.id for c in conds]),
                    [f"{category.id} learned (model p={prob[row, j]:.2f}), weighed by {terms}", why]
                    + (["condition named in the sentence"] if conds else [])
                    + (["procedure named in the sentence"] if procs else []),
                )
            )


Coding = list[tuple[dict, str, list[Claim]]]


def code_documents(items: list[tuple[str, str]], codebook: Codebook) -> list[Coding]:
    """Every sentence of each (doc, text) with why it carries no claim (""
    when it may) and its claims, attributed. The rules read each page; the
    codebook's learned coder, when it has one, adds what the cues missed.
    Every command codes through here: :func:`extract_documents` and
    :mod:`analysis.explain` both read this."""
    pages = [read_page(doc, text, codebook) for doc, text in items]
    if codebook.model is not None:
        apply_model(pages, codebook)
    return [attribute(page, text, codebook) for page, (_, text) in zip(pages, items, strict=True)]


def code_document(doc: str, text: str, codebook: Codebook) -> Coding:
    """:func:`code_documents` of one document."""
    return code_documents([(doc, text)], codebook)[0]


def attribute(page: Page, text: str, codebook: Codebook) -> Coding:
    """Each claim's procedures and conditions from its context where the
    sentence names none: list label, lead-in, section heading, document."""

    def named(procs: list[Mention], conds: list[Mention], attr: str) -> list[str]:
        if attr == "procedures":
            return unique([p.id for p in procs if not p.flag])
        return unique([c.id for c in conds])

    def context(sid: int, attr: str) -> list[str]:
        return named(*page.found[sid][1:], attr) if sid >= 0 else []

    coded = []
    for i, s in enumerate(page.sentences):
        claims = []
        label = text[s["start"] : s["body_start"]]  # "Chemical peels: ..." names its subject
        in_label = (
            (find_procedures(label, codebook), find_conditions(label, codebook))
            if label and page.claims[i]
            else ([], [])
        )
        for claim in page.claims[i]:
            for attr in ("procedures", "conditions"):
                if getattr(claim, attr):
                    continue
                for source, ids in (
                    ("list label", named(*in_label, attr)),
                    ("list lead-in", context(s["lead_in"], attr)),
                    ("section heading", context(s["section"], attr)),
                ):
                    if ids:
                        setattr(claim, attr, ids)
                        claim.why.append(f"{attr[:-1]} from the {source}")
                        break
                else:
                    if page.topics[attr]:
                        setattr(claim, attr, [page.topics[attr]])
                        claim.why.append(f"{attr[:-1]} from the document topic")
            if claim.procedures:  # a claim about no listed procedure is not coded
                claims.append(claim)
        reason = "" if claims else (page.reasons[i] or "no cue")
        coded.append((s, reason, claims))
    return coded


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


def quantity_of(sentence: str, codebook: Codebook) -> str:
    """The first number the sentence states for an effect (a percentage, a
    ratio, a count of patients, a size of effect, a duration: the
    codebook's ``quantities``), or ""."""
    found = [m for _, pattern in codebook.quantities if (m := pattern.search(sentence))]
    return min(found, key=lambda m: (m.start(), -m.end())).group(0) if found else ""


def claim_rows(doc: str, coding: Coding, codebook: Codebook) -> list[dict]:
    """The claims table's rows of one coded document."""
    model = codebook.model
    model_version, model_sha256 = (model.version, model.sha256) if model else ("rules", "")
    rows = []
    for s, _, claims in coding:
        base = s["body_start"]
        quantity = quantity_of(s["sentence"], codebook) if claims else ""
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
                            "certainty": claim.certainty,
                            "procedure": procedure,
                            "condition": condition,
                            "cue": " | ".join(unique([h.text for h in claim.hits])),
                            "cue_start": cue_start,
                            "cue_end": cue_end,
                            "quantified": bool(quantity),
                            "quantity": quantity,
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
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)
