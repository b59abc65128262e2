"""What the notebooks call: load their inputs, check their parameters.

A notebook run by papermill gets paths to the tables of a report run
(:mod:`analysis.report`); opened by hand in JupyterLab with its parameters
empty, it extracts the bundled sample corpus instead. Either way it reads
through here, so that the same parameter means the same thing from
papermill, the CLI and JupyterLab. A parameter that is wrong is refused
with a message naming it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.cache import extract_corpus
from analysis.codebook import Names, load_codebook, load_labels
from analysis.corpus import load_corpus
from analysis.errors import ParameterError
from analysis.schema import PROBLEM_COLUMNS
from analysis.tables import read_table


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "general"


def deep_dive_name(procedure: str, condition: str) -> str:
    """The file name (without .html) of a pair's deep-dive report."""
    return f"deep-dive_{slug(procedure)}_{slug(condition)}"


def resolve(path: str) -> str:
    """A path parameter as a path: as given when it exists (absolute, or
    relative to where the command runs), else relative to the repository,
    so that ``data/corpus`` means the same from papermill, the CLI and a
    JupyterLab kernel (whose working directory is ``notebooks/``)."""
    if not path or Path(path).is_absolute() or Path(path).exists():
        return path
    in_repo = config.REPO / path
    return str(in_repo) if in_repo.exists() else path


def load_claims(claims_path: str = "", codebook_path: str = "", corpus: str = "") -> pd.DataFrame:
    """Claims for a notebook: the table at ``claims_path``, or, when it is
    empty (a notebook opened by hand), a fresh extraction of ``corpus``
    (default: the bundled corpus)."""
    if claims_path:
        return read_table(resolve(claims_path))
    codebook = load_codebook(resolve(codebook_path) or config.CODEBOOK)
    return extract_corpus(resolve(corpus) or config.CORPUS, codebook)[0]


def check_pair(procedure: object, condition: object, codebook_path: str = "") -> tuple[str, str]:
    """The canonical ids of a deep-dive pair, given as ids, labels or
    synonyms ("eczema"); refuse one the codebook does not know, listing the ids."""
    for name, value in (("procedure", procedure), ("condition", condition)):
        if not isinstance(value, str):
            raise TypeError(
                f"parameter {name} must be a string (an id of the codebook), "
                f"got {type(value).__name__} {value!r}"
            )
    names = load_labels(codebook_path or config.CODEBOOK)
    ids = []
    for name, value, lexicon, extra in (
        ("procedure", procedure, names.procedures, ""),
        ("condition", condition, names.conditions, ', or "" for no particular condition'),
    ):
        if name == "condition" and not value:
            ids.append("")
            continue
        found = _canonical(str(value), lexicon)
        if found is None:
            raise ParameterError(
                f"unknown {name} {value!r}; valid ids: " + ", ".join(sorted(lexicon.labels)) + extra
            )
        ids.append(found)
    return ids[0], ids[1]


def _canonical(value: str, lexicon: Names) -> str | None:
    """The id of ``value`` (an id, a label or a synonym), or None."""
    if value in lexicon.labels:
        return value
    try:
        return lexicon.canonical(value)
    except KeyError:
        pass
    labels = {label.lower(): i for i, label in lexicon.labels.items()}
    return labels.get(value.lower())


def check_paths(**paths: object) -> None:
    """Refuse a path parameter that is not a string, naming it."""
    for name, value in paths.items():
        if not isinstance(value, str):
            raise TypeError(f"parameter {name} must be a path (a string), got {value!r}")


def load_problems(problems_path: str = "", claims_path: str = "", corpus: str = "") -> pd.DataFrame:
    """The skipped or repaired documents of the run. Empty paths: those of
    ``corpus`` (default: the bundled corpus), unless the claims come from a
    file of their own (then none are known: another corpus's would mislead)."""
    if problems_path:
        return read_table(resolve(problems_path))
    if claims_path:
        return pd.DataFrame(columns=PROBLEM_COLUMNS)
    return load_corpus(resolve(corpus) or config.CORPUS)[1]


