"""Read, check and compile the codebook (``data/codebook.yml``).

The codebook is the guidelines as data: procedures and conditions with their
synonyms, claim types and categories with their cue patterns, certainty cues,
clause breakers and the cues of text that is never a claim. This module turns
the YAML into a :class:`Codebook` of compiled patterns, once per run, and
refuses a broken codebook before any work starts with an error that names the
entry at fault: invalid YAML (with its line), a key given twice, a pattern
that does not compile or that backtracks catastrophically on a long crafted
line, an id referenced but not defined. YAML is read with a safe loader: a
codebook cannot build Python objects.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import queue
import re
import re._constants as _sre
import re._parser as _parser
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

from analysis import config
from analysis.errors import CodebookError, ModelError
from analysis.prefilter import Prefilter
from analysis.schema import CERTAINTIES

FLAGS = re.IGNORECASE
# Certainty values (GUIDELINES.md "Certainty"), from weakest to strongest change.
MACRO = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# What an entry that failed its check stands for while the others are checked.
NEVER = re.compile(r"(?!)")
# Lines a pattern must get through quickly: long runs of words, commas,
# letters and hyphens, where a pathological pattern backtracks for ever.
CRAFTED = (
    "word " * 800 + "!",
    "may help reduce eczema, " * 120 + "?",
    "a" * 3000 + "!",
    "x-" * 1500 + "?",
)
PATTERN_SECONDS = 0.5
# The shape of a codebook (entries and value types), as JSON Schema: also
# usable by an editor that checks YAML against a schema while one types.
SCHEMA_PATH = Path(__file__).resolve().parent / "codebook.schema.json"
TYPE_WORDS = {
    "string": "a string",
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
    "object": "a mapping (key: value entries)",
    "array": "a list",
}


# libyaml's parser where PyYAML was built with it (its wheels are): a
# codebook is read in 4 ms instead of 70 by every process that codes or draws.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(SafeLoader):  # type: ignore[misc, valid-type]
    """A safe YAML loader that refuses a key given twice in one mapping."""

    def construct_mapping(self, node, deep=False):  # type: ignore[override]
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first given at line {seen[key]})",
                    key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep)


@dataclass(frozen=True)
class Cue:
    """One cue pattern of a category."""

    name: str  # "efficacy#3": category and position, shown by `explain`
    pattern: re.Pattern[str]
    requires: re.Pattern[str] | None = None
    weak: bool = False  # yields to the category's `weak_yields_to`


@dataclass(frozen=True)
class Category:
    type: str
    id: str
    label: str
    cues: tuple[Cue, ...]
    exclude: tuple[re.Pattern[str], ...] = ()
    condition_is_harm: bool = False
    with_condition_becomes: str | None = None
    weak_yields_to: tuple[str, ...] = ()
    description: str = ""  # the guidelines' definition, with their examples


@dataclass(frozen=True)
class Trigger:
    """A certainty cue: a hedge or a negation, with the reach of its scope."""

    name: str
    pattern: re.Pattern[str]
    scope: str = "forward"  # forward | phrase | clause
    words: int = 3


@dataclass(frozen=True)
class Names:
    """Canonical ids with their labels and the synonyms that name them."""

    labels: dict[str, str]  # id -> label
    ids_by_key: dict[str, str]  # a synonym's key (:func:`_key`) -> id

    def canonical(self, surface: str) -> str:
        return self.ids_by_key[_key(surface)]


@dataclass(frozen=True)
class Lexicon(Names):
    """:class:`Names` with their synonyms compiled into one pattern."""

    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Labels:
    """What a report page needs of a codebook (:func:`load_labels`): the
    names of its procedures and conditions, and the labels of its types and
    categories (id -> label)."""

    procedures: Names
    conditions: Names
    types: dict[str, str]
    categories: dict[str, str]


@dataclass(frozen=True)
class Codebook:
    path: str
    version: str
    sha256: str
    procedures: Lexicon
    conditions: Lexicon
    types: dict[str, str]  # type id -> label
    roles: dict[str, str]  # type id -> its role: benefit, harm or caveat ("" when none)
    fixed_certainty: dict[str, str]  # type id -> certainty its claims always get
    categories: tuple[Category, ...]
    prefer: tuple[tuple[str, str], ...]
    hedges: tuple[Trigger, ...]
    negations: tuple[Trigger, ...]
    any_hedge: re.Pattern[str]  # every hedge in one pattern: is there one at all?
    any_negation: re.Pattern[str]
    pseudo: re.Pattern[str]
    denial: re.Pattern[str]  # a sentence that denies an effect as a whole
    negation_window: int
    breakers: re.Pattern[str]
    subordinators: re.Pattern[str]
    irrealis: re.Pattern[str]
    reference_headings: re.Pattern[str]
    citation: re.Pattern[str]  # a line of a reference list, not article text
    background_subjects: re.Pattern[str]
    definition: re.Pattern[str]
    boilerplate: tuple[re.Pattern[str], ...]  # each run on its own, where its words occur
    label: re.Pattern[str]
    comparators: re.Pattern[str]
    population: re.Pattern[str]
    population_after: re.Pattern[str]
    topic_share: dict[str, float]  # procedures / conditions -> share of mentions
    # what a number in a claim's sentence measures -> its pattern (quantified claims)
    quantities: tuple[tuple[str, re.Pattern[str]], ...]
    topic_min_mentions: dict[str, int]
    prefilter: Prefilter = field(repr=False, compare=False)
    # cue name -> its category and cue, for the cues the prefilter lets through
    cue_index: dict[str, tuple[Category, Cue]] = field(
        repr=False, compare=False, default_factory=dict
    )
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    # The learned coder that decides which categories a sentence claims, with
    # this codebook as its vocabulary (analysis.coding.learned); None: the rules alone.
    model: Any = field(repr=False, compare=False, default=None)

    def role(self, type_id: str) -> str:
        """The role a claim type plays (benefit, harm, caveat), "" for none."""
        return self.roles.get(type_id, "")

    def category(self, category_id: str) -> Category:
        for category in self.categories:
            if category.id == category_id:
                return category
        raise KeyError(category_id)

    @property
    def category_ids(self) -> list[str]:
        return [c.id for c in self.categories]


def _key(surface: str) -> str:
    return re.sub(r"[\s\-‐‑–]+", "", surface.lower()).replace("’", "'")


def _synonym_regex(synonym: str) -> str:
    parts = re.split(r"[\s\-]+", synonym.strip())
    return r"[\s\-‐‑]?".join(re.escape(p) for p in parts)


def _names(raw: dict[str, Any], section: str, path: str) -> Names:
    labels, ids_by_key = {}, {}
    for cid, entry in raw.items():  # ids and shapes are the schema's
        where = f"{path}: {section}.{cid}"
        labels[cid] = str(entry.get("label", cid))
        for synonym in entry["synonyms"]:
            key = _key(str(synonym))
            if key in ids_by_key and ids_by_key[key] != cid:
                raise CodebookError(
                    f"{where}: synonym {synonym!r} is also a synonym of {ids_by_key[key]!r}"
                )
            ids_by_key[key] = cid
    return Names(labels=labels, ids_by_key=ids_by_key)


def _lexicon(raw: dict[str, Any], section: str, path: str) -> Lexicon:
    names = _names(raw, section, path)
    alternatives = [_synonym_regex(str(s)) for entry in raw.values() for s in entry["synonyms"]]
    # Longest first, so "acne scars" wins over "acne" and "scars".
    alternatives = sorted(set(alternatives), key=len, reverse=True)
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w-])", FLAGS)
    return Lexicon(labels=names.labels, ids_by_key=names.ids_by_key, pattern=pattern)


class _Compiler:
    """Expands macros and compiles patterns, naming the entry on failure."""

    def __init__(self, path: str, macros: dict[str, str], condition_alternatives: str):
        self.path = path
        self.compiled: list[tuple[str, re.Pattern[str]]] = []
        # every bad entry, named; the loader reports them all at once
        self.errors: list[str] = []
        condition = rf"(?:{condition_alternatives})"
        listed = rf"{condition}(?:\s*(?:,\s*)?(?:and\s+|or\s+|&\s+)?(?:other\s+)?{condition})*"
        self.macros = {"condition": listed}
        for name, value in macros.items():
            self.macros[name] = self.expand(str(value), f"macros.{name}")

    def expand(self, text: str, where: str) -> str:
        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.macros:
                self.errors.append(f"{where}: unknown macro {{{name}}}")
                return NEVER.pattern
            return self.macros[name]

        return MACRO.sub(sub, text)

    def compile(self, text: Any, where: str) -> re.Pattern[str]:
        if not isinstance(text, str) or not text:
            self.errors.append(f"{where}: expected a pattern (a string)")
            return NEVER
        expanded = self.expand(text, where)
        try:
            pattern = re.compile(expanded, FLAGS)
        except re.error as exc:
            self.errors.append(f"{where}: pattern does not compile: {exc}")
            return NEVER
        self.compiled.append((where, pattern))
        return pattern

    def compile_each(self, texts: Any, where: str) -> tuple[re.Pattern[str], ...]:
        """A list of patterns (or one), each compiled on its own."""
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not texts:
            self.errors.append(f"{where}: expected a list of patterns")
            return (NEVER,)
        return tuple(self.compile(text, f"{where}[{i}]") for i, text in enumerate(texts))

    def compile_any(self, texts: Any, where: str) -> re.Pattern[str]:
        """A list of patterns (or one) as one alternation, each checked first."""
        before = len(self.errors)
        self.compile_each(texts, where)
        if len(self.errors) > before:
            return NEVER
        texts = [texts] if isinstance(texts, str) else texts
        return self.compile("|".join(f"(?:{t})" for t in texts), where)


def refuse_aliases(data: bytes, path: Path) -> None:
    """Refuse YAML anchors and aliases before anything is built: nested
    aliases (the "billion laughs") expand a small file into gigabytes, and a
    codebook has no use for them. The events are read as a stream, unexpanded."""
    for event in yaml.parse(data, Loader=SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise CodebookError(
                f"{path}: line {mark.line + 1}: YAML anchors and aliases (&, *) are not "
                "allowed in a codebook; write the entry out, or use a macro"
            )


def schema_errors(raw: Any) -> list[str]:
    """Every entry of ``raw`` whose shape or value type the codebook schema
    refuses, as "where: what" lines (``words: three``, ``types`` given as a
    list, a misspelt key), all at once."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    from jsonschema import Draft202012Validator  # 1 s to import: only when a codebook is read

    errors = Draft202012Validator(schema).iter_errors(raw)
    return [_schema_message(e) for e in sorted(errors, key=lambda e: [str(p) for p in e.path])]


