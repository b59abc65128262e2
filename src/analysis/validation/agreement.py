"""Agreement: how well one coding agrees with another.

Takes two codings of the same documents, a reference (``gold``: a human's)
and another (``pred``: the extractor's claims table, or a second human's gold
file), and measures their agreement the way ``shared/annotation/score.py``
does, plus chance-corrected reliability:

- a coding is read by :func:`read_coding` into the codings table, one row
  per claim: ``doc, sentence, type, category, certainty, procedures,
  conditions`` (the last two tuples of canonical ids). A claims table with
  one row per attribution (``procedure``, ``condition``) is folded into it;
- :func:`agreement` aligns predicted sentences onto gold ones (the same text,
  or one holding at least half of the other) and returns an
  :class:`Agreement` of tidy tables:

  ``scores``         ``measure, level, value``: precision, recall and F1 of
                     detection (doc, sentence, type) and of categories, per
                     type too; certainty, procedure and condition accuracy on
                     matched claims; the chart count error (WAPE);
  ``reliability``    ``level, units, cohen_kappa, krippendorff_alpha,
                     observed_agreement`` on the sentence x type and
                     sentence x category decisions (scikit-learn's kappa, the
                     ``krippendorff`` package's alpha);
  ``confusion``      ``gold, pred, claims``: categories of the same sentence
                     side by side ("(none)" where one coder coded nothing);
  ``disagreements``  ``doc, sentence, type, category, issue, gold, pred``.

The units of the reliability figures are the sentences either coder coded,
or, with ``units`` (a coding sample), every sentence of the sample, so that a
sentence both left uncoded counts as agreement.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.errors import TableFormatError
from analysis.schema import TYPES, fold_claims
from analysis.tables import read_table

NONE = "(none)"


@dataclass
class Agreement:
    scores: pd.DataFrame
    reliability: pd.DataFrame
    confusion: pd.DataFrame
    disagreements: pd.DataFrame

    def figure(self, measure: str, level: str) -> float:
        row = self.scores[(self.scores["measure"] == measure) & (self.scores["level"] == level)]
        return float(row["value"].iloc[0])


def norm(text: str) -> str:
    """A sentence as compared: whitespace folded, lower case, no end marks."""
    text = re.sub(r"\s+", " ", str(text)).strip().lower()
    return text.strip(" .:;,!?\"'\u2019\u201c\u201d-")


def read_coding(path: str | Path) -> pd.DataFrame:
    """The codings table of a gold file (JSON Lines, list columns) or a
    claims table (one row per attribution), by suffix."""
    return to_coding(read_table(path), str(path))


def to_coding(table: pd.DataFrame, source: str = "coding") -> pd.DataFrame:
    """Fold a claims or gold table into the codings table (one row per claim)."""
    missing = {"doc", "sentence", "type", "category"} - set(table.columns)
    if missing:
        raise TableFormatError(
            f"{source}: missing columns {sorted(missing)}; give a claims table "
            "(analysis extract) or a gold file (analysis sample --import)"
        )
    return fold_claims(table)


def align(gold: set[str], pred: set[str]) -> dict[str, str]:
    """Each predicted sentence of one document onto a gold sentence: the same
    text, else the gold sentence it shares the longest containment with
    (at least half of the longer one)."""
    mapping = {}
    for p in pred:
        if p in gold:
            mapping[p] = p
            continue
        best, best_ratio = None, 0.0
        for g in gold:
            short, long_ = (p, g) if len(p) <= len(g) else (g, p)
            if short and short in long_ and len(short) / len(long_) > best_ratio:
                best, best_ratio = g, len(short) / len(long_)
        if best is not None and best_ratio >= 0.5:
            mapping[p] = best
    return mapping


def _keyed(coding: pd.DataFrame) -> dict[tuple, dict]:
    """(doc, normalised sentence, type, category) -> the claim's other fields."""
    out: dict[tuple, dict] = {}
    for r in coding.itertuples(index=False):
        key = (r.doc, norm(r.sentence), r.type, r.category)
        claim = out.setdefault(
            key,
            {
                "certainty": r.certainty,
                "procedures": set(),
                "conditions": set(),
                "sentence": r.sentence,
            },
        )
        claim["procedures"] |= set(r.procedures)
        claim["conditions"] |= set(r.conditions)
    return out


