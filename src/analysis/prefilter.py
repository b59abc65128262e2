"""Which cues can match a sentence, found in one pass over it.

Running every cue pattern of the codebook over every sentence costs one
regular-expression scan per cue. Most cues can only match where one of a few
literal words starts ("stimulat", "promot", ...): :func:`literal_heads`
reads those *heads* off the compiled pattern, and :class:`Prefilter` finds
every head in a sentence with one Aho-Corasick scan (pyahocorasick), so only
the cues whose heads occur are run. A cue whose matches need not start with
a literal (a leading ``\\w+`` or a character class), or may start with a
single letter, has no heads: it runs on the whole of every sentence that
holds one of its factors (below), or of every sentence. The prefilter only skips cues that cannot match: the claims are the
same with or without it.

A head says where a match may start; many heads are common words ("is",
"can", a digit). :func:`literal_factors` reads off the pattern the words one
of which every match must *contain* ("cure" in "is not a cure"), and a cue
whose heads occur runs only if one of its factors occurs too. The names of
procedures and conditions are *located* like cues (matched where their heads
start). The codebook's other patterns run on a sentence (hedges, negations,
a category's exclusions, a cue's required predicate, boilerplate,
quantities) are *gated*: a pattern none of whose factors occurs in a
sentence is not run on it or on any part of it. A digit (``\\d``: any
decimal digit, not only 0-9) is a factor too, rare in prose: a quantity
waits for a number. One automaton holds every head and factor; a document
is scanned once (:class:`TextScan`) and the scan of each of its sentences
is read off that pass."""

from __future__ import annotations

import functools
import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from re import _constants as C  # noqa: N812 - the parser's own names
from re import _parser as parser
from typing import Any, NamedTuple

MAX_HEADS = 400  # more alternatives than this: not worth indexing
HEAD_CHARS = 5  # a head longer than this says no more about a match
# A head of one character ("a" in "a series of") starts inside most words
# (about one "a" for every two words of prose): not worth indexing either.
MIN_HEAD_CHARS = 2
MIN_FACTOR = 3  # a required literal shorter than this is too common to tell