def load_documents(
    documents_path: str = "", claims_path: str = "", corpus: str = ""
) -> pd.DataFrame:
    """Documents (without text) for a notebook. Empty paths: those of
    ``corpus`` (default: the bundled corpus); given only a claims file, the
    documents that file names (an article with no claim is then unknown),
    never another corpus's."""
    if documents_path:
        return read_table(resolve(documents_path))
    if claims_path:
        docs = read_table(resolve(claims_path))["doc"].astype(str).drop_duplicates()
        return pd.DataFrame({"doc": docs, "title": docs}).reset_index(drop=True)
    documents, _ = load_corpus(resolve(corpus) or config.CORPUS)
    return documents.drop(columns="text")


def load_accuracy(
    accuracy_path: str = "",
    claims: pd.DataFrame | None = None,
    documents: pd.DataFrame | None = None,
    codebook_path: str = "",
):
    """What the page says of the coder's error (:class:`analysis.estimates.Accuracy`):
    the run's (``accuracy.json`` and the tables beside it), or, for a
    notebook opened by hand, computed from the shipped coder's folds."""
    import json

    from analysis.estimates import Accuracy, accuracy_of, basis_of_model

    if accuracy_path:
        path = Path(resolve(accuracy_path))
        meta = json.loads(path.read_text(encoding="utf-8"))
        folder = path.parent
        return Accuracy(
            basis=str(meta["basis"]),
            kind=str(meta["kind"]),
            rates=read_table(folder / "error_rates.csv"),
            estimates=read_table(folder / "estimates.csv"),
            shares=read_table(folder / "share_estimates.csv"),
            in_sample=[str(d) for d in meta.get("in_sample", [])],
            documents=int(meta.get("documents", 0)),
        )
    codebook = load_codebook(resolve(codebook_path) or config.CODEBOOK)
    claims = claims if claims is not None else load_claims("", codebook_path)
    documents = documents if documents is not None else load_documents()
    return accuracy_of(claims, documents, basis_of_model(codebook.model))


ALL = "(all)"


def pick(
    claims: pd.DataFrame,
    procedure: str = ALL,
    condition: str = ALL,
    claim_type: str = ALL,
    certainty: str = ALL,
) -> pd.DataFrame:
    """The claims a set of pickers selects (``ALL``: no choice made;
    condition "": no particular condition)."""
    chosen = claims
    for column, value in (
        ("procedure", procedure),
        ("condition", condition),
        ("type", claim_type),
        ("certainty", certainty),
    ):
        if value != ALL:
            chosen = chosen[chosen[column] == value]
    return chosen


def explorer(claims: pd.DataFrame, documents: pd.DataFrame, labels: dict[str, str] | None = None):
    """Pickers for procedure, condition, claim type and certainty that
    redraw the headline, the charts and the evidence for what they select
    (ipywidgets, in JupyterLab). ``box.selection()`` gives the claims shown."""
    import ipywidgets as widgets
    from IPython.display import HTML, Markdown, display

    from analysis import figures, summary

    def options(column: str) -> list[tuple[str, str]]:
        values = sorted(set(claims[column].astype(str)))
        return [(ALL, ALL)] + [
            (figures.label(v, labels) if v else figures.GENERAL, v) for v in values
        ]

    pickers = {
        "procedure": widgets.Dropdown(options=options("procedure"), description="procedure"),
        "condition": widgets.Dropdown(options=options("condition"), description="condition"),
        "claim_type": widgets.Dropdown(options=options("type"), description="type"),
        "certainty": widgets.Dropdown(options=options("certainty"), description="certainty"),
    }
    out = widgets.Output()

    def selection() -> pd.DataFrame:
        return pick(claims, **{name: p.value for name, p in pickers.items()})

    def redraw(_: object = None) -> None:
        chosen = selection()
        out.clear_output(wait=True)
        with out:
            display(Markdown(summary.headline(chosen, documents)))
            if not chosen.empty:
                display(figures.heatmaps(chosen, labels=labels))
                display(figures.category_bars(chosen, labels=labels))
            display(HTML(summary.evidence_datatable(summary.evidence(chosen), limit=500)))

    for p in pickers.values():
        p.observe(redraw, names="value")
    redraw()
    box = widgets.VBox([widgets.HBox(list(pickers.values())), out])
    box.selection = selection
    return box
