"""Train the learned coder on coded articles, and measure it on unseen sites.

Takes gold files (GUIDELINES.md's JSON Lines) with the corpus folders they
code, and optionally a sources table naming each article's address (the
``SOURCES.tsv`` of ``../shared/annotation/dev``). Returns, and writes:

- the training table: one row per sentence the coder decides on, with the
  features (:mod:`analysis.features`), the coded labels ("type/category")
  and the group the article belongs to (its site);
- the cross-validation: grouped by site, each fold trains on the other sites
  and codes the left-out site's articles end to end (``code_document``, as
  ``analysis extract`` does), scored by :func:`analysis.validation.agreement.agreement`
  (the figures of the guidelines' ``score.py``). The threshold is chosen on
  the folds' out-of-fold probabilities; the folds' mean is the estimate;
- the model fitted on everything, with a manifest recording the inputs'
  hashes, the threshold and the cross-validated figures.

Training is reproducible: the same inputs give the same model, the same
content hash and the same predictions (fixed seed, sorted inputs, a
deterministic solver).
"""

from __future__ import annotations

import csv
import hashlib
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from analysis.codebook import Codebook
from analysis.corpus import iter_documents
from analysis.errors import TrainingError
from analysis.extract import extract, label_of, page_features, read_page
from analysis.features import FEATURE_COLUMNS
from analysis.model import Model, build_pipeline, from_pipeline, probabilities, save_model
from analysis.validation.agreement import agreement, align, norm, read_coding, to_coding

FORMAT = "1"
THRESHOLDS = np.round(np.arange(0.20, 0.81, 0.05), 2)
TRAINING_COLUMNS = ["doc", "group", "sid", *FEATURE_COLUMNS, "labels"]


@dataclass
class Training:
    """Everything the coder learns from."""

    table: pd.DataFrame  # TRAINING_COLUMNS
    texts: dict[str, str]  # doc -> text
    gold: pd.DataFrame  # the codings table of every gold file (schema.CODING_COLUMNS)
    inputs: list[dict]  # what was read, with hashes, for the manifest


@dataclass
class CrossValidation:
    threshold: float
    folds: pd.DataFrame  # one row per left-out site: its figures, and the rules' alone
    pooled: pd.DataFrame  # validate's scores table over all out-of-fold codings
    predictions: pd.DataFrame  # the out-of-fold codings (schema.CODING_COLUMNS)
    disagreements: pd.DataFrame  # validate's disagreements, out of fold
    pooled_rules: pd.DataFrame  # the scores of the codebook's rules alone, pooled


def site_of(url: str) -> str:
    """The site an address belongs to: a repository on a code host, else the host."""
    parsed = urlparse(url.strip())
    parts = [p for p in parsed.path.split("/") if p]
    if parsed.netloc.endswith(("github.com", "gitlab.com")) and len(parts) >= 2:
        return f"{parsed.netloc}/{parts[0]}/{parts[1]}".lower()
    return parsed.netloc.lower() or url


def read_sites(paths: list[str | Path]) -> dict[str, str]:
    """doc file name -> site, from tables with ``file`` and ``url`` columns."""
    sites: dict[str, str] = {}
    for path in paths:
        with open(path, newline="", encoding="utf-8") as f:
            dialect = "excel-tab" if str(path).endswith(".tsv") else "excel"
            for row in csv.DictReader(f, dialect=dialect):
                if row.get("file") and row.get("url"):
                    sites[row["file"]] = site_of(row["url"])
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
    rows, texts, codings, inputs = [], {}, [], []
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
            n_docs += 1
            texts[name] = document["text"]
            group = (sites or {}).get(name, f"folder:{Path(corpus).name}")
            page = read_page(name, document["text"], rules, features=True)
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
    gold_all = pd.concat(codings, ignore_index=True)
    return Training(table, texts, gold_all, inputs)


def label_matrix(table: pd.DataFrame, labels: list[str]) -> np.ndarray:
    index = {label: j for j, label in enumerate(labels)}
    y = np.zeros((len(table), len(labels)), dtype=np.int8)
    for i, ls in enumerate(table["labels"]):
        for label in ls:
            if label in index:
                y[i, index[label]] = 1
    return y


def labels_of(codebook: Codebook) -> list[str]:
    return [label_of(c) for c in codebook.categories]


def fit(table: pd.DataFrame, labels: list[str]):
    """A fitted pipeline on a training table."""
    with warnings.catch_warnings():
        # a category nobody coded in these articles: its model is a constant
        warnings.filterwarnings("ignore", message="Label not .* is present in all training")
        return build_pipeline().fit(table[FEATURE_COLUMNS], label_matrix(table, labels))