def literal_heads(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Lower-case strings one of which every match of ``pattern`` starts
    with, or None when no such set is known."""
    try:
        parsed = list(parser.parse(pattern.pattern, pattern.flags))
        heads = _heads(parsed, "")
    except (RecursionError, re.error, TypeError, ValueError):
        return None
    if heads is None or not heads or len(heads) > MAX_HEADS:
        return None
    if min(map(len, heads)) < MIN_HEAD_CHARS:
        return None
    return frozenset(heads)


def _heads(seq: list, acc: str) -> set[str] | None:
    """Heads of the matches of the parsed sequence ``seq``, after ``acc``."""
    if len(acc) >= HEAD_CHARS:
        return {acc}
    if not seq:
        return {acc} if acc else None
    (op, av), rest = seq[0], seq[1:]
    if op in (C.AT, C.ASSERT, C.ASSERT_NOT):  # zero-width: look past it
        return _heads(rest, acc)
    if op is C.LITERAL:
        return _heads(rest, acc + chr(av).lower())
    if op is C.SUBPATTERN:
        return _heads(list(av[-1]) + rest, acc)
    if op is C.BRANCH:
        return _union(_heads(list(item) + rest, acc) for item in av[1])
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        low, _, item = av
        once = _heads(list(item) + rest, acc)
        return once if low >= 1 else _union([once, _heads(rest, acc)])
    if op is C.IN:  # a small set of characters ("[1-9]"): each is a head
        chars = _set_chars(av)
        if chars is not None:
            return _union(_heads(rest, acc + c) for c in chars)
    return {acc} if acc else None  # a class, any character, ...: the head ends


def literal_factors(pattern: re.Pattern[str], shortest: int = MIN_FACTOR) -> frozenset[str] | None:
    """Lower-case strings one of which every match of ``pattern`` contains,
    each at least ``shortest`` long (the most telling such set), or None."""
    try:
        return _best(_required(list(parser.parse(pattern.pattern, pattern.flags))), shortest)
    except (RecursionError, re.error, TypeError, ValueError):
        return None


def _required(seq: list) -> list[frozenset[str]]:
    """Sets of strings every match of the parsed sequence contains one of."""
    out: list[frozenset[str]] = []
    run = ""
    for op, av in seq:
        if op is C.LITERAL:
            run += chr(av).lower()
            continue
        if run:
            out.append(frozenset({run}))
            run = ""
        if op is C.SUBPATTERN:
            out += _required(list(av[-1]))
        elif op is C.BRANCH:
            alternatives = [_best(_required(list(item)), 1) for item in av[1]]
            if alternatives and all(a is not None for a in alternatives):
                out.append(frozenset().union(*alternatives))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
            out += _required(list(av[2]))
        elif op is C.IN and (digits := _digits_of(av)):
            out.append(digits)
    if run:
        out.append(frozenset({run}))
    return out


def _best(sets: list[frozenset[str]], shortest: int) -> frozenset[str] | None:
    """The set whose shortest string is longest (the rarest to occur), if
    that string is at least ``shortest`` long. Digits are rare in prose: a
    number counts as long as a word of ``MIN_FACTOR`` letters."""
    telling = [
        s
        for s in sets
        if s and sum(not x.isdecimal() for x in s) <= MAX_HEADS and _shortest(s) >= shortest
    ]
    return max(telling, key=lambda s: (_shortest(s), -len(s))) if telling else None


def _shortest(strings: frozenset[str]) -> int:
    return min(MIN_FACTOR if x.isdecimal() else len(x) for x in strings)


def _digits_of(items: list) -> frozenset[str] | None:
    """The characters a parsed character set of digits can match (``\\d``:
    every Unicode decimal digit, as ``re`` matches them; ``[0-9]``), or None
    for a set that holds anything else."""
    chars: set[str] = set()
    for op, av in items:
        if op is C.CATEGORY and av in (C.CATEGORY_DIGIT, C.CATEGORY_UNI_DIGIT):
            chars |= _decimal_digits()
        elif op is C.LITERAL and chr(av).isdecimal():
            chars.add(chr(av))
        elif (
            op is C.RANGE
            and av[1] - av[0] < 16
            and all(chr(c).isdecimal() for c in range(av[0], av[1] + 1))
        ):
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        else:
            return None
    return frozenset(chars)


@functools.cache
def _decimal_digits() -> frozenset[str]:
    """Every character ``\\d`` matches in a text pattern (not only 0-9)."""
    return frozenset(c for c in map(chr, range(sys.maxunicode + 1)) if c.isdecimal())


def _set_chars(items: list) -> set[str] | None:
    """The characters of a parsed character set, or None for a negated,
    categorised or large one."""
    chars: set[str] = set()
    for op, av in items:
        if op is C.LITERAL:
            chars.add(chr(av).lower())
        elif op is C.RANGE and av[1] - av[0] < 16:
            chars.update(chr(c).lower() for c in range(av[0], av[1] + 1))
        else:
            return None
    return chars


def _union(parts) -> set[str] | None:
    out: set[str] = set()
    for part in parts:
        if part is None:
            return None
        out |= part
        if len(out) > MAX_HEADS:
            return None
    return out


@dataclass(frozen=True, slots=True)
class Scan:
    """What one scan of a text tells: where each cue may start (None: not
    known, run every cue), and which gated patterns may match (None: all)."""

    starts: dict[str, list[int]] | None
    open: frozenset[str] | None

    def may(self, name: str) -> bool:
        """Whether the gated pattern ``name`` may match the text or a part of it."""
        return self.open is None or name in self.open


UNKNOWN = Scan(None, None)


class _Index(NamedTuple):
    automaton: Any  # ahocorasick.Automaton: word -> (length, cues, patterns, spanned ones)
    always: frozenset[str]  # cues with no heads and no factors: run on every text
    whole: frozenset[str]  # cues with factors but no heads: run on a text holding a factor
    free: frozenset[str]  # cues and names with no factor: their heads alone locate them
    ungated: frozenset[str]  # gated patterns with no factor: always possible
    spanned: frozenset[str]  # gated patterns whose factors' places a TextScan keeps
    indexed: bool  # whether the automaton holds any word


class Prefilter:
    """Cue names by their heads and the words they need, and gated patterns
    by theirs, in one automaton. :meth:`matches` runs only the cues whose
    heads and needed words occur in a sentence, and each only where one of
    its heads starts."""

    def __init__(
        self,
        cues: dict[str, re.Pattern[str]],
        gated: dict[str, re.Pattern[str]] | None = None,
        located: dict[str, re.Pattern[str]] | None = None,
        spanned: frozenset[str] | None = None,
    ):
        """``cues`` are run where their heads occur, in the order given
        (:meth:`candidates`); ``located`` patterns (the names of procedures
        and conditions) are found the same way (:meth:`matches`) but are no
        cues; ``gated`` patterns are only said to be possible or not
        (:meth:`Scan.may`). ``spanned`` names the gated patterns asked of
        any part of a text (:meth:`TextScan.may`): a scan of a whole text
        keeps where their factors stand, and only theirs (None: every gated
        pattern's). The automaton is built on first use: a process
        that reads the codebook for its names (a report's notebook) never
        pays for it."""
        self.arguments = (cues, gated, located, spanned)  # what made it, to make another
        self.spanned = spanned
        self.rank = {name: i for i, name in enumerate(cues)}
        self.patterns = {**cues, **(located or {})}

    @functools.cached_property
    def index(self) -> _Index:
        """The automaton of every head and factor, and what it leaves out."""
        import ahocorasick

        gated = self.arguments[1] or {}
        spanned = frozenset(n for n in gated if self.spanned is None or n in self.spanned)
        automaton = ahocorasick.Automaton()
        by_head: dict[str, set[str]] = {}
        by_factor: dict[str, set[str]] = {}
        headless = set()
        needs: dict[str, frozenset[str]] = {}  # cue -> factors one of which must occur
        for name, pattern in self.patterns.items():
            factors = literal_factors(pattern)
            if factors is not None:
                needs[name] = factors
                for factor in factors:
                    by_factor.setdefault(factor, set()).add(name)
            heads = literal_heads(pattern)
            if heads is None:
                headless.add(name)
                continue
            for head in heads:
                by_head.setdefault(head, set()).add(name)
        ungated = set()
        for name, pattern in gated.items():
            # a pattern of names may be gated by short ones ("kp")
            factors = literal_factors(pattern) or literal_factors(pattern, 2)
            if factors is None:
                ungated.add(name)
            for factor in factors or ():
                by_factor.setdefault(factor, set()).add(name)
        for word in set(by_head) | set(by_factor):
            factor_of = tuple(sorted(by_factor.get(word, ())))
            gates = tuple(name for name in factor_of if name in spanned)
            entry = (len(word), frozenset(by_head.get(word, ())), factor_of, gates)
            automaton.add_word(word, entry)
        indexed = bool(by_head) or bool(by_factor)
        if indexed:
            automaton.make_automaton()
        return _Index(
            automaton=automaton,
            always=frozenset(headless - needs.keys()),
            whole=frozenset(headless & needs.keys()),
            free=frozenset(name for name in self.patterns if name not in needs),  # no factor
            ungated=frozenset(ungated),
            spanned=spanned,
            indexed=indexed,
        )

    def scan(self, text: str) -> Scan:
        """One pass over ``text``: where each cue may start a match (the
        cues that cannot match are absent) and which gated patterns may
        match; :data:`UNKNOWN` when lower-casing changed the text's length."""
        found = self.hits(text)
        return UNKNOWN if found is None else self._found(found, 0)

    def hits(self, text: str) -> list[tuple[int, tuple]] | None:
        """Every head and factor in ``text`` as the automaton gives them:
        (index of the last character, (length, heads' cues, factors'
        patterns, the spanned ones among them)), in the order of their ends;
        None when lower-casing changed the text's length."""
        lowered = text.lower()
        if len(lowered) != len(text):
            return None
        index = self.index
        return list(index.automaton.iter(lowered)) if index.indexed else []

    def _found(self, found: list[tuple[int, tuple]], offset: int) -> Scan:
        """A scan of the hits that start at ``offset`` or later (they end
        inside the text already): the factors first, then the heads of the
        cues that may match, as offsets from ``offset``."""
        present: set[str] = set()
        heads = []
        for end, (length, names, factor_of, _) in found:
            start = end - length + 1
            if start < offset:
                continue
            if factor_of:
                present.update(factor_of)
            if names:
                heads.append((start - offset, names))
        allowed = self.index.free | present
        # a cue that holds a factor here but has no heads runs on the whole text
        starts: dict[str, set[int]] = {name: set() for name in self.index.whole & present}
        for at, names in heads:
            for name in names & allowed:
                starts.setdefault(name, set()).add(at)
        return Scan({n: sorted(at) for n, at in starts.items()}, self.index.ungated | present)

    def candidates(self, starts: dict[str, list[int]] | None) -> list[str]:
        """The cues to run on a text with these ``starts``, in the order the
        cues were given: every cue when the starts are not known."""
        if starts is None:
            return list(self.rank)
        rank = self.rank
        return sorted((starts.keys() | self.index.always) & rank.keys(), key=rank.__getitem__)

    def matches(self, name: str, text: str, starts: dict[str, list[int]] | None) -> list[re.Match]:
        """The matches ``finditer`` gives for cue ``name`` in ``text``."""
        pattern = self.patterns[name]
        if starts is None or name in self.index.always or name in self.index.whole:
            return list(pattern.finditer(text))
        out: list[re.Match] = []
        end = 0
        for at in starts.get(name, ()):
            if at < end:
                continue  # inside the previous match: finditer would not look here
            m = pattern.match(text, at)
            if m is not None and m.end() > m.start():
                out.append(m)
                end = m.end()
        return out


class TextScan:
    """One pass of a prefilter's automaton over a whole text, and the scan of
    any part of it read off that pass: what lies wholly inside the part.
    When lower-casing changes the text's length, each part is scanned on
    its own."""

    def __init__(self, prefilter: Prefilter, text: str):
        self.prefilter, self.text = prefilter, text
        self.hits = prefilter.hits(text)
        # spanned pattern -> (starts, ends) of its factors' hits, in the order of their ends
        self.spans: dict[str, tuple[list[int], list[int]]] = {}
        # the hits of spanned patterns' factors: their ends, (start, patterns)
        self.spanned_ends: list[int] = []
        self.spanned_hits: list[tuple[int, tuple[str, ...]]] = []
        for end, (length, _, _, gates) in self.hits or ():
            if gates:
                self.spanned_ends.append(end + 1)
                self.spanned_hits.append((end - length + 1, gates))
            for name in gates:
                starts, ends = self.spans.setdefault(name, ([], []))
                starts.append(end - length + 1)
                ends.append(end + 1)
        self.ends = list(map(itemgetter(0), self.hits or ()))  # last characters
        index = prefilter.index
        self.open = index.spanned & index.ungated  # spanned patterns always possible

    def of(self, start: int, end: int) -> Scan:
        """The scan of ``text[start:end]``, as :meth:`Prefilter.scan` gives it."""
        if self.hits is None:
            return self.prefilter.scan(self.text[start:end])
        inside = self.hits[bisect_left(self.ends, start) : bisect_right(self.ends, end - 1)]
        return self.prefilter._found(inside, start)

    def within(self, start: int, end: int, names: Iterable[str] | None = None) -> set[str]:
        """Those of ``names`` (gated patterns; by default the spanned ones)
        that may match ``text[start:end]`` or a part of it, as :meth:`may`
        says of each: one look at the whole text's hits for all of them (a
        pattern the scan keeps no places of is asked of the part's own
        scan)."""
        index = self.prefilter.index
        asked = index.spanned if names is None else set(names)
        if self.hits is None:
            scan = self.of(start, end)
            return {n for n in asked if scan.may(n)}
        first = bisect_left(self.spanned_ends, start + 1)
        last = bisect_right(self.spanned_ends, end)
        inside = {n for at, gates in self.spanned_hits[first:last] if at >= start for n in gates}
        out = asked & (self.open | inside)
        others = asked - index.spanned
        if others:
            scan = self.of(start, end)
            out |= {n for n in others if scan.may(n)}
        return out

    def may(self, name: str, start: int, end: int) -> bool:
        """:meth:`Scan.may` of ``text[start:end]``, for one gated pattern."""
        if self.hits is None or name not in self.prefilter.index.spanned:
            return self.of(start, end).may(name)
        if name in self.prefilter.index.ungated:
            return True
        starts, ends = self.spans.get(name, ((), ()))
        first, last = bisect_left(ends, start + 1), bisect_right(ends, end)
        return any(starts[k] >= start for k in range(first, last))