def _aligned(
    sentences: dict[str, set[str]], pred: dict[tuple, dict], drop_unaligned: bool = False
) -> dict[tuple, dict]:
    """``pred`` restricted to the documents of ``sentences`` (doc -> normalised
    sentences), its sentences put onto those; one that fits none keeps its
    own text, or is dropped with ``drop_unaligned``."""
    pred = {k: v for k, v in pred.items() if k[0] in sentences}
    pred_sents = defaultdict(set)
    for d, s, *_ in pred:
        pred_sents[d].add(s)
    maps = {d: align(sentences[d], pred_sents[d]) for d in pred_sents}
    out: dict[tuple, dict] = {}
    for (d, s, t, c), v in pred.items():
        if drop_unaligned and s not in maps[d]:
            continue
        key = (d, maps[d].get(s, s), t, c)
        if key in out:
            out[key]["procedures"] |= v["procedures"]
            out[key]["conditions"] |= v["conditions"]
        else:
            out[key] = {**v, "procedures": set(v["procedures"]), "conditions": set(v["conditions"])}
    return out


def prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _cells(claims: dict[tuple, dict]) -> dict[tuple, set]:
    cells = defaultdict(set)
    for (d, s, t, _), v in claims.items():
        for p in v["procedures"] or {""}:
            for c in v["conditions"] or {""}:
                cells[(p, c, t)].add((d, s))
    return cells


def _reliability(
    level: str, units: list[tuple], labels: list[tuple], gold: set, pred: set
) -> dict[str, object]:
    """Kappa and alpha of the present/absent decisions on units x labels
    (a decision's key is the unit's fields, then the label's)."""
    import numpy as np
    from krippendorff import alpha
    from sklearn.metrics import cohen_kappa_score

    a = [int((*u, *lab) in gold) for u in units for lab in labels]
    b = [int((*u, *lab) in pred) for u in units for lab in labels]
    agree = float(np.mean(np.array(a) == np.array(b))) if a else float("nan")
    if len(set(a) | set(b)) < 2:  # one value only: agreement is perfect, chance is too
        kappa = krippendorff = float("nan")
    else:
        kappa = float(cohen_kappa_score(a, b))
        krippendorff = float(alpha(reliability_data=[a, b], level_of_measurement="nominal"))
    return {
        "level": level,
        "units": len(a),
        "cohen_kappa": kappa,
        "krippendorff_alpha": krippendorff,
        "observed_agreement": agree,
    }