def _micro_f1(decided: np.ndarray, y: np.ndarray) -> float:
    tp = int((decided & (y == 1)).sum())
    return 2 * tp / max(1, int(decided.sum()) + int(y.sum()))


def cross_validate(training: Training, codebook: Codebook) -> CrossValidation:
    """Leave one site out at a time (see the module docstring)."""
    table, labels = training.table, labels_of(codebook)
    y = label_matrix(table, labels)
    groups = sorted(table["group"].unique())
    prob = np.zeros(y.shape)
    fitted = {}
    for group in groups:
        held = (table["group"] == group).to_numpy()
        fitted[group] = from_pipeline(fit(table[~held], labels), labels, 0.5)
        prob[held] = probabilities(fitted[group], table[held])
    # The cues' claims always stand (extract.apply_model): choose the
    # threshold for what the model adds to them.
    coded = label_matrix(
        table.assign(labels=[[k[6:] for k in c if k.startswith("coded=")] for c in table["cues"]]),
        labels,
    ).astype(bool)
    threshold = float(max(THRESHOLDS, key=lambda t: (_micro_f1((prob >= t) | coded, y), -t)))
    rows, preds, rules_preds = [], [], []
    for group in groups:
        coder = replace(codebook, model=replace(fitted[group], threshold=threshold))
        docs = sorted(table.loc[table["group"] == group, "doc"].unique())
        documents = pd.DataFrame({"doc": docs, "text": [training.texts[d] for d in docs]})
        pred = to_coding(extract(documents, coder), group)
        gold = training.gold[training.gold["doc"].isin(docs)]
        result = agreement(gold, pred)
        preds.append(pred)
        rules_preds.append(to_coding(extract(documents, replace(codebook, model=None)), group))
        baseline = agreement(gold, rules_preds[-1])
        rows.append(
            {
                "site": group,
                "documents": len(docs),
                "gold_claims": len(gold),
                **_figures(result.scores),
                **{f"rules_{k}": v for k, v in _figures(baseline.scores).items()},
            }
        )
    predictions = pd.concat(preds, ignore_index=True)
    pooled = agreement(training.gold, predictions)
    rules_pooled = agreement(training.gold, pd.concat(rules_preds, ignore_index=True))
    return CrossValidation(
        threshold,
        pd.DataFrame(rows),
        pooled.scores,
        predictions,
        pooled.disagreements,
        rules_pooled.scores,
    )


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


def train(training: Training, codebook: Codebook, out: str | Path) -> tuple[Model, CrossValidation]:
    """Cross-validate, fit on everything, write the model to ``out``."""
    cv = cross_validate(training, codebook)
    labels = labels_of(codebook)
    pipeline = fit(training.table, labels)
    inputs_hash = hashlib.sha256(repr((training.inputs, codebook.sha256)).encode()).hexdigest()
    folds = cv.folds
    manifest = {
        "version": f"{FORMAT}+{inputs_hash[:10]}",
        "codebook_version": codebook.version,
        "codebook_sha256": codebook.sha256,
        "trained_on": training.inputs,
        "sentences": len(training.table),
        "sites": int(training.table["group"].nunique()),
        "cross_validation": {
            "grouped_by": "site (leave one site out)",
            "fold_mean": {k: round(float(folds[k].mean()), 4) for k in FIGURES},
            "fold_mean_rules_alone": {
                k: round(float(folds[f"rules_{k}"].mean()), 4) for k in FIGURES
            },
            "pooled": {k: round(v, 4) for k, v in _figures(cv.pooled).items()},
            "pooled_rules_alone": {k: round(v, 4) for k, v in _figures(cv.pooled_rules).items()},
        },
        "sklearn": _sklearn_version(),
    }
    model = save_model(pipeline, labels, cv.threshold, out, manifest)
    return model, cv


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


def format_cv(cv: CrossValidation) -> str:
    """The cross-validated figures as text: per site, the mean, and pooled per
    type and per category."""
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
    for name, scores in (("pooled", cv.pooled), ("pooled, rules alone", cv.pooled_rules)):
        lines.append(
            f"  {name}: "
            + ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in _figures(scores).items())
        )
    s = cv.pooled
    lines.append("pooled over the folds, per type and per category (P / R / F1):")
    levels = [x for x in s["level"].unique() if x.startswith("category:")]
    levels += sorted(x for x in s["level"].unique() if ":" in x and x not in levels)
    for level in levels:
        rows = s[s["level"] == level].set_index("measure")["value"]
        if {"precision", "recall", "f1"} <= set(rows.index):
            lines.append(
                f"  {level:<40} {rows['precision']:.3f} / {rows['recall']:.3f} / {rows['f1']:.3f}"
            )
    return "\n".join(lines)
