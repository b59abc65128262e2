"""Train the learned coder on coded articles, and measure it on unseen sites.

Takes gold files (GUIDELINES.md's JSON Lines) with the corpus folders they
code, and optionally a sources table naming each article's address (the
``SOURCES.tsv`` of ``../shared/annotation/dev``). Returns, and writes:

- the training table: one row per sentence the coder decides on, with the
  features (:mod:`analysis.coding.features`), the coded labels
  ("type/category") and the group the article belongs to (its site);
- the cross-validation: grouped by site (``LeaveOneGroupOut``), each fold
  fits the coder on the other sites and codes the left-out site's articles
  end to end (the whole coding pipeline, as ``analysis extract`` does),
  scored by :func:`analysis.validation.agreement.agreement` (the figures of
  the guidelines' ``score.py``). The threshold is chosen on the folds'
  out-of-fold probabilities; the folds' mean and spread are the estimate;
  each attribution level (:mod:`analysis.coding.attribution`) is measured
  on the claims the folds found; the folds' validation units, article by
  article, go to the manifest for the reports' error rates and corrected
  estimates (:mod:`analysis.estimates`); a learning curve fits each fold on
  a quarter, a half and all of the other sites;
- the model fitted on everything, with a manifest recording the inputs'
  hashes, the documents learned from (by content hash), the hyperparameters,
  the threshold and the cross-validated figures.

Training is reproducible: the same inputs give the same model, the same
content hash and the same predictions (fixed seeds, sorted inputs, a
deterministic solver).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from analysis import config
from analysis.codebook import Codebook
from analysis.coding import code_pages
from analysis.coding.estimator import LearnedCoder
from analysis.coding.features import FEATURE_COLUMNS, label_of, page_features
from analysis.coding.learned import Model, as_model, save_model
from analysis.coding.page import read_page
from analysis.corpus import iter_documents
from analysis.errors import TrainingError
from analysis.extract import code_documents
from analysis.validation.agreement import (
    agreement,
    align,
    norm,
    read_coding,
    validation_units,
)

FORMAT = "2"
THRESHOLDS = np.round(np.arange(0.20, 0.81, 0.05), 2)
TRAINING_COLUMNS = ["doc", "group", "sid", *FEATURE_COLUMNS, "labels"]
# Shares of the other sites each fold of the learning curve learns from.
CURVE = (0.25, 0.5, 1.0)


@dataclass
class Training:
    """Everything the coder learns from."""

    table: pd.DataFrame  # TRAINING_COLUMNS
    texts: dict[str, str]  # doc -> text
    gold: pd.DataFrame  # the codings table of every gold file (schema.CODING_COLUMNS)
    inputs: list[dict]  # what was read, with hashes, for the manifest
    documents: list[dict]  # doc, sha256 (of the text as read), site
    warnings: list[str] = field(default_factory=list)  # coding given twice, and which won


@dataclass
class CrossValidation:
    threshold: float
    folds: pd.DataFrame  # one row per left-out site: its figures, and the rules' alone
    pooled: pd.DataFrame  # validate's scores table over all out-of-fold codings
    predictions: pd.DataFrame  # the out-of-fold codings, with each attribution's level
    disagreements: pd.DataFrame  # validate's disagreements, out of fold
    pooled_rules: pd.DataFrame  # the scores of the codebook's rules alone, pooled
    attribution: pd.DataFrame  # kind, level, claims, accuracy (out of fold)
    units: pd.DataFrame  # schema.UNIT_COLUMNS: the folds' validation units, per article
    articles: pd.DataFrame  # schema.ARTICLE_UNIT_COLUMNS


def site_of(url: str) -> str:
    """The site an address belongs to: a repository on a code host, else the host."""
    parsed = urlparse(url.strip())
    parts = [p for p in parsed.path.split("/") if p]
    if parsed.netloc.endswith(("github.com", "gitlab.com")) and len(parts) >= 2:
        return f"{parsed.netloc}/{parts[0]}/{parts[1]}".lower()
    return parsed.netloc.lower() or url


def read_sites(paths: list[str | Path]) -> dict[str, str]:
    """doc file name -> site, from tables with ``file`` and ``url`` columns
    (read by the project's one table reader: any encoding or separator)."""
    from analysis.tables import read_table

    sites: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        table = read_table(path, typed=False)
        if not {"file", "url"} <= set(table.columns):
            raise TrainingError(
                f"{path}: a sources table needs `file` and `url` columns "
                f"(found: {', '.join(map(str, table.columns[:8]))})"
            )
        for file, url in zip(table["file"], table["url"], strict=True):
            if file and url:
                sites[str(file)] = site_of(str(url))
    return sites


def read_training(
    golds: list[str | Path],
    corpora: list[str | Path],
    codebook: Codebook,
    sites: dict[str, str] | None = None,
) -> Training:
    """The training table of gold files and the corpus folders they code
    (the i-th gold file codes the i-th folder)."""
    if len(golds) != len(corpora):
        raise TrainingError(
            f"give one --corpus per gold file ({len(golds)} gold files, {len(corpora)} corpora)"
        )
    rules = replace(codebook, model=None)  # features come from the rules alone
    rows, texts, codings, inputs, documents = [], {}, [], [], []
    coded_by: dict[str, tuple[str, str]] = {}  # text sha256 -> (gold file, doc) coding it
    warnings: list[str] = []
    for gold_path, corpus in zip(golds, corpora, strict=True):
        gold = read_coding(gold_path)
        codings.append(gold)
        by_doc: dict[str, dict[str, set[str]]] = {}
        for r in gold.itertuples(index=False):
            by_doc.setdefault(r.doc, {}).setdefault(norm(r.sentence), set()).add(
                f"{r.type}/{r.category}"
            )
        problems: list[dict[str, str]] = []
        n_docs = 0
        for document in iter_documents(corpus, problems):
            name = Path(document["doc"]).name
            if name not in by_doc:
                continue  # an article nobody coded teaches nothing
            earlier = coded_by.get(document["sha256"])
            if earlier is not None:
                # the same article coded twice: the later coding wins, whole
                warnings.append(
                    f"{gold_path}: codes {name}, which {earlier[0]} already codes (as "
                    f"{earlier[1]}); the coding of {Path(gold_path).name} is used, the earlier "
                    "one is dropped"
                )
                rows = [r for r in rows if r["doc"] != earlier[1]]
                documents = [d for d in documents if d["doc"] != earlier[1]]
                codings = [c[c["doc"] != earlier[1]] for c in codings[:-1]] + codings[-1:]
            coded_by[document["sha256"]] = (str(gold_path), name)
            n_docs += 1
            texts[name] = document["text"]
            group = (sites or {}).get(name, f"folder:{Path(corpus).name}")
            documents.append({"doc": name, "sha256": document["sha256"], "site": group})
            page = code_pages([read_page(name, document["text"], rules)], rules, ["cues"])[0]
            features = page_features(page, rules)
            sentences = {i: norm(page.sentences[i]["sentence"]) for i in features.index}
            mapping = align(set(by_doc[name]), set(sentences.values()))
            for i, f in features.iterrows():
                gold_sentence = mapping.get(sentences[i])
                labels = sorted(by_doc[name].get(gold_sentence, ())) if gold_sentence else []
                rows.append(
                    {"doc": name, "group": group, "sid": i, **f.to_dict(), "labels": labels}
                )
        inputs.append(
            {
                "gold": Path(gold_path).name,
                "gold_sha256": hashlib.sha256(Path(gold_path).read_bytes()).hexdigest(),
                "corpus": Path(corpus).name,
                "documents": n_docs,
                "claims": len(gold),
            }
        )
    table = pd.DataFrame(rows, columns=TRAINING_COLUMNS)
    if table.empty:
        raise TrainingError(
            f"no article of {', '.join(map(str, corpora))} is coded in "
            f"{', '.join(map(str, golds))}: the gold files' doc names must be the corpus's files"
        )
    if table["group"].nunique() < 2:  # one site: leave single articles out
        table["group"] = "doc:" + table["doc"]
        documents = [{**d, "site": f"doc:{d['doc']}"} for d in documents]
    gold_all = pd.concat(codings, ignore_index=True)
    return Training(table, texts, gold_all, inputs, documents, warnings)


def labels_of(codebook: Codebook) -> list[str]:
    return [label_of(c) for c in codebook.categories]


def label_matrix(table: pd.DataFrame, labels: list[str]) -> np.ndarray:
    """The (sentences x labels) 0/1 matrix of a table's ``labels`` lists."""
    index = {label: j for j, label in enumerate(labels)}
    y = np.zeros((len(table), len(labels)), dtype=np.int8)
    for i, ls in enumerate(table["labels"]):
        for label in ls:
            if label in index:
                y[i, index[label]] = 1
    return y


def coded_by_rules(table: pd.DataFrame, labels: list[str]) -> np.ndarray:
    """Which labels the codebook's rules coded on each sentence: their claims
    always stand beside the learned coder's."""
    coded = [[k[6:] for k in c if k.startswith("coded=")] for c in table["cues"]]
    return label_matrix(table.assign(labels=coded), labels).astype(bool)


def new_coder(codebook: Codebook, **params: object) -> LearnedCoder:
    """An unfitted coder for the codebook's labels, with the project's
    hyperparameters unless ``params`` say otherwise."""
    return LearnedCoder(labels=tuple(labels_of(codebook)), **params)


def out_of_fold(
    coder: LearnedCoder, table: pd.DataFrame, y: np.ndarray, workers: int = config.WORKERS
) -> tuple[np.ndarray, dict[str, LearnedCoder]]:
    """Out-of-fold probabilities of every sentence, each from the coder
    fitted on the other sites (``LeaveOneGroupOut``, as ``cross_val_predict``
    gives them), and the fitted coder of each left-out site; the folds are
    fitted in ``workers`` processes."""
    from joblib import Parallel, delayed
    from sklearn.base import clone
    from sklearn.model_selection import LeaveOneGroupOut

    groups = table["group"].to_numpy()
    prob = np.zeros(y.shape)
    features = table[FEATURE_COLUMNS]
    splits = list(LeaveOneGroupOut().split(features, y, groups))
    # the folds are fitted side by side; each fit is seeded, so the folds
    # are the same however many run at once
    folds = Parallel(n_jobs=workers)(
        delayed(clone(coder).fit)(features.iloc[train_rows], y[train_rows])
        for train_rows, _ in splits
    )
    fitted = {}
    for fold, (_, test_rows) in zip(folds, splits, strict=True):
        prob[test_rows] = fold.predict_proba(features.iloc[test_rows])
        fitted[str(groups[test_rows[0]])] = fold
    return prob, fitted


def micro_f1(decided: np.ndarray, y: np.ndarray) -> float:
    tp = int((decided & (y == 1)).sum())
    return 2 * tp / max(1, int(decided.sum()) + int(y.sum()))


def choose_threshold(prob: np.ndarray, y: np.ndarray, coded: np.ndarray) -> float:
    """The threshold that codes the out-of-fold sentences best, the rules'
    claims standing beside the learned ones (the lowest of equals)."""
    return float(max(THRESHOLDS, key=lambda t: (micro_f1((prob >= t) | coded, y), -t)))


def coding_of(items: list[tuple[str, str]], codebook: Codebook, source: str) -> pd.DataFrame:
    """The codings table of documents as the pipeline codes them, one row per
    claim, with the level each attribution came from (``procedure_level``,
    ``condition_level``)."""
    rows = []
    for (doc, _), coding in zip(items, code_documents(items, codebook), strict=True):
        for s, _, claims in coding:
            for c in claims:
                rows.append(
                    {
                        "doc": doc,
                        "sentence": s["sentence"],
                        "type": c.category.type,
                        "category": c.category.id,
                        "certainty": c.certainty,
                        "procedures": tuple(sorted(c.procedures)),
                        "conditions": tuple(sorted(c.conditions)),
                        "procedure_level": c.levels.get("procedures", ""),
                        "condition_level": c.levels.get("conditions", ""),
                        "source": source,
                    }
                )
    columns = ["doc", "sentence", "type", "category", "certainty", "procedures", "conditions"]
    table = pd.DataFrame(rows, columns=[*columns, "procedure_level", "condition_level", "source"])
    if table.empty:
        return table
    # a sentence repeated word for word is one claim (GUIDELINES.md "Unit"),
    # about what each of its places attributes it to
    key = table["doc"] + "\x1f" + table["sentence"].map(norm) + table["type"] + table["category"]
    grouped = table.groupby(key, sort=False)
    first = grouped.first()
    for column in ("procedures", "conditions"):
        first[column] = grouped[column].agg(lambda v: tuple(sorted(set().union(*v))))
    return first.reset_index(drop=True)


def cross_validate(
    training: Training,
    codebook: Codebook,
    coder: LearnedCoder | None = None,
    workers: int = config.WORKERS,
) -> CrossValidation:
    """Leave one site out at a time (see the module docstring), the folds
    fitted in ``workers`` processes."""
    table, labels = training.table, labels_of(codebook)
    if table["group"].nunique() < 2:
        raise TrainingError(
            "cross-validation needs at least two coded articles (or sites) to leave out in "
            f"turn; the gold files code {table['doc'].nunique()}"
        )
    coder = coder if coder is not None else new_coder(codebook)
    y = label_matrix(table, labels)
    prob, fitted = out_of_fold(coder, table, y, workers)
    threshold = choose_threshold(prob, y, coded_by_rules(table, labels))
    rows, preds, rules_preds = [], [], []
    rules = replace(codebook, model=None)
    for group in sorted(fitted):
        model = as_model(fitted[group].set_params(threshold=threshold))
        docs = sorted(table.loc[table["group"] == group, "doc"].unique())
        items = [(d, training.texts[d]) for d in docs]
        pred = coding_of(items, replace(codebook, model=model), group)
        gold = training.gold[training.gold["doc"].isin(docs)]
        preds.append(pred)
        rules_preds.append(coding_of(items, rules, group))
        rows.append(
            {
                "site": group,
                "documents": len(docs),
                "gold_claims": len(gold),
                **_figures(agreement(gold, pred).scores),
                **{
                    f"rules_{k}": v
                    for k, v in _figures(agreement(gold, rules_preds[-1]).scores).items()
                },
            }
        )
    predictions = pd.concat(preds, ignore_index=True)
    pooled = agreement(training.gold, predictions)
    rules_pooled = agreement(training.gold, pd.concat(rules_preds, ignore_index=True))
    sites = {d["doc"]: d["site"] for d in training.documents}
    units, articles = validation_units(training.gold, predictions, sites)
    return CrossValidation(
        threshold,
        pd.DataFrame(rows),
        pooled.scores,
        predictions,
        pooled.disagreements,
        rules_pooled.scores,
        attribution_levels(training.gold, predictions),
        units,
        articles,
    )


def attribution_levels(gold: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """How often each attribution level gives the coders' procedures and
    conditions, on the claims both found: ``kind, level, claims, accuracy``."""
    keyed = {}
    by_doc: dict[str, set[str]] = {}
    for r in gold.itertuples(index=False):
        keyed[(r.doc, norm(r.sentence), r.type, r.category)] = r
        by_doc.setdefault(r.doc, set()).add(norm(r.sentence))
    pred_sentences: dict[str, set[str]] = {}
    for r in predictions.itertuples(index=False):
        pred_sentences.setdefault(r.doc, set()).add(norm(r.sentence))
    mapping = {d: align(by_doc.get(d, set()), s) for d, s in pred_sentences.items()}
    tallies: dict[tuple[str, str], list[int]] = {}
    for r in predictions.itertuples(index=False):
        sentence = mapping[r.doc].get(norm(r.sentence))
        g = keyed.get((r.doc, sentence, r.type, r.category)) if sentence else None
        if g is None:
            continue
        for kind, level, ours, theirs in (
            ("procedures", r.procedure_level, r.procedures, g.procedures),
            ("conditions", r.condition_level, r.conditions, g.conditions),
        ):
            tally = tallies.setdefault((kind, level), [0, 0])
            tally[0] += 1
            tally[1] += set(ours) == set(theirs)
    from analysis.coding.attribution import LEVELS

    rows = [
        {"kind": k, "level": lv, "claims": n, "accuracy": round(ok / n, 4)}
        for (k, lv), (n, ok) in tallies.items()
    ]
    order = {lv: i for i, lv in enumerate(LEVELS)}
    out = pd.DataFrame(rows, columns=["kind", "level", "claims", "accuracy"])
    rank = out["level"].map(lambda lv: order.get(lv, len(order)))
    return (
        out.assign(_rank=rank)
        .sort_values(["kind", "_rank"])
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


def learning_curve(
    training: Training, codebook: Codebook, threshold: float, coder: LearnedCoder | None = None
) -> pd.DataFrame:
    """Each fold fitted on a share of the other sites (:data:`CURVE`, drawn
    with a fixed seed) and scored on its left-out site, sentence by sentence
    (the rules' claims standing): ``share, sites, fold_mean, fold_sd``."""
    from sklearn.base import clone
    from sklearn.model_selection import LeaveOneGroupOut

    table, labels = training.table, labels_of(codebook)
    coder = (coder if coder is not None else new_coder(codebook)).set_params(threshold=threshold)
    y, coded = label_matrix(table, labels), coded_by_rules(table, labels)
    groups = table["group"].to_numpy()
    features = table[FEATURE_COLUMNS]
    rng = np.random.default_rng(config.SEED)
    rows = []
    for share in CURVE:
        scores, sizes = [], []
        for train_rows, test_rows in LeaveOneGroupOut().split(features, y, groups):
            sites = sorted(set(groups[train_rows]))
            n = max(1, int(round(share * len(sites))))
            kept = set(rng.choice(sites, size=n, replace=False)) if n < len(sites) else set(sites)
            chosen = train_rows[np.isin(groups[train_rows], list(kept))]
            fold = clone(coder).fit(features.iloc[chosen], y[chosen])
            decided = fold.predict(features.iloc[test_rows]).astype(bool) | coded[test_rows]
            scores.append(micro_f1(decided, y[test_rows]))
            sizes.append(n)
        rows.append(
            {
                "share": share,
                "sites": round(float(np.mean(sizes)), 1),
                "fold_mean": round(float(np.mean(scores)), 4),
                "fold_sd": round(float(np.std(scores)), 4),
            }
        )
    return pd.DataFrame(rows)


FIGURES = {
    "detection_f1": ("f1", "detection"),
    "category_f1": ("f1", "category"),
    "certainty": ("accuracy", "certainty"),
    "procedures": ("accuracy", "procedures"),
    "conditions": ("accuracy", "conditions"),
    "count_wape": ("count_wape", "procedure x condition x type"),
}


def _figures(scores: pd.DataFrame) -> dict[str, float]:
    out = {}
    for name, (measure, level) in FIGURES.items():
        row = scores[(scores["measure"] == measure) & (scores["level"] == level)]
        out[name] = float(row["value"].iloc[0]) if len(row) else float("nan")
    return out


def per_label(scores: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Precision, recall and F1 per type and per category, pooled over the folds."""
    out: dict[str, dict[str, float]] = {}
    for level in scores["level"].unique():
        if ":" not in level:
            continue
        rows = scores[scores["level"] == level].set_index("measure")["value"]
        if {"precision", "recall", "f1"} <= set(rows.index):
            out[level] = {m: round(float(rows[m]), 4) for m in ("precision", "recall", "f1")}
    return out


def train(
    training: Training,
    codebook: Codebook,
    out: str | Path,
    coder: LearnedCoder | None = None,
    curve: bool = True,
) -> tuple[Model, CrossValidation]:
    """Cross-validate, fit on everything, write the model to ``out``."""
    coder = coder if coder is not None else new_coder(codebook)
    cv = cross_validate(training, codebook, coder)
    labels = labels_of(codebook)
    fitted = coder.set_params(threshold=cv.threshold).fit(
        training.table[FEATURE_COLUMNS], label_matrix(training.table, labels)
    )
    hyper = {k: v for k, v in coder.get_params().items() if k not in ("labels", "threshold")}
    inputs_hash = hashlib.sha256(
        repr((training.inputs, codebook.sha256, sorted(hyper.items()))).encode()
    ).hexdigest()
    folds = cv.folds
    manifest = {
        "version": f"{FORMAT}+{inputs_hash[:10]}",
        "codebook_version": codebook.version,
        "codebook_sha256": codebook.sha256,
        "trained_on": training.inputs,
        "documents": sorted(training.documents, key=lambda d: d["doc"]),
        "sentences": len(training.table),
        "sites": int(training.table["group"].nunique()),
        "cross_validation": {
            "grouped_by": "site (leave one site out)",
            "note": "figures on sites the model did not see; never on its training articles",
            "fold_mean": {k: round(float(folds[k].mean()), 4) for k in FIGURES},
            "fold_sd": {k: round(float(folds[k].std(ddof=0)), 4) for k in FIGURES},
            "fold_min": {k: round(float(folds[k].min()), 4) for k in FIGURES},
            "fold_max": {k: round(float(folds[k].max()), 4) for k in FIGURES},
            "fold_mean_rules_alone": {
                k: round(float(folds[f"rules_{k}"].mean()), 4) for k in FIGURES
            },
            "pooled": {k: round(v, 4) for k, v in _figures(cv.pooled).items()},
            "pooled_rules_alone": {k: round(v, 4) for k, v in _figures(cv.pooled_rules).items()},
            "per_type_and_category": per_label(cv.pooled),
            "attribution_levels": cv.attribution.to_dict("records"),
            "learning_curve": learning_curve(training, codebook, cv.threshold, coder).to_dict(
                "records"
            )
            if curve
            else [],
        },
        # What the folds say of the coder, article by article: the error
        # rates every report states, and corrects its counts with
        # (analysis.estimates), when the user gives no validation sample.
        "validation": {
            "units": cv.units.to_dict("records"),
            "articles": cv.articles.to_dict("records"),
        },
        "sklearn": _sklearn_version(),
    }
    json.dumps(manifest)  # every value must be JSON
    model = save_model(fitted, out, manifest)
    return model, cv


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


def format_cv(cv: CrossValidation) -> str:
    """The cross-validated figures as text: per site, the mean and spread,
    pooled per type and per category, and each attribution level."""
    f = cv.folds
    lines = [f"grouped cross-validation, {len(f)} sites left out one at a time "]
    lines[0] += f"(threshold {cv.threshold:.2f}):"
    lines.append(f"  {'site':<46} {'docs':>4} {'gold':>5} {'det F1':>7} {'cat F1':>7}")
    for r in f.itertuples():
        lines.append(
            f"  {r.site[:46]:<46} {r.documents:>4} {r.gold_claims:>5} "
            f"{r.detection_f1:>7.3f} {r.category_f1:>7.3f}"
        )
    for name, prefix in (("fold mean", ""), ("rules alone", "rules_")):
        lines.append(
            f"  {name}: "
            + ", ".join(f"{k.replace('_', ' ')} {f[prefix + k].mean():.3f}" for k in FIGURES)
        )
    lines.append(
        "  fold spread (sd): "
        + ", ".join(f"{k.replace('_', ' ')} {f[k].std(ddof=0):.3f}" for k in FIGURES)
    )
    for name, scores in (("pooled", cv.pooled), ("pooled, rules alone", cv.pooled_rules)):
        lines.append(
            f"  {name}: "
            + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in _figures(scores).items())
        )
    lines.append("pooled over the folds, per type and per category (P / R / F1):")
    for level, v in per_label(cv.pooled).items():
        lines.append(f"  {level:<40} {v['precision']:.3f} / {v['recall']:.3f} / {v['f1']:.3f}")
    lines.append("attribution by level, on the claims the folds found (claims, accuracy):")
    for r in cv.attribution.itertuples():
        lines.append(f"  {r.kind:<11} {r.level:<16} {r.claims:>5} {r.accuracy:.3f}")
    return "\n".join(lines)