def _schema_message(error: ValidationError) -> str:
    from jsonschema.exceptions import best_match

    if error.context:  # one of several shapes: say what the one of its type needs
        own_type = [e for e in error.context if e.relative_path or e.validator != "type"]
        error = best_match(own_type or error.context)
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    where = where.lstrip(".")
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = re.match(r"'(.+)' is a required property", error.message)
        name = missing.group(1) if missing else str(value)
        return f"{where + '.' if where else ''}{name} is missing"
    if kind == "additionalProperties":
        known = set(error.schema.get("properties", {}))
        extra = sorted(str(k) for k in instance if k not in known)
        return f"{where or 'the codebook'}: unknown entr{'y' if len(extra) == 1 else 'ies'} " + (
            ", ".join(extra) + f" (known: {', '.join(sorted(known))})"
        )
    if kind == "type":
        expected = " or ".join(TYPE_WORDS.get(t, t) for t in _as_list(value))
        return f"{where or 'the codebook'}: expected {expected}, not {instance!r:.60}"
    if kind == "pattern":  # only ids have one (propertyNames)
        return f"{where}: {instance!r} is no id: ids are lower_snake_case"
    if kind in ("minLength", "minItems", "minProperties"):
        return f"{where}: must not be empty"
    return f"{where}: {error.message}"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def load_codebook(
    path: str | Path, check_patterns: bool = True, model: str | Path | None = config.MODEL
) -> Codebook:
    """Read and check the codebook at ``path``; raise CodebookError naming the
    entry. ``model`` is the learned coder to code with (default: the shipped
    one; None or "none": the codebook's rules alone).

    A process reads the same codebook (the same bytes, the same model files)
    once: a notebook asks for it several times."""
    path = Path(path)
    if not path.is_file():
        raise CodebookError(f"{path}: no such codebook file (pass --codebook PATH)")
    data = path.read_bytes()
    from analysis.coding.model_files import model_files

    model_key = tuple(
        (str(f), f.stat().st_size, f.stat().st_mtime_ns) if f.is_file() else (str(f), 0, 0)
        for f in model_files(model)
    )
    return _read_codebook(str(path), data, check_patterns, str(model), model_key)