def agreement(
    gold: pd.DataFrame, pred: pd.DataFrame, units: pd.DataFrame | None = None
) -> Agreement:
    """Agreement of ``pred`` with ``gold`` (codings tables, see the module
    docstring); ``units`` (``doc, sentence``) restricts both to a sample."""
    g, p = _keyed(gold), _keyed(pred)
    sentences: dict[str, set[str]] = defaultdict(set)
    if units is None:  # as score.py: onto the gold sentences of the gold documents
        for d, s, *_ in g:
            sentences[d].add(s)
    else:  # onto the sample's sentences; nothing outside the sample counts
        for d, s in zip(units["doc"], units["sentence"], strict=True):
            sentences[Path(str(d)).name].add(norm(s))
        g = {k: v for k, v in g.items() if k[0] in sentences}
    p = _aligned(sentences, p, drop_unaligned=units is not None)
    rows = []

    def add(measure: str, level: str, value: float) -> None:
        rows.append({"measure": measure, "level": level, "value": value})

    def add_prf(level: str, gold_keys: set, pred_keys: set) -> None:
        tp = len(gold_keys & pred_keys)
        figures = prf(tp, len(pred_keys), len(gold_keys))
        for name, value in zip(("precision", "recall", "f1"), figures, strict=True):
            add(name, level, value)

    g3, p3 = {k[:3] for k in g}, {k[:3] for k in p}
    add_prf("detection", g3, p3)
    add_prf("category", set(g), set(p))
    types = (*TYPES, *sorted({k[2] for k in set(g) | set(p)} - set(TYPES)))
    for t in types:
        add_prf(f"category:{t}", {k for k in g if k[2] == t}, {k for k in p if k[2] == t})
    categories = sorted({k[2:] for k in g} | {k[2:] for k in p})
    for t, c in categories:
        add_prf(f"{t}:{c}", {k for k in g if k[2:] == (t, c)}, {k for k in p if k[2:] == (t, c)})
    both = set(g) & set(p)
    n = len(both) or 1
    for field in ("certainty", "procedures", "conditions"):
        add("accuracy", field, sum(g[k][field] == p[k][field] for k in both) / n)
    gc, pc = _cells(g), _cells(p)
    total = sum(len(v) for v in gc.values()) or 1
    wape = sum(abs(len(gc.get(k, ())) - len(pc.get(k, ()))) for k in set(gc) | set(pc)) / total
    add("count_wape", "procedure x condition x type", wape)
    add("claims", "gold", len(g))
    add("claims", "pred", len(p))

    if units is not None:
        unit_keys = sorted((d, s) for d, doc_sentences in sentences.items() for s in doc_sentences)
    else:
        unit_keys = sorted({k[:2] for k in g} | {k[:2] for k in p})
    reliability = pd.DataFrame(
        [
            _reliability("sentence x type", unit_keys, [(t,) for t in types], g3, p3),
            _reliability("sentence x category", unit_keys, categories, set(g), set(p)),
        ]
    )
    return Agreement(
        scores=pd.DataFrame(rows),
        reliability=reliability,
        confusion=_confusion(g, p),
        disagreements=_disagreements(g, p),
    )


def _confusion(g: dict[tuple, dict], p: dict[tuple, dict]) -> pd.DataFrame:
    """Categories of the same sentence and type side by side."""
    pairs: list[tuple[str, str]] = []
    gold_of: dict[tuple, set[str]] = {}
    pred_of: dict[tuple, set[str]] = {}
    for codes, of in ((g, gold_of), (p, pred_of)):
        for k in codes:
            of.setdefault(k[:3], set()).add(k[3])
    for unit in sorted(gold_of.keys() | pred_of.keys()):
        gold_cats, pred_cats = gold_of.get(unit, set()), pred_of.get(unit, set())
        pairs += [(c, c) for c in sorted(gold_cats & pred_cats)]
        only_g, only_p = sorted(gold_cats - pred_cats), sorted(pred_cats - gold_cats)
        for i in range(max(len(only_g), len(only_p))):
            pairs.append(
                (only_g[i] if i < len(only_g) else NONE, only_p[i] if i < len(only_p) else NONE)
            )
    table = pd.DataFrame(pairs, columns=["gold", "pred"])
    return table.value_counts().rename("claims").reset_index()


