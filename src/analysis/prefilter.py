"""Which cues can match a sentence, found in one pass over it.

Running every cue pattern of the codebook over every sentence costs one
regular-expression scan per cue. Most cues can only match where one of a few
literal words starts ("stimulat", "promot", ...): :func:`literal_heads`
reads those *heads* off the compiled pattern, and :class:`Prefilter` finds
every head in a sentence with one Aho-Corasick scan (pyahocorasick), so only
the cues whose heads occur are run. A cue whose matches need not start with
a literal (a leading ``\\w+`` or a character class) has no heads and always
runs. The prefilter only skips cues that cannot match: the claims are the
same with or without it.
"""

from __future__ import annotations

import re
from re import _constants as C  # noqa: N812 - the parser's own names
from re import _parser as parser

MAX_HEADS = 400  # more alternatives than this: not worth indexing
HEAD_CHARS = 5  # a head longer than this says no more about a match


def literal_heads(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Lower-case strings one of which every match of ``pattern`` starts
    with, or None when no such set is known."""
    try:
        parsed = list(parser.parse(pattern.pattern, pattern.flags))
        heads = _heads(parsed, "")
    except (RecursionError, re.error, TypeError, ValueError):
        return None
    if heads is None or not heads or "" in heads or len(heads) > MAX_HEADS:
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


class Prefilter:
    """Cue names by their heads. :meth:`matches` runs only the cues whose
    heads occur in a sentence, and each only where one of its heads starts."""

    def __init__(self, cues: dict[str, re.Pattern[str]]):
        import ahocorasick

        self.patterns = cues
        self.automaton = ahocorasick.Automaton()
        by_head: dict[str, set[str]] = {}
        always = set()
        for name, pattern in cues.items():
            heads = literal_heads(pattern)
            if heads is None:
                always.add(name)
                continue
            for head in heads:
                by_head.setdefault(head, set()).add(name)
        for head, names in by_head.items():
            self.automaton.add_word(head, (len(head), tuple(sorted(names))))
        self.always = frozenset(always)
        self.indexed = bool(by_head)
        if self.indexed:
            self.automaton.make_automaton()

    def starts(self, text: str) -> dict[str, list[int]] | None:
        """Where each cue may start a match in ``text`` (the cues that
        cannot match are absent), or None when positions are not known
        (lower-casing changed the text's length)."""
        lowered = text.lower()
        if len(lowered) != len(text):
            return None
        found: dict[str, set[int]] = {}
        if self.indexed:
            for end, (length, names) in self.automaton.iter(lowered):
                for name in names:
                    found.setdefault(name, set()).add(end - length + 1)
        return {name: sorted(at) for name, at in found.items()}

    def matches(self, name: str, text: str, starts: dict[str, list[int]] | None) -> list[re.Match]:
        """The matches ``finditer`` gives for cue ``name`` in ``text``."""
        pattern = self.patterns[name]
        if starts is None or name in self.always:
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
