"""Documents become sentences, each with the part it plays in the page.

GUIDELINES.md: "A sentence is the text between sentence ends; a line of its
own (a heading, a link title) is its own sentence." Lines are split at
sentence ends (``.``, ``!``, ``?`` followed by a capital, a digit or a quote),
not after common abbreviations or initials.

Takes the documents table (``doc``, ``text``); returns the sentences table,
one row per sentence:

==========  ===============================================================
doc         the document
sid         position of the sentence in the document (0, 1, ...)
start, end  character offsets: ``text[start:end] == sentence``
sentence    the sentence text
body_start  offset where the claim text starts (after a list label such as
            "Exfoliation: "); equal to ``start`` when there is none
kind        text, list_item, heading, question, boilerplate, reference (a
            line of the codebook's ``reference_headings`` and what follows
            it, until a line of article text: see :func:`_is_prose`) or
            overlong (over MAX_SENTENCE_CHARS: scraped debris, never coded,
            which also bounds the cost of every pattern on a crafted line);
            only text and list_item sentences can carry claims
line        the line the sentence stands on (a line is a paragraph)
section     sid of the heading the sentence falls under, -1 before any
lead_in     sid of the line ending in ":" that a list item continues, or -1
==========  ===============================================================

A list item is a bulleted line, or a bare one: pages scraped without their
markup keep a list as short lines with no end mark under a lead-in line
("Side effects include:" then "Redness", "Swelling"). Such a line is an item
of the list, not a heading, while the run of short lines lasts.
"""

from __future__ import annotations

import re

import pandas as pd

from analysis.codebook import Codebook
from analysis.prefilter import TextScan
from analysis.schema import SENTENCE_COLUMNS

CLAIM_KINDS = ("text", "list_item")

# Language, not domain: words after which a period does not end a sentence.
ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "vs",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "fig",
        "al",
        "approx",
        "ca",
        "cf",
        "ed",
        "eds",
        "inc",
        "ltd",
        "co",
        "jr",
        "sr",
        "u.s",
        "u.k",
        "dept",
        "est",
        "vol",
        "p",
        "pp",
        "min",
        "max",
        "mt",
    ]
)
LINE = re.compile(r"[^\r\n]+")
END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
NEXT_STARTS_SENTENCE = re.compile(r"\s+[\"'“‘(\[]?[A-Z0-9•\-–*]")
BULLET = re.compile(r"^\s*(?:[-•*–·▪►✓]|\d+[.)])\s+")
TERMINAL = ".!?:;…"
MAX_HEADING_WORDS = 20
MAX_SENTENCE_CHARS = 3000
# "No." abbreviates "number" only before one ("No. 5"); elsewhere it is an
# answer ("No. Peeling is not required.") and ends its own sentence.
NUMBER_ABBREVIATIONS = frozenset(["no", "nos"])
NUMBER_NEXT = re.compile(r"\s+[#\d]")
PROSE_MIN_WORDS = 10  # a line this long after a reference list is article text again
LOOK_BACK = 64  # characters read back from an end mark for the word it ends
WORD_BEFORE_END = re.compile(r"([\w.]+)[.!?…]+[\"'”’)\]]*$")  # the word an end mark ends