def load_labels(path: str | Path) -> Labels:
    """The names and labels of the codebook at ``path``, with no pattern
    compiled: what a report page shows and accepts as a parameter, in 0.01 s
    where :func:`load_codebook` (with which the report's run has checked the
    whole codebook) took 0.5 s of a report kernel's 1.2 s of cells. The shape
    is checked against the schema only when the names cannot be read (the
    schema's library alone takes 0.15 s to import), so that error still names
    the entry."""
    path = Path(path)
    if not path.is_file():
        raise CodebookError(f"{path}: no such codebook file (pass --codebook PATH)")
    return _read_labels(str(path), path.read_bytes())


@functools.lru_cache(maxsize=8)
def _read_labels(path_text: str, data: bytes) -> Labels:
    raw = _read_raw(Path(path_text), data, check_shape=False)
    try:
        return Labels(
            procedures=_names(raw["procedures"], "procedures", path_text),
            conditions=_names(raw["conditions"], "conditions", path_text),
            types={t: str(v.get("label", t)) for t, v in raw["types"].items()},
            categories={
                c: str(cat.get("label", c))
                for v in raw["types"].values()
                for c, cat in v["categories"].items()
            },
        )
    except (KeyError, TypeError, AttributeError) as exc:
        _read_raw(Path(path_text), data)  # raises, naming the entries
        # the schema let it pass: still the file and what could not be read
        raise CodebookError(
            f"{path_text}: its names cannot be read ({type(exc).__name__}: {exc})"
        ) from exc


