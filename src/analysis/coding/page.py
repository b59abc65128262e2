"""A page as the coder reads it: sentences, the names they mention, and the
place each holds in the page's structure.

Takes one document (``doc``, ``text``); :func:`read_page` segments it
(:mod:`analysis.segment`) and finds every procedure and condition named in
each sentence. The :class:`Page` it returns is what every component of the
coding pipeline (:mod:`analysis.coding`) reads and adds to: the cues found in
each sentence, why a sentence carries no claim, and each sentence's claims.

The structure a coder reads a sentence in (GUIDELINES.md "Attribution": the
sentence, its paragraph or section, the document) is kept as positions in
the page: a sentence's list lead-in (``lead_in``), its section heading
(``section``), the line it continues (:func:`context_of`) and the page's
title (:attr:`Page.title`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analysis.codebook import Category, Codebook
from analysis.coding.clauses import clause_cuts
from analysis.prefilter import UNKNOWN, Scan, TextScan
from analysis.segment import segment_document

# Kinds of line no claim can stand on, whose names still tell what the page
# is about.
NOT_TOPICAL = ("reference", "boilerplate")
# How many of a page's first lines may hold its title: pages open with a
# site's furniture (a date, a menu, a phone number) before it.
TITLE_LINES = 3
# A line of text this long under a heading makes it a section heading.
PARAGRAPH_WORDS = 12


@dataclass(slots=True)
class Mention:
    """A procedure or condition named in a sentence body."""

    id: str
    start: int  # offsets inside the sentence body
    end: int
    flag: bool = False  # comparator (procedures) or population (conditions)


@dataclass(slots=True)
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


@dataclass(slots=True)
class Claim:
    """One claim of a sentence: a category, the cues behind it (none for a
    claim the learned coder made alone), its certainty and attribution, and
    why each was decided (``why``, read by ``analysis explain`` and the
    claims table's ``rule``)."""

    category: Category
    hits: list[Hit]
    certainty: str = "asserted"
    procedures: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)
    source: str = "cue"  # cue | learned
    probability: float | None = None  # the learned coder's, when it has one
    # where each attribution came from: "sentence", "list lead-in", ...
    levels: dict[str, str] = field(default_factory=dict)
    quantity: str = ""  # the number its sentence states for the effect, as written


@dataclass
class Page:
    """One document as the coder reads it, sentence by sentence."""

    doc: str
    text: str
    sentences: list[dict]  # segment.py's rows
    found: list[tuple[str, list[Mention], list[Mention]]]  # body, procedures, conditions
    hits: list[list[Hit]] = field(default_factory=list)  # cue hits per sentence
    reasons: list[str] = field(default_factory=list)  # why no claim ("" when one may stand)
    claims: list[list[Claim]] = field(default_factory=list)
    title: int = -1  # sid of the page's title line, -1 when none is found
    scans: list[Scan] = field(default_factory=list)  # the prefilter's scan of each body
    scanned: TextScan | None = None  # the prefilter's scan of the whole text
    extra: dict[str, Any] = field(default_factory=dict)  # components' own notes
    clause_starts: dict[int, list[int]] = field(default_factory=dict)  # see cuts()

    def body(self, i: int) -> str:
        return self.found[i][0]

    def cuts(self, i: int, codebook: Codebook) -> list[int]:
        """Where the clauses of sentence ``i``'s body start
        (:func:`~analysis.coding.clauses.clause_cuts`), found once for the
        components that read them (cues, certainty, attribution)."""
        found = self.clause_starts.get(i)
        if found is None:
            found = self.clause_starts[i] = clause_cuts(self.body(i), codebook)
        return found


def find_procedures(body: str, codebook: Codebook, scan: Scan = UNKNOWN) -> list[Mention]:
    """The procedures named in a sentence body (``scan``: the prefilter's
    scan of it), each flagged when named as a comparison."""
    out = []
    for m in codebook.prefilter.matches("procedures", body, scan.starts):
        comparator = bool(codebook.comparators.search(body[max(0, m.start() - 40) : m.start()]))
        out.append(
            Mention(codebook.procedures.canonical(m.group()), m.start(), m.end(), comparator)
        )
    return out


def find_conditions(body: str, codebook: Codebook, scan: Scan = UNKNOWN) -> list[Mention]:
    """The conditions named in a sentence body (``scan``: the prefilter's
    scan of it), each flagged when named as a population."""
    out = []
    for m in codebook.prefilter.matches("conditions", body, scan.starts):
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


def named(mentions: list[Mention], kind: str) -> list[str]:
    """The ids a sentence names: procedures not named as a comparison; every
    condition."""
    if kind == "procedures":
        return unique([m.id for m in mentions if not m.flag])
    return unique([m.id for m in mentions])


def read_page(doc: str, text: str, codebook: Codebook) -> Page:
    """Segment a document and find the names each sentence mentions."""
    scanned = TextScan(codebook.prefilter, text)  # one pass finds every literal
    sentences = segment_document(doc, text, codebook, scanned)
    found, scans = [], []
    for s in sentences:
        body = text[s["body_start"] : s["end"]]
        scan = scanned.of(s["body_start"], s["end"])
        procedures = find_procedures(body, codebook, scan)
        conditions = find_conditions(body, codebook, scan)
        found.append((body, procedures, conditions))
        scans.append(scan)
    page = Page(doc, text, sentences, found, scans=scans, scanned=scanned)
    page.hits = [[] for _ in sentences]
    page.reasons = ["" for _ in sentences]
    page.claims = [[] for _ in sentences]
    page.title = title_of(page)
    return page


def title_of(page: Page) -> int:
    """The page's title: the first heading (or headline asking a question)
    among its first lines, or -1."""
    for s in page.sentences:
        if s["line"] >= TITLE_LINES:
            break
        if s["kind"] in ("heading", "question") and s["line"] != page.sentences[-1]["line"]:
            return s["sid"]
    return -1


def opens_section(page: Page, i: int) -> bool:
    """Whether sentence ``i`` is a heading over a paragraph of text: a
    section heading names a topic ("Risks", "Why results vary") and is never
    a claim (GUIDELINES.md "Not claims"), where a short line in a run of
    short lines may be a bare list item or a table cell that is one."""
    s = page.sentences[i]
    if s["kind"] != "heading":
        return False
    following = next((t for t in page.sentences[i + 1 :] if t["line"] != s["line"]), None)
    return (
        following is not None
        and following["kind"] == "text"
        and len(page.text[following["start"] : following["end"]].split()) >= PARAGRAPH_WORDS
    )


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