def _disagreements(g: dict[tuple, dict], p: dict[tuple, dict]) -> pd.DataFrame:
    """Every claim the two codings do not share, and every shared claim whose
    certainty or attribution differs."""

    def show(v: dict, field: str) -> str:
        value = v[field]
        return ", ".join(sorted(value)) if isinstance(value, set) else str(value)

    rows = []
    for key in sorted(set(g) | set(p)):
        d, _, t, c = key
        base = {"doc": d, "sentence": (g.get(key) or p.get(key))["sentence"], "type": t}
        if key not in p:
            rows.append({**base, "category": c, "issue": "missed", "gold": c, "pred": ""})
        elif key not in g:
            rows.append({**base, "category": c, "issue": "extra", "gold": "", "pred": c})
        else:
            for field in ("certainty", "procedures", "conditions"):
                if g[key][field] != p[key][field]:
                    rows.append(
                        {
                            **base,
                            "category": c,
                            "issue": field,
                            "gold": show(g[key], field),
                            "pred": show(p[key], field),
                        }
                    )
    columns = ["doc", "sentence", "type", "category", "issue", "gold", "pred"]
    return pd.DataFrame(rows, columns=columns)


def format_scores(result: Agreement) -> str:
    """The figures as score.py prints them, then the reliability figures."""
    f = result.figure
    lines = [
        f"gold claims {int(f('claims', 'gold'))}, predicted {int(f('claims', 'pred'))}",
        "detection (doc, sentence, type):           "
        f"P {f('precision', 'detection'):.3f}  R {f('recall', 'detection'):.3f}  "
        f"F1 {f('f1', 'detection'):.3f}",
        "category  (doc, sentence, type, category): "
        f"P {f('precision', 'category'):.3f}  R {f('recall', 'category'):.3f}  "
        f"F1 {f('f1', 'category'):.3f}",
    ]
    measured = {lv.split(":", 1)[1] for lv in result.scores["level"] if lv.startswith("category:")}
    for t in (*TYPES, *sorted(measured - set(TYPES))):
        lines.append(
            f"  {t:<12} P {f('precision', f'category:{t}'):.3f}  "
            f"R {f('recall', f'category:{t}'):.3f}  F1 {f('f1', f'category:{t}'):.3f}"
        )
    lines.append(
        f"on matched claims: certainty {f('accuracy', 'certainty'):.3f}, "
        f"procedures {f('accuracy', 'procedures'):.3f}, "
        f"conditions {f('accuracy', 'conditions'):.3f}"
    )
    lines.append(f"chart count error (WAPE) {f('count_wape', 'procedure x condition x type'):.3f}")
    for r in result.reliability.itertuples():
        lines.append(
            f"{r.level}: Cohen's kappa {r.cohen_kappa:.3f}, Krippendorff's alpha "
            f"{r.krippendorff_alpha:.3f}, observed agreement {r.observed_agreement:.3f} "
            f"({r.units} decisions)"
        )
    lines.append(f"{len(result.disagreements)} disagreements")
    return "\n".join(lines)