def _read_raw(path: Path, data: bytes, check_shape: bool = True) -> Any:
    """The codebook's YAML, refused unless well formed (aliases, syntax and,
    with ``check_shape``, the schema)."""
    try:
        refuse_aliases(data, path)
        raw = yaml.load(data, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise CodebookError(f"{path}: not valid YAML: {exc}") from exc
    shape = schema_errors(raw) if check_shape else []
    if shape:  # the meaning of entries is checked only on a well-formed codebook
        raise CodebookError(_entries_to_fix(str(path), shape))
    return raw


@functools.lru_cache(maxsize=8)
def _read_codebook(
    path_text: str, data: bytes, check_patterns: bool, model_text: str, model_key: tuple
) -> Codebook:
    """:func:`load_codebook` of these bytes (cached by its arguments)."""
    path = Path(path_text)
    model = None if model_text == "None" else model_text
    raw = _read_raw(path, data)
    p = str(path)
    procedures = _lexicon(raw["procedures"], "procedures", p)
    conditions = _lexicon(raw["conditions"], "conditions", p)
    condition_alternatives = conditions.pattern.pattern[len(r"(?<![\w-])(?:") : -len(r")(?![\w-])")]
    comp = _Compiler(p, raw.get("macros") or {}, condition_alternatives)
    errors = comp.errors
    version = str(raw["version"])

    types, roles, fixed, categories = {}, {}, {}, []
    seen: set[str] = set()
    for type_id, type_raw in raw["types"].items():  # the shapes are the schema's
        types[type_id] = str(type_raw.get("label", type_id))
        roles[type_id] = str(type_raw.get("role", ""))
        if "certainty" in type_raw:
            fixed[type_id] = str(type_raw["certainty"])
        for cat_id, cat in type_raw["categories"].items():
            where = f"types.{type_id}.categories.{cat_id}"
            if cat_id in seen:
                errors.append(f"{where}: category id defined twice")
                continue
            seen.add(cat_id)
            cues = []
            for i, cue in enumerate(cat["cues"]):
                if isinstance(cue, str):
                    cue = {"pattern": cue}
                requires = cue.get("requires")
                cues.append(
                    Cue(
                        name=f"{cat_id}#{i}",
                        pattern=comp.compile(cue.get("pattern"), f"{where}.cues[{i}]"),
                        requires=comp.compile(requires, f"{where}.cues[{i}].requires")
                        if requires
                        else None,
                        weak=bool(cue.get("weak", False)),
                    )
                )
            exclude = tuple(
                comp.compile(x, f"{where}.exclude[{i}]")
                for i, x in enumerate(cat.get("exclude", []))
            )
            categories.append(
                Category(
                    type=type_id,
                    id=cat_id,
                    label=str(cat.get("label", cat_id)),
                    cues=tuple(cues),
                    exclude=exclude,
                    condition_is_harm=bool(cat.get("condition_is_harm", False)),
                    with_condition_becomes=cat.get("with_condition_becomes"),
                    weak_yields_to=tuple(cat.get("weak_yields_to", [])),
                    description=str(cat.get("description", "")),
                )
            )
    for category in categories:
        unknown = set(category.weak_yields_to) - seen
        if unknown:
            errors.append(
                f"types.{category.type}.categories.{category.id}.weak_yields_to: "
                f"unknown categories {sorted(unknown)}"
            )
        target = category.with_condition_becomes
        if target and target not in seen:
            errors.append(
                f"types.{category.type}.categories.{category.id}.with_condition_becomes: "
                f"unknown category {target!r}"
            )
    prefer = []
    for i, pair in enumerate(raw.get("prefer", [])):
        if not (isinstance(pair, list) and len(pair) == 2 and set(pair) <= seen):
            errors.append(f"prefer[{i}]: expected [specific, general] category ids")
            continue
        prefer.append((pair[0], pair[1]))
    for type_id, certainty in fixed.items():
        if certainty not in CERTAINTIES:
            errors.append(f"types.{type_id}.certainty: asserted, hedged or negated")

    cert, clauses, nc, attr = (
        raw[k] for k in ("certainty", "clauses", "not_claims", "attribution")
    )
    hedges = tuple(_trigger(comp, t, f"certainty.hedge[{i}]") for i, t in enumerate(cert["hedge"]))
    negations = tuple(
        _trigger(comp, t, f"certainty.negation[{i}]") for i, t in enumerate(cert["negation"])
    )
    fields = {
        "breakers": comp.compile_any(clauses["breakers"], "clauses.breakers"),
        "subordinators": comp.compile(clauses["subordinators"], "clauses.subordinators"),
        **{
            key: comp.compile(nc[key], f"not_claims.{key}")
            for key in ("reference_headings", "background_subjects", "definition")
        },
        "boilerplate": comp.compile_each(nc["boilerplate"], "not_claims.boilerplate"),
        "label": _case_sensitive(comp, nc["label"], "not_claims.label"),
        "citation": comp.compile(nc.get("citation", NEVER.pattern), "not_claims.citation"),
        **{
            key: comp.compile(attr[key], f"attribution.{key}")
            for key in ("comparators", "population", "population_after")
        },
    }
    any_hedge, any_negation = _any(hedges), _any(negations)
    irrealis = comp.compile_any(raw.get("irrealis", [r"(?!)"]), "irrealis")
    denial = comp.compile_any(cert.get("denial", [r"(?!)"]), "certainty.denial")
    quantities = tuple(
        (str(k), comp.compile(v, f"quantities.{k}"))
        for k, v in (raw.get("quantities") or {}).items()
    )
    if errors:
        raise CodebookError(_entries_to_fix(p, errors))
    # A caller that runs no pattern (a list of ids) may skip the check for
    # backtracking (0.6 s); it runs in a child process while the model
    # loads, and the codebook is given only once both are done.
    with ThreadPoolExecutor(1) as background:
        checked = (
            background.submit(check_backtracking, comp.compiled, p) if check_patterns else None
        )
        model_ = _model(model, {f"{c.type}/{c.id}" for c in categories}, p)
        if checked is not None:
            checked.result()
    return Codebook(
        path=p,
        version=version,
        sha256=hashlib.sha256(data).hexdigest(),
        procedures=procedures,
        conditions=conditions,
        types=types,
        roles=roles,
        fixed_certainty=fixed,
        categories=tuple(categories),
        prefer=tuple(prefer),
        hedges=hedges,
        negations=negations,
        any_hedge=any_hedge,
        any_negation=any_negation,
        pseudo=comp.compile_any(cert.get("pseudo", [r"(?!)"]), "certainty.pseudo"),
        denial=denial,
        negation_window=int(cert.get("negation_window", 6)),
        irrealis=irrealis,
        **fields,
        topic_share=_per_kind(attr.get("topic_share", 0.5), 0.5),
        quantities=quantities,
        topic_min_mentions={
            k: int(v) for k, v in _per_kind(attr.get("topic_min_mentions"), 3).items()
        },
        prefilter=Prefilter(
            {cue.name: cue.pattern for c in categories for cue in c.cues},
            {
                "any_hedge": any_hedge,
                "any_negation": any_negation,
                **{f"hedge#{i}": t.pattern for i, t in enumerate(hedges)},
                **{f"negation#{i}": t.pattern for i, t in enumerate(negations)},
                "denial": denial,
                "irrealis": irrealis,
                **{k: fields[k] for k in ("background_subjects", "definition")},
                **{f"boilerplate#{i}": x for i, x in enumerate(fields["boilerplate"])},
                **{f"quantity:{name}": pattern for name, pattern in quantities},
                **{f"exclude:{c.id}#{i}": x for c in categories for i, x in enumerate(c.exclude)},
                **{
                    f"requires:{cue.name}": cue.requires
                    for c in categories
                    for cue in c.cues
                    if cue.requires is not None
                },
            },
            {"procedures": procedures.pattern, "conditions": conditions.pattern},
            # the patterns asked of a line or a sentence of a whole text's scan
            spanned=frozenset(
                [f"boilerplate#{i}" for i in range(len(fields["boilerplate"]))]
                + [f"quantity:{name}" for name, _ in quantities]
            ),
        ),
        cue_index={cue.name: (c, cue) for c in categories for cue in c.cues},
        raw=raw,
        model=model_,
    )


def _per_kind(value: Any, default: float) -> dict[str, float]:
    """A setting given once for procedures and conditions, or for each."""
    if isinstance(value, dict):
        return {k: float(value.get(k, default)) for k in ("procedures", "conditions")}
    return {k: float(default if value is None else value) for k in ("procedures", "conditions")}


def _entries_to_fix(path: str, errors: list[str]) -> str:
    return f"{path}: {len(errors)} entr{'y' if len(errors) == 1 else 'ies'} to fix:\n  " + (
        "\n  ".join(errors)
    )


def _case_sensitive(comp: _Compiler, text: Any, where: str) -> re.Pattern[str]:
    """A pattern whose case matters (a list label starts with a capital)."""
    if not isinstance(text, str) or not text:
        comp.errors.append(f"{where}: expected a pattern (a string)")
        return NEVER
    try:
        pattern = re.compile(comp.expand(text, where))
    except re.error as exc:
        comp.errors.append(f"{where}: pattern does not compile: {exc}")
        return NEVER
    comp.compiled.append((where, pattern))  # checked for backtracking like the others
    return pattern


def _any(triggers: tuple[Trigger, ...]) -> re.Pattern[str]:
    """One pattern that matches where any of ``triggers`` does."""
    return re.compile("|".join(f"(?:{t.pattern.pattern})" for t in triggers) or "(?!)", FLAGS)


def _model(path: str | Path | None, labels: set[str], codebook_path: str) -> Any:
    """The model at ``path``, checked against the codebook's categories."""
    if path is None or str(path).lower() == "none":
        return None
    from analysis.coding.learned import load_model

    model = load_model(path)
    unknown = set(model.labels) - labels
    if unknown:
        raise ModelError(
            f"{model.path}: decides categories {sorted(unknown)} that {codebook_path} does not "
            "define: train the model again with this codebook, or pass --model none"
        )
    return model


def check_backtracking(
    patterns: list[tuple[str, re.Pattern[str]]], path: str, seconds: float = PATTERN_SECONDS
) -> None:
    """Refuse a pattern that backtracks catastrophically, by name.

    Each pattern, as compiled (macros expanded), runs over the :data:`CRAFTED`
    lines and over lines built from its own characters (:func:`probes`):
    nested repetition over digits or commas backtracks only on a run of
    digits or commas, and only after the text that leads up to it. Python's
    ``re`` cannot be stopped once a search starts, so the searches run in a
    child process that reports each pattern as it starts, with the processor
    time it has used; a pattern that has used ``seconds`` of processor time
    since is the culprit. Processor time, not the clock: on a busy machine
    the child waits for a core, and the largest pattern of the shipped
    codebook (0.07 s) was taken for a backtracking one. Where a process's
    processor time cannot be read (no ``/proc``), the clock decides.
    """
    child = subprocess.Popen(
        [sys.executable, "-c", _PROBE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    reports: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [reports.put(x) for x in child.stdout], daemon=True)
    reader.start()
    probes_ = [[p.pattern, p.flags, probes(p)] for _, p in patterns]
    child.stdin.write(json.dumps([probes_, CRAFTED, PROBE_LENGTH]))
    child.stdin.close()
    started, began, since = -1, 0.0, time.monotonic()
    try:
        while True:
            try:
                report = reports.get(timeout=PROBE_POLL).split()
            except queue.Empty:
                where = patterns[started][0] if started >= 0 else "every pattern"
                if not reader.is_alive() and reports.empty():  # all read, and no "done"
                    raise CodebookError(
                        f"{path}: {where}: the process checking the patterns ended on this "
                        f"one (exit code {child.wait()}); rewrite it more simply"
                    ) from None
                waited = time.monotonic() - since
                used = processor_seconds(child.pid)
                if started < 0:  # the child starting up
                    over = waited > PROBE_START_SECONDS
                elif used is None:
                    over = waited > seconds
                else:
                    over = used - began > seconds or waited > PROBE_WAIT_SECONDS
                if over:
                    child.kill()
                    raise CodebookError(
                        f"{path}: {where}: pattern backtracks catastrophically (over "
                        f"{seconds} s on a long crafted line); rewrite it without nested "
                        "repetition such as (\\w+\\s?)+"
                    ) from None
                continue
            if report == ["done"]:
                return
            started, began, since = int(report[0]), float(report[1]), time.monotonic()
    finally:
        child.wait()


# How often the check looks at its child; how long the child may take to
# start; how long one pattern may keep the child waiting at all (a machine
# so busy that 0.5 s of processor time takes longer is not coding either).
PROBE_POLL = 0.05
PROBE_START_SECONDS = 10.0
PROBE_WAIT_SECONDS = 20.0


def processor_seconds(pid: int) -> float | None:
    """The processor time (user and system) process ``pid`` has used so
    far, as its own ``time.process_time()`` counts it, or None where it
    cannot be read (no ``/proc``, or the process is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # after the name: state is field 3, utime and stime fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# A character standing for each class a pattern may use.
_CATEGORY_SAMPLES = {"DIGIT": "7", "WORD": "w", "SPACE": " ", "LINEBREAK": "\n"}
PROBE_LENGTH = 240  # exponential backtracking shows at 30 characters, cubic by 200
_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT)


def probes(pattern: re.Pattern[str]) -> list[tuple[str, str, str]]:
    """Where ``pattern`` could backtrack, and with what: ``(prefix, chars,
    unit)`` for the whole pattern and for each unbounded repetition that
    holds another repetition (``(\\d+,?)+``), with ``prefix`` a text that
    leads the pattern up to it ("up to " for ``up\\s+to\\s+(\\d+,?)+%``),
    ``chars`` the characters the repetition can match (``\\d`` gives "7",
    ``[,;]`` gives "," and ";") and ``unit`` one round of it. The lines
    :func:`check_backtracking` tries are a prefix and then runs of these."""
    found: list[tuple[str, str, str]] = []

    def sample(items: Any) -> str:
        """A short text the items match, near enough to lead the way."""
        out = []
        for op, value in items:
            if op is _sre.LITERAL:
                out.append(chr(value))
            elif op in (_sre.NOT_LITERAL, _sre.ANY):
                out.append("w" if op is _sre.ANY or value != ord("w") else "x")
            elif op is _sre.IN:
                out.append(_class_chars(value)[:1] or "w")
            elif op in _REPEATS:
                out.append(sample(value[2]) * value[0])
            elif op is _sre.SUBPATTERN:
                out.append(sample(value[-1]))
            elif op is _sre.BRANCH:
                out.append(sample(value[1][0]))
            elif op is _sre.ATOMIC_GROUP:
                out.append(sample(value))
        return "".join(out)

    def chars(items: Any) -> set[str]:
        out: set[str] = set()
        for op, value in items:
            if op in (_sre.LITERAL, _sre.NOT_LITERAL, _sre.ANY, _sre.IN):
                out.update(sample([(op, value)]) if op is not _sre.IN else _class_chars(value))
            elif op in _REPEATS:
                out |= chars(value[2])
            elif op is _sre.SUBPATTERN:
                out |= chars(value[-1])
            elif op is _sre.BRANCH:
                for branch in value[1]:
                    out |= chars(branch)
            elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
                out |= chars(value[1])
            elif op is _sre.ATOMIC_GROUP:
                out |= chars(value)
        return out

    def nested(items: Any) -> bool:
        return any(
            op in _REPEATS
            and value[1] > 1
            or op is _sre.SUBPATTERN
            and nested(value[-1])
            or op is _sre.BRANCH
            and any(nested(b) for b in value[1])
            for op, value in items
        )

    def walk(items: Any, prefix: str) -> None:
        for op, value in items:
            if op in _REPEATS:
                body = value[2]
                if value[1] == _sre.MAXREPEAT and nested(body):
                    found.append((prefix, "".join(sorted(chars(body))), sample(body)))
                walk(body, prefix)
            elif op is _sre.SUBPATTERN:
                walk(value[-1], prefix)
            elif op is _sre.BRANCH:
                for branch in value[1]:
                    walk(branch, prefix)
            prefix += sample([(op, value)])

    parsed = _parser.parse(pattern.pattern, pattern.flags)
    found.append(("", "".join(sorted(chars(parsed))), ""))
    walk(parsed, "")
    return found[:20]


def _class_chars(items: list[tuple[Any, Any]]) -> str:
    """One character per member of a character class, in order."""
    if items and items[0][0] is _sre.NEGATE:
        return "w" if not any(op is _sre.LITERAL and v == ord("w") for op, v in items) else "x"
    out = []
    for op, value in items:
        if op is _sre.LITERAL:
            out.append(chr(value))
        elif op is _sre.RANGE:
            out += [chr(value[0]), chr(value[1])]
        elif op is _sre.CATEGORY:
            out.append(_CATEGORY_SAMPLES.get(str(value).rsplit("_", 1)[-1], "w"))
    return "".join(out)


# Runs in the child of check_backtracking: reads [[pattern, flags, probes],
# ...], the crafted lines and a length; prints the index of each pattern as
# it starts, and the processor time used so far. After each probe's prefix,
# each of its characters is tried as a run, as a run of one-letter words,
# after another character, and its unit over and over; a character no
# pattern expects ends every line.
_PROBE = """
import json, re, sys, time
patterns, crafted, n = json.load(sys.stdin)
for i, (text, flags, probes) in enumerate(patterns):
    print(i, time.process_time(), flush=True)
    pattern = re.compile(text, flags)
    lines = list(crafted)
    for prefix, chars, unit in probes:
        runs = [unit * (n // max(len(unit), 1)), chars * (n // max(len(chars), 1))]
        for c in chars:
            runs += [c * n, (c + " ") * (n // 2), (c + "w") * (n // 2)]
        lines += [prefix + run + "\\x00" for run in runs]
    for line in lines:
        pattern.search(line)
print("done", flush=True)
"""


def _trigger(comp: _Compiler, raw: dict[str, Any], where: str) -> Trigger:
    scope = raw.get("scope", "forward")
    if scope not in ("forward", "phrase", "clause"):
        comp.errors.append(f"{where}.scope: forward, phrase or clause")
    return Trigger(
        name=where,
        pattern=comp.compile(raw["pattern"], where),
        scope=scope,
        words=int(raw.get("words", 3)),
    )