def split_line(line: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in one line, relative to the line."""
    spans, start = [], 0
    for match in END.finditer(line):
        end = match.end()
        # the word before the end mark: a bounded look back keeps a long
        # line with many unsplit end marks linear
        word = WORD_BEFORE_END.search(line[max(start, end - LOOK_BACK) : end])
        token = word.group(1).lower().rstrip(".") if word else ""
        if token in ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
            continue
        if token in NUMBER_ABBREVIATIONS and NUMBER_NEXT.match(line, end):
            continue
        following = NEXT_STARTS_SENTENCE.match(line, end)
        if not following:
            continue
        spans.append((start, end))
        start = following.start() + 1
        while start < len(line) and line[start].isspace():
            start += 1
    if line[start:].strip():
        spans.append((start, len(line.rstrip())))
    return spans


def _is_heading(line: str) -> bool:
    stripped = line.rstrip().rstrip("\"'”’)]")
    return (
        bool(stripped)
        and stripped[-1] not in TERMINAL
        and len(stripped.split()) <= MAX_HEADING_WORDS
        and not BULLET.match(line)
    )


def _is_prose(line: str, heading: bool, bullet: bool, codebook: Codebook) -> bool:
    """A line of article text, not an entry of a reference list or of a box
    of related links: a paragraph of some length, ending as sentences end,
    with no mark of a citation (a year in brackets, "et al.", a DOI)."""
    return (
        not heading
        and not bullet
        and len(line.split()) >= PROSE_MIN_WORDS
        and line.rstrip("\"'”’) ")[-1:] in TERMINAL
        and not codebook.citation.search(line)
    )


def segment_document(
    doc: str, text: str, codebook: Codebook, scanned: TextScan | None = None
) -> list[dict]:
    """Sentence rows of one document (see the module docstring); ``scanned``
    (the codebook's prefilter over ``text``) spares the patterns that
    cannot match."""
    rows: list[dict] = []
    section, lead_in, in_references = -1, -1, False
    # each boilerplate pattern is run only where its words occur: most occur
    # nowhere in a document
    boilerplate = [
        (name, p)
        for name, p in ((f"boilerplate#{i}", p) for i, p in enumerate(codebook.boilerplate))
        if scanned is None or scanned.may(name, 0, len(text))
    ]
    title_rows: list[dict] = []
    for line_no, match in enumerate(LINE.finditer(text)):
        raw = match.group()
        if not raw.strip():
            continue
        offset = match.start() + (len(raw) - len(raw.lstrip()))
        line = raw.strip()
        heading = _is_heading(line)
        bullet = bool(BULLET.match(line))
        if codebook.reference_headings.match(line):
            in_references, title_rows = True, []
        elif in_references and _is_prose(line, heading, bullet, codebook):
            # The article goes on after a mid-page "Related articles" box, or
            # a second article follows in the same file: code again from the
            # heading that led to this line, if there was one.
            in_references = False
            for row in title_rows:
                row["kind"] = "heading"
            if title_rows:
                section = title_rows[0]["sid"]
        if heading and lead_in >= 0 and not in_references:
            heading, bullet = False, True  # a bare list item under its lead-in
        if not bullet:
            lead_in = -1
        # the boilerplate patterns that may match in this line: most lines have none
        line_boilerplate = boilerplate
        if scanned is not None and boilerplate:
            line_may = scanned.within(offset, offset + len(line), (n for n, _ in boilerplate))
            line_boilerplate = [(n, p) for n, p in boilerplate if n in line_may]
        line_rows = []
        for i, (s, e) in enumerate(split_line(line)):
            sentence = line[s:e]
            kind = "list_item" if bullet else "text"
            if in_references:
                kind = "reference"
            elif e - s > MAX_SENTENCE_CHARS:
                kind = "overlong"
            elif heading:
                kind = "heading"
            elif sentence.rstrip("\"'”’) ").endswith("?"):
                kind = "question"
            elif any(
                (scanned is None or scanned.may(name, offset + s, offset + e))
                and pattern.search(sentence)
                for name, pattern in line_boilerplate
            ):
                kind = "boilerplate"
            body = 0
            if i == 0 and not heading:
                label = codebook.label.match(sentence)
                if label and len(label.group().split()) <= 8:
                    body = label.end()
            line_rows.append(
                {
                    "doc": doc,
                    "sid": len(rows) + len(line_rows),
                    "start": offset + s,
                    "end": offset + e,
                    "sentence": sentence,
                    "body_start": offset + s + body,
                    "kind": kind,
                    "line": line_no,
                    "section": section,
                    "lead_in": lead_in if bullet else -1,
                }
            )
        rows.extend(line_rows)
        if in_references and heading and line_rows:
            title_rows = line_rows  # the last heading-like line set aside so far
        if heading and line_rows:
            section = line_rows[0]["sid"]
        if line.endswith(":") and line_rows and not heading:
            lead_in = line_rows[-1]["sid"]
    return rows


def segment(documents: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Sentences table of every document (see the module docstring)."""
    rows: list[dict] = []
    for doc, text in zip(documents["doc"], documents["text"], strict=True):
        rows.extend(segment_document(doc, text, codebook))
    return pd.DataFrame(rows, columns=SENTENCE_COLUMNS)