def validation_units(
    gold: pd.DataFrame, pred: pd.DataFrame, sites: dict[str, str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What a validation sample says of the coder, article by article: the
    tallies every error rate and corrected estimate is computed from
    (:mod:`analysis.estimates`), so that they can be resampled by article.

    Returns two tables (``schema.UNIT_COLUMNS``, ``schema.ARTICLE_UNIT_COLUMNS``):

    - per article, type and category, the claims x procedures x conditions
      (the units a chart cell counts) the coder found (``predicted``), the
      trained coder found (``coded``) and both found (``agreed``);
    - per article, procedure and type, whether the coder and the trained
      coder say the article makes such a claim about the procedure, under
      any condition (``predicted``, ``coded``: 0 or 1), for every procedure
      either names in the article.
    """
    from analysis.schema import ARTICLE_UNIT_COLUMNS, UNIT_COLUMNS

    g = _keyed(gold)
    sentences: dict[str, set[str]] = defaultdict(set)
    for d, s, *_ in g:
        sentences[d].add(s)
    p = _aligned(sentences, _keyed(pred))

    def cells(claims: dict[tuple, dict]) -> set[tuple]:
        return {
            (d, s, t, c, proc, cond)
            for (d, s, t, c), v in claims.items()
            for proc in v["procedures"] or {""}
            for cond in v["conditions"] or {""}
        }

    gc, pc = cells(g), cells(p)
    tallies: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for unit in gc | pc:
        d, _, t, c, _, _ = unit
        tally = tallies[(d, t, c)]
        tally[0] += unit in pc
        tally[1] += unit in gc
        tally[2] += unit in gc and unit in pc
    site = sites or {}
    rows = [
        {
            "doc": d,
            "site": site.get(d, d),
            "type": t,
            "category": c,
            "predicted": n[0],
            "coded": n[1],
            "agreed": n[2],
        }
        for (d, t, c), n in sorted(tallies.items())
    ]
    makes_g = {(d, proc, t) for (d, _, t, _, proc, _) in gc if proc}
    makes_p = {(d, proc, t) for (d, _, t, _, proc, _) in pc if proc}
    types = sorted({k[2] for k in makes_g | makes_p} | set(TYPES))
    articles = sorted({k[:2] for k in makes_g | makes_p})
    article_rows = [
        {
            "doc": d,
            "site": site.get(d, d),
            "procedure": proc,
            "type": t,
            "predicted": int((d, proc, t) in makes_p),
            "coded": int((d, proc, t) in makes_g),
        }
        for d, proc in articles
        for t in types
    ]
    return (
        pd.DataFrame(rows, columns=UNIT_COLUMNS),
        pd.DataFrame(article_rows, columns=ARTICLE_UNIT_COLUMNS),
    )


METHODS_COLUMNS = ["measure", "level", "value", "low", "high", "documents", "decisions"]


def reliability_intervals(
    gold: pd.DataFrame,
    pred: pd.DataFrame,
    units: pd.DataFrame | None = None,
    n_resamples: int = 999,
    seed: int = 0,
) -> pd.DataFrame:
    """The agreement figures a methods section reports, each with a 95 %
    bootstrap interval (scipy's percentile bootstrap, resampling whole
    documents: the sentences of one article are not independent):
    Cohen's kappa and Krippendorff's alpha of the sentence x type and
    sentence x category decisions, and F1 of detection and of categories
    overall, per type and per category. ``METHODS_COLUMNS``: ``measure,
    level, value, low, high, documents, decisions``."""
    import numpy as np
    from krippendorff import alpha
    from scipy.stats import bootstrap
    from sklearn.metrics import cohen_kappa_score

    g, p = _keyed(gold), _keyed(pred)
    sentences: dict[str, set[str]] = defaultdict(set)
    if units is None:
        for d, s, *_ in g:
            sentences[d].add(s)
    else:
        for d, s in zip(units["doc"], units["sentence"], strict=True):
            sentences[Path(str(d)).name].add(norm(s))
        g = {k: v for k, v in g.items() if k[0] in sentences}
    p = _aligned(sentences, p, drop_unaligned=units is not None)
    docs = sorted(sentences if units is not None else {k[0] for k in g} | {k[0] for k in p})
    types = (*TYPES, *sorted({k[2] for k in set(g) | set(p)} - set(TYPES)))
    categories = sorted({k[2:] for k in g} | {k[2:] for k in p})
    g3, p3 = {k[:3] for k in g}, {k[:3] for k in p}
    if units is not None:
        unit_of = {d: sorted(sentences[d]) for d in docs}
    else:
        coded: dict[str, set[str]] = defaultdict(set)
        for k in set(g) | set(p):
            coded[k[0]].add(k[1])
        unit_of = {d: sorted(coded[d]) for d in docs}
    # per document: the decision vectors, and the tallies of each F1
    decisions: dict[str, dict[str, tuple[list[int], list[int]]]] = {}
    levels = {
        "sentence x type": ([(t,) for t in types], g3, p3),
        "sentence x category": (categories, set(g), set(p)),
    }
    for d in docs:
        decisions[d] = {
            level: (
                [int((d, s, *lab) in gold_keys) for s in unit_of[d] for lab in labels],
                [int((d, s, *lab) in pred_keys) for s in unit_of[d] for lab in labels],
            )
            for level, (labels, gold_keys, pred_keys) in levels.items()
        }
    f1_levels = {"detection": (g3, p3), "category": (set(g), set(p))}
    f1_levels |= {
        f"category:{t}": ({k for k in g if k[2] == t}, {k for k in p if k[2] == t}) for t in types
    }
    f1_levels |= {
        f"{t}:{c}": ({k for k in g if k[2:] == (t, c)}, {k for k in p if k[2:] == (t, c)})
        for t, c in categories
    }
    tallies = np.zeros((len(docs), len(f1_levels), 3))
    index = {d: i for i, d in enumerate(docs)}
    for j, (gold_keys, pred_keys) in enumerate(f1_levels.values()):
        for k in gold_keys | pred_keys:
            if k[0] in index:
                i = index[k[0]]
                tallies[i, j] += (k in gold_keys and k in pred_keys, k in pred_keys, k in gold_keys)

    def kappa_alpha(chosen: np.ndarray, level: str) -> tuple[float, float]:
        a = [x for i in chosen for x in decisions[docs[i]][level][0]]
        b = [x for i in chosen for x in decisions[docs[i]][level][1]]
        if len(set(a) | set(b)) < 2:
            return float("nan"), float("nan")
        return (
            float(cohen_kappa_score(a, b)),
            float(alpha(reliability_data=[a, b], level_of_measurement="nominal")),
        )

    def f1s(chosen: np.ndarray) -> np.ndarray:
        t = tallies[chosen].sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(t[:, 1] + t[:, 2] > 0, 2 * t[:, 0] / (t[:, 1] + t[:, 2]), np.nan)

    def statistic(chosen: np.ndarray) -> np.ndarray:
        chosen = np.asarray(chosen, dtype=int)
        out = []
        for level in levels:
            out += list(kappa_alpha(chosen, level))
        return np.array([*out, *f1s(chosen)])

    whole = statistic(np.arange(len(docs)))
    names = [(m, level) for level in levels for m in ("cohen_kappa", "krippendorff_alpha")]
    names += [("f1", level) for level in f1_levels]
    if len(docs) > 1:
        ci = bootstrap(
            (np.arange(len(docs)),),
            statistic,
            vectorized=False,
            n_resamples=n_resamples,
            method="percentile",
            random_state=np.random.default_rng(seed),
        ).confidence_interval
        low, high = np.asarray(ci.low), np.asarray(ci.high)
    else:
        low = high = np.full(len(whole), np.nan)
    n_decisions = {level: sum(len(decisions[d][level][0]) for d in docs) for level in levels}
    n_decisions |= {
        level: int(tallies[:, j, 2].sum()) for j, level in enumerate(f1_levels)
    }  # F1: the claims the reference coded
    rows = []
    for (measure, level), value, lo, hi in zip(names, whole, low, high, strict=True):
        rows.append(
            {
                "measure": measure,
                "level": level,
                "value": float(value),
                "low": float(lo),
                "high": float(hi),
                "documents": len(docs),
                "decisions": n_decisions.get(
                    level, int(tallies[:, names.index((measure, level)) - 2 * len(levels), 2].sum())
                ),
            }
        )
    return pd.DataFrame(rows, columns=METHODS_COLUMNS)


def format_methods(table: pd.DataFrame) -> str:
    """The methods table as text: each figure with its 95 % interval."""
    lines = ["reliability for a methods section (95 % bootstrap intervals over documents):"]
    for r in table.itertuples():
        if r.measure != "f1" or ":" not in r.level or r.level.startswith("category:"):
            lines.append(
                f"  {r.measure:<19} {r.level:<28} {r.value:.3f} [{r.low:.3f}, {r.high:.3f}] "
                f"({r.documents} documents, {r.decisions} {'decisions' if r.measure != 'f1' else 'coded claims'})"
            )
    return "\n".join(lines)
