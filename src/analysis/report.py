"""Reports: a corpus's pages planned, run and indexed.

:func:`build_reports` extracts the claims of a corpus once, writes them
beside the reports (``data/claims.parquet`` and ``.csv``, ``data/documents``
and ``data/problems``), plans the overview notebook and one deep-dive
notebook per (procedure, condition) pair with claims, has
:mod:`analysis.execute` run each with papermill and export it to HTML
without code cells, and writes ``index.html`` with the run's provenance. A
notebook that fails is marked failed in the index with its error; the
others still run.

Jobs table (the ``jobs`` of the returned :class:`ReportRun`), one row per
report: ``name, notebook, title, procedure, condition, html, status, error,
claims, articles, benefit, risk, uncertainty`` (the units of
:mod:`analysis.counts`: a report's claims are the sum of its types'). A pair
gets a deep dive when its claims reach ``config.MIN_DEEP_DIVE_CLAIMS``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

import analysis
from analysis import config
from analysis.articles import ARTICLES, write_article
from analysis.cache import extract_corpus
from analysis.codebook import Codebook, load_codebook
from analysis.compare import groups_of
from analysis.counts import MATRIX_ROWS, count_claims, general_risks, matrix, pairs
from analysis.errors import OutputError, ParameterError, ReportError
from analysis.estimates import accuracy_of, error_basis
from analysis.execute import Task, run_notebook, run_notebooks
from analysis.files import write_text
from analysis.notebook import deep_dive_name, slug
from analysis.regression import covariate
from analysis.schema import claim_types, unique_claims
from analysis.summary import document_key, matrix_export
from analysis.tables import check_output, read_table, write_for_spreadsheets, write_table

OVERVIEW = "overview.ipynb"
DEEP_DIVE = "deep_dive.ipynb"
VALIDATION = "validation.ipynb"
COMPARE = "compare.ipynb"


@dataclass
class ReportRun:
    out: Path
    jobs: pd.DataFrame
    problems: pd.DataFrame
    provenance: dict
    min_claims: int = config.MIN_DEEP_DIVE_CLAIMS
    types: tuple[str, ...] = claim_types()  # the claim types counted, a column each

    @property
    def failed(self) -> pd.DataFrame:
        return self.jobs[self.jobs["status"] != "ok"]


def corpus_hash(documents: pd.DataFrame) -> str:
    """One hash for the whole corpus: its documents' names and contents."""
    h = hashlib.sha256()
    for doc, sha in sorted(zip(documents["doc"], documents["sha256"], strict=True)):
        h.update(f"{doc}\x1f{sha}\n".encode())
    return h.hexdigest()


@dataclass
class Job:
    """One report to run: its notebook, page name, title and parameters;
    once planned, the claims it counts and its fingerprint."""

    name: str
    notebook: str
    title: str
    parameters: dict
    procedure: str = ""
    condition: str = ""
    subset: pd.DataFrame | None = None
    fingerprint: str = ""


@dataclass
class Inputs:
    """What every report kind plans from: the run's tables and options."""

    claims: pd.DataFrame
    documents: pd.DataFrame
    problems: pd.DataFrame
    data: dict[str, object]  # the notebooks' path parameters (and whether articles exist)
    min_claims: int = config.MIN_DEEP_DIVE_CLAIMS
    by: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportKind:
    """A kind of report: ``plan`` gives its jobs; ``rows`` gives the claims a
    job counts (for the index) and the tables its page depends on (for the
    cache: a page is run again when they change)."""

    notebook: str
    plan: Callable[[Inputs], list[Job]]
    rows: Callable[[Job, Inputs], tuple[pd.DataFrame, tuple[pd.DataFrame, ...]]]
    evidence: bool = False  # write the job's claims beside its page


def _shown(documents: pd.DataFrame) -> pd.DataFrame:
    return documents[["doc", "title"]]  # what a report shows of a document


def plan_overview(inputs: Inputs) -> list[Job]:
    # a report page is read, not explored: the overview's pickers are for JupyterLab
    return [
        Job(
            "overview",
            OVERVIEW,
            "Overview of the corpus",
            {**inputs.data, "explore": False, "min_claims": inputs.min_claims},
        )
    ]


def overview_rows(job: Job, inputs: Inputs) -> tuple[pd.DataFrame, tuple[pd.DataFrame, ...]]:
    return inputs.claims, (inputs.claims, _shown(inputs.documents), inputs.problems)


def plan_comparisons(inputs: Inputs) -> list[Job]:
    """A comparison per metadata column of ``by``."""
    return [
        Job(
            f"compare_{slug(column)}",
            COMPARE,
            f"Articles compared by {column}",
            {
                **inputs.data,
                "by": column,
                "covariates": ",".join(inputs.covariates),
                **comparison_paths(Path(inputs.data["claims_path"]).parent, column),
            },
        )
        for column in inputs.by
    ]


def comparison_paths(data_dir: Path, column: str) -> dict[str, str]:
    """Where a comparison's tables are written (the notebook's parameters)."""
    stem = data_dir / f"compare_{slug(column)}"
    return {"categories_path": f"{stem}_categories.csv", "models_path": f"{stem}_models.csv"}


def write_comparisons(
    claims: pd.DataFrame,
    documents: pd.DataFrame,
    by: tuple[str, ...],
    covariates: tuple[str, ...],
    data_dir: Path,
) -> None:
    """Per column of ``by``: the per-category table
    (:func:`analysis.compare.category_shares`) and the group models
    (:func:`analysis.regression.group_models`), as CSV."""
    from analysis.compare import category_shares
    from analysis.regression import article_outcomes, group_models

    for column in by:
        paths = comparison_paths(data_dir, column)
        write_table(category_shares(claims, documents, column), Path(paths["categories_path"]))
        outcomes = article_outcomes(claims, documents, column, covariates)
        write_table(group_models(outcomes, column, covariates), Path(paths["models_path"]))


def compare_rows(job: Job, inputs: Inputs) -> tuple[pd.DataFrame, tuple[pd.DataFrame, ...]]:
    return inputs.claims, (inputs.claims, inputs.documents)  # groups are metadata columns


def plan_deep_dives(inputs: Inputs) -> list[Job]:
    """A deep dive per (procedure, condition) with at least ``min_claims``
    claims (the overview shows the others)."""
    jobs = []
    for row in pairs(inputs.claims).itertuples():
        if row.claims < inputs.min_claims:
            continue
        procedure, condition = str(row.procedure), str(row.condition)
        jobs.append(
            Job(
                deep_dive_name(procedure, condition),
                DEEP_DIVE,
                f"{procedure.replace('_', ' ')} × "
                f"{condition.replace('_', ' ') if condition else 'no particular condition'}",
                {**inputs.data, "procedure": procedure, "condition": condition},
                procedure,
                condition,
            )
        )
    return jobs


def deep_dive_rows(job: Job, inputs: Inputs) -> tuple[pd.DataFrame, tuple[pd.DataFrame, ...]]:
    """A deep dive shows its pair's claims, their documents and the general
    risk claims about the procedure in them."""
    claims = inputs.claims
    subset = claims[(claims["procedure"] == job.procedure) & (claims["condition"] == job.condition)]
    docs = subset["doc"].unique()
    shown = _shown(inputs.documents)
    return subset, (
        subset.drop(columns="rule"),  # what the page shows, not how it was decided
        general_risk_counts(claims, job.procedure, docs),
        shown[shown["doc"].isin(docs)],
    )


# The kinds of report a run plans, in the order the index lists them: adding
# a kind is its notebook, a plan and a rows function, and an entry here.
REPORTS: dict[str, ReportKind] = {
    "overview": ReportKind(OVERVIEW, plan_overview, overview_rows),
    "compare": ReportKind(COMPARE, plan_comparisons, compare_rows),
    "deep_dive": ReportKind(DEEP_DIVE, plan_deep_dives, deep_dive_rows, evidence=True),
}


def plan_jobs(inputs: Inputs) -> list[tuple[ReportKind, Job]]:
    """Every report of the run, with its kind."""
    return [(kind, job) for kind in REPORTS.values() for job in kind.plan(inputs)]


def write_matrices(
    claims: pd.DataFrame, documents: pd.DataFrame, codebook: Codebook, data_dir: Path
) -> None:
    """The category x article and condition x article matrices, for a
    spreadsheet or a QDA tool: ``data/matrix_<rows>.csv`` (with a BOM) and ``.xlsx``."""
    labels = {
        **codebook.conditions.labels,
        **{c.id: c.label for c in codebook.categories},
    }
    for rows in MATRIX_ROWS:
        table = matrix_export(matrix(claims, documents, rows), documents, labels)
        for suffix in (".csv", ".xlsx"):
            write_for_spreadsheets(table, data_dir / f"matrix_{rows}{suffix}")
    # the matrices' columns are the documents' short ids: their key
    for suffix in (".csv", ".xlsx"):
        write_for_spreadsheets(document_key(documents), data_dir / f"documents{suffix}")


def remove_stale_articles(out: Path, current: set[str]) -> None:
    """Remove the article pages of documents that left the corpus."""
    names = {sha[:16] for sha in current}
    for page in (out / ARTICLES).glob("*.html"):
        if page.stem not in names:
            page.unlink()


def check_apart(corpus: Path, out: Path) -> None:
    """Refuse a report folder that is the corpus, holds it, or lies inside
    it: a run cleans its folder of stale pages, and must never touch an
    article (nor be read as one)."""
    corpus, out = corpus.resolve(), out.resolve()
    for folder in (out, work_dir(out)):
        if folder == corpus or corpus.is_relative_to(folder) or folder.is_relative_to(corpus):
            raise OutputError(
                f"--out {out}: the report folder (and its work folder {work_dir(out).name}) "
                f"must lie outside the corpus {corpus}, and not hold it; give another --out"
            )


def check_pages(by: tuple[str, ...] | list[str]) -> None:
    """Refuse two comparison columns whose pages would have one name
    (``Kind`` and ``kind``): one would overwrite the other."""
    seen: dict[str, str] = {}
    for column in by:
        name = f"compare_{slug(column)}"
        if name in seen and seen[name] != column:
            raise ParameterError(
                f"--by {seen[name]!r} and --by {column!r} would both be {name}.html; "
                "rename one column"
            )
        seen[name] = column


def remove_stale_pages(out: Path, current: set[str]) -> int:
    """Remove the pages (and evidence files) of reports this run no longer
    plans: a pair that left the corpus leaves no page behind. Returns how many."""
    removed = 0
    for page in out.glob("*.html"):
        if page.stem in current or not page.stem.startswith(("deep-dive_", "compare_")):
            continue
        page.unlink()
        for evidence in (out / "data").glob(f"{page.stem}.evidence.*"):
            evidence.unlink()
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def folder_lock(out: Path) -> Iterator[None]:
    """Hold the report folder for one run: a second run on the same folder
    refuses with a message instead of reading half-written files. A lock
    left by a run that died is taken over."""
    lock = work_dir(out) / "lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _alive(pid):
                raise ReportError(
                    f"{out}: another report run (process {pid}) is writing this folder; "
                    "wait for it to end, or give another --out"
                ) from None
            lock.unlink(missing_ok=True)  # left by a run that died
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        break
    else:
        raise ReportError(f"{out}: cannot take the lock {lock}")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def work_dir(out: Path) -> Path:
    """Where a report run keeps its work files (the cache, the executed
    notebooks): beside the published folder, never inside it, so that the
    folder one mails holds the pages and their data only."""
    out = Path(out).resolve()
    return out.with_name(out.name + config.WORK_SUFFIX)


def task_of(job: Job, notebooks: Path, out: Path) -> Task:
    """What :mod:`analysis.execute` runs of a job: its notebook, its page in
    ``out``, its executed notebook and scratch folder in the work folder."""
    work = work_dir(out)
    return Task(
        name=job.name,
        notebook=notebooks / job.notebook,
        parameters=job.parameters,
        title=job.title,
        executed=work / "notebooks" / f"{job.name}.ipynb",
        html=out / f"{job.name}.html",
        scratch=work / "tmp" / hashlib.sha256(job.name.encode()).hexdigest()[:8],
    )


def run_job(job: Job, notebooks: Path, out: Path, kernel: str) -> tuple[str, str]:
    """Execute one job's notebook and export its page: (status, error)."""
    return run_notebook(task_of(job, notebooks, out), kernel)


def run_jobs(
    jobs: list[Job], notebooks: Path, out: Path, kernel: str, n: int
) -> list[tuple[str, str]]:
    """(status, error) of each job, run in ``n`` processes."""
    return run_notebooks([task_of(job, notebooks, out) for job in jobs], kernel, n)


def write_index(run: ReportRun) -> Path:
    """index.html: one row per report with its key numbers, and the provenance."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("analysis", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    html = env.get_template("index.html.j2").render(
        jobs=run.jobs.to_dict("records"),
        problems=run.problems.to_dict("records"),
        provenance=run.provenance,
        min_claims=run.min_claims,
        types=run.types,
    )
    return write_text(run.out / "index.html", html)


def general_risk_counts(claims: pd.DataFrame, procedure: str, docs) -> pd.DataFrame:
    """Per document of ``docs``: its general risk claims about ``procedure``,
    the only part of the other claims a deep dive shows."""
    docs = list(docs)
    return pd.DataFrame({"doc": docs, "general_risk": general_risks(claims, procedure, docs)})


def table_hash(*tables: pd.DataFrame) -> str:
    """A content hash of tables (their rows, not their index)."""
    h = hashlib.sha256()
    for table in tables:
        h.update(",".join(table.columns).encode())
        h.update(pd.util.hash_pandas_object(table.astype(str), index=False).values.tobytes())
    return h.hexdigest()


def fingerprint(job: Job, notebooks: Path, inputs: str, code: str) -> str:
    """What a report's HTML depends on: notebook, parameters, input rows, and
    the package's code (``code``: :func:`code_hash`, computed once a run)."""
    h = hashlib.sha256(notebook_source(notebooks / job.notebook).encode())
    h.update(json.dumps(job.parameters, sort_keys=True).encode())
    h.update(f"{inputs}\n{analysis.__version__}\n{code}".encode())
    return h.hexdigest()


def notebook_source(path: Path) -> str:
    """What a notebook runs: its cells' kinds and sources. Outputs and
    metadata that JupyterLab writes on save do not count, so a notebook
    saved with outputs does not make every report run again."""
    cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    return json.dumps(
        [(c.get("cell_type"), "".join(c.get("source", ""))) for c in cells], ensure_ascii=False
    )


def code_hash() -> str:
    """A hash of the package's code and templates: a page drawn by other
    code is drawn again, even under the same version number."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted([*here.rglob("*.py"), *here.glob("templates/**/*.j2")]):
        h.update(path.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class Options:
    """What a report run is asked to do: :func:`build_reports`'s arguments,
    paths resolved. Every step reads it; none changes it."""

    corpus: Path
    out: Path
    codebook: str | Path | Codebook
    model: str | Path | None
    notebooks: Path
    kernel: str
    images: bool
    jobs: int
    rebuild: bool
    min_claims: int
    by: tuple[str, ...]
    metadata: str | Path | None
    limits: config.Limits
    validation: str | Path | None
    covariates: tuple[str, ...]
    workers: int = 1  # how, not what: not in the parameters

    def parameters(self) -> dict:
        """The options the provenance records."""
        return {
            "kernel": self.kernel,
            "notebooks": str(self.notebooks),
            "images": self.images,
            "jobs": self.jobs,
            "by": list(self.by),
            "covariates": list(self.covariates),
            "metadata": str(self.metadata or ""),
            "validation": str(self.validation or ""),
        }


def build_reports(
    corpus: str | Path = config.CORPUS,
    out: str | Path = config.REPORTS,
    codebook: str | Path | Codebook = config.CODEBOOK,
    notebooks: str | Path = config.NOTEBOOKS,
    kernel: str = config.KERNEL,
    images: bool = False,
    jobs: int = config.JOBS,
    rebuild: bool = False,
    min_claims: int = config.MIN_DEEP_DIVE_CLAIMS,
    by: tuple[str, ...] | list[str] = (),
    metadata: str | Path | None = None,
    limits: config.Limits = config.LIMITS,
    validation: str | Path | None = None,
    covariates: tuple[str, ...] | list[str] = (),
    model: str | Path | None = config.MODEL,
    workers: int = 1,
) -> ReportRun:
    """Extract the corpus once (through the per-document cache), run every
    report whose inputs changed in ``jobs`` processes, write index.html.
    With ``images``, every chart is also written to ``images/<report>/`` as
    PNG and SVG. ``rebuild`` drops the caches and runs everything. A pair
    gets a deep dive when its articles make ``min_claims`` claims about it.
    ``by`` names metadata columns (of the corpus's ``metadata.csv`` or of
    ``metadata``) to compare groups of articles by, a page each. ``limits``
    bound what reading one document may cost. ``validation`` is a gold file
    coding some of the corpus's articles: the coder's error rates, which
    every page states and corrects its counts with, then come from it
    instead of the coder's own cross-validation folds. ``covariates``
    (documents columns, ``words`` or ``year``) enter the comparisons' group
    models beside the group. ``workers`` processes code a large corpus
    (``analysis report`` gives ``config.WORKERS``; see
    :func:`analysis.cache.extract_corpus`).
    ``codebook`` is a path (loaded with ``model``,
    the learned coder, only when something changed) or a loaded codebook.

    The run is a row of small steps, each taking and returning plain data,
    inside the folder's lock: :func:`unchanged` (a run whose inputs are the
    last run's returns that run, having read no document and loaded no
    codebook), :func:`extract_step`, :func:`write_data`, :func:`plan`,
    :func:`execute` and :func:`finish` (provenance and index)."""
    options = Options(
        corpus=Path(corpus),
        out=Path(out).resolve(),
        codebook=codebook,
        model=model,
        notebooks=Path(notebooks).resolve(),
        kernel=kernel,
        images=images,
        jobs=jobs,
        rebuild=rebuild,
        min_claims=min_claims,
        by=tuple(dict.fromkeys(by)),  # a column given twice is one page
        metadata=metadata,
        limits=limits,
        validation=validation,
        covariates=tuple(dict.fromkeys(covariates)),
        workers=workers,
    )
    check_apart(Path(corpus), Path(out))
    check_output(Path(out), table=False)
    check_pages(options.by)
    with folder_lock(options.out):  # one run writes a report folder at a time
        inputs_print = run_fingerprint(options)
        previous = unchanged(options, inputs_print)
        if previous is not None:
            return previous
        cb = codebook if isinstance(codebook, Codebook) else load_codebook(codebook, model=model)
        claims, documents, problems = extract_step(options, cb)
        inputs, accuracy = write_data(options, cb, claims, documents, problems)
        planned, stale = plan(options, inputs, accuracy)
        results = execute(options, [job for job, todo in planned if todo])
        return finish(options, cb, inputs, accuracy, planned, results, stale, inputs_print)


# ---------------------------------------------------------------- steps


def state_path(out: Path) -> Path:
    """The last run's state: each page's fingerprint, and the run's own."""
    return work_dir(out) / "cache" / "reports.json"


def read_state(out: Path) -> dict:
    try:
        state = json.loads(state_path(out).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _file_print(path: str | Path | None) -> str:
    """A file named by an option: its content hash ("" when none is given;
    the name when there is no such file, which the run then reports)."""
    if not path or str(path).lower() == "none":
        return ""
    path = Path(path)
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return f"missing:{path}"


def run_fingerprint(options: Options) -> str:
    """What a whole run depends on, read without parsing anything: the name,
    size and modification time of every file the corpus's readers take
    (and of its metadata table), the bytes of the codebook, the model, the
    metadata and validation files and the notebooks, the package's code,
    and the options. Equal prints: nothing a report shows can differ."""
    from analysis.corpus import metadata_file, scan

    h = hashlib.sha256(json.dumps(options.parameters(), sort_keys=True).encode())
    h.update(f"{options.min_claims}\n{options.limits}\n{options.corpus.resolve()}\n".encode())
    files, skipped = scan(options.corpus)
    meta = options.metadata or metadata_file(options.corpus)
    for path in [*files, *([Path(meta)] if meta else [])]:
        try:
            stat = path.stat()
            h.update(f"{path}\x1f{stat.st_size}\x1f{stat.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{path}\x1fmissing\n".encode())
    h.update(repr(sorted(map(str, skipped))).encode())
    if isinstance(options.codebook, Codebook):
        model = options.codebook.model
        h.update(f"{options.codebook.sha256}\n{model.sha256 if model else 'rules'}".encode())
    else:
        from analysis.coding.model_files import model_files

        h.update(_file_print(options.codebook).encode())
        for path in model_files(options.model):
            h.update(_file_print(path).encode())
    for path in (options.validation, options.metadata):
        h.update(_file_print(path).encode())
    for name in (OVERVIEW, DEEP_DIVE, COMPARE):
        notebook = options.notebooks / name
        h.update(notebook_source(notebook).encode() if notebook.is_file() else b"-")
    h.update(f"{analysis.__version__}\n{code_hash()}".encode())
    return h.hexdigest()


def unchanged(options: Options, inputs_print: str) -> ReportRun | None:
    """The last run, when this one's inputs are its inputs and every page it
    wrote is still there: nothing is read, run or written. None otherwise."""
    if options.rebuild:
        return None
    state = read_state(options.out)
    last = state.get("run")
    if not isinstance(last, dict) or last.get("fingerprint") != inputs_print:
        return None
    try:
        jobs = pd.DataFrame(last["jobs"])
        pages = [options.out / "index.html", *(options.out / str(h) for h in jobs["html"])]
        data = [options.out / "data" / name for name in last["data"]]
        articles = [options.out / ARTICLES / name for name in last["articles"]]
        if not all(path.is_file() for path in pages + data + articles):
            return None
        problems = read_table(options.out / "data" / "problems.csv")
        return ReportRun(
            out=options.out,
            jobs=jobs.assign(rerun=False),
            problems=problems,
            provenance=last["provenance"],
            min_claims=options.min_claims,
            types=tuple(last["types"]),
        )
    except (KeyError, TypeError, ValueError, OSError):
        return None


def extract_step(options: Options, cb: Codebook) -> tuple[pd.DataFrame, ...]:
    """(claims, documents, problems) of the corpus, through the cache, each
    article's page written as it is read; the comparison columns and
    covariates checked against the documents before any page is run."""
    cache = work_dir(options.out) / "cache"
    if options.rebuild:
        shutil.rmtree(cache, ignore_errors=True)
    claims, documents, problems = extract_corpus(
        options.corpus,
        cb,
        cache / "claims",
        metadata=options.metadata,
        limits=options.limits,
        each=lambda document: write_article(document, options.out),  # evidence opens them
        workers=options.workers,
    )
    remove_stale_articles(options.out, set(documents["sha256"]))
    for column in options.by:
        groups_of(documents, column)  # refuse a column the corpus does not have
    for name in options.covariates if options.by else ():
        covariate(documents, name)  # and a covariate
    return claims, documents, problems


def write_data(
    options: Options,
    cb: Codebook,
    claims: pd.DataFrame,
    documents: pd.DataFrame,
    problems: pd.DataFrame,
) -> tuple[Inputs, Any]:
    """Write the run's data tables (claims, documents, problems, matrices,
    the coder's error and corrected estimates, comparisons) under
    ``data/``; return what the pages are planned from, and the accuracy."""
    data_dir = options.out / "data"
    write_table(claims, data_dir / "claims.parquet")
    write_table(claims, data_dir / "claims.csv")
    write_table(unique_claims(claims), data_dir / "claims_unique.csv")
    write_table(documents, data_dir / "documents.parquet")
    write_table(problems, data_dir / "problems.csv")
    write_matrices(claims, documents, cb, data_dir)
    validation = str(options.validation) if options.validation else None
    accuracy = accuracy_of(claims, documents, error_basis(cb, claims, validation))
    write_table(accuracy.estimates, data_dir / "estimates.csv")
    write_table(accuracy.shares, data_dir / "share_estimates.csv")
    write_table(accuracy.rates, data_dir / "error_rates.csv")
    write_text(data_dir / "accuracy.json", json.dumps(accuracy.to_json(), indent=1))
    write_comparisons(claims, documents, options.by, options.covariates, data_dir)
    data = {  # absolute: the notebooks run in their own folder
        "claims_path": str(data_dir / "claims.parquet"),
        "documents_path": str(data_dir / "documents.parquet"),
        "problems_path": str(data_dir / "problems.csv"),
        "codebook_path": str(Path(cb.path).resolve()),
        "accuracy_path": str(data_dir / "accuracy.json"),
        "articles": True,
    }
    inputs = Inputs(
        claims, documents, problems, data, options.min_claims, options.by, options.covariates
    )
    return inputs, accuracy


Planned = list[tuple[Job, bool]]  # every job of the run, and whether it must run


def plan(options: Options, inputs: Inputs, accuracy: Any) -> tuple[Planned, int]:
    """Every report of the run with its fingerprint (``job.parameters``
    gains ``images_dir``; each deep dive's evidence is written beside its
    page), whether it must run (its fingerprint is not the last run's, or
    its page is gone), and how many stale pages were removed."""
    planned = plan_jobs(inputs)
    stale = remove_stale_pages(options.out, {job.name for _, job in planned})
    accuracy_print = table_hash(accuracy.rates, accuracy.estimates, accuracy.shares)
    accuracy_print += json.dumps(accuracy.to_json(), sort_keys=True)
    previous = read_state(options.out).get("pages", {})
    code = code_hash()  # once for the run, not once a page
    out = []
    for kind, job in planned:
        images = str(options.out / "images" / job.name) if options.images else ""
        job.parameters["images_dir"] = images
        subset, depends = kind.rows(job, inputs)
        if kind.evidence:
            for suffix in (".csv", ".parquet"):  # the full evidence beside the report
                write_table(subset, options.out / "data" / f"{job.name}.evidence{suffix}")
        job.subset = subset
        job.fingerprint = fingerprint(
            job, options.notebooks, table_hash(*depends) + accuracy_print, code
        )
        page = options.out / f"{job.name}.html"
        out.append((job, previous.get(job.name) != job.fingerprint or not page.is_file()))
    return out, stale


def execute(options: Options, todo: list[Job]) -> dict[str, tuple[str, str]]:
    """Run the jobs' notebooks and export their pages: (status, error) by name."""
    results = run_jobs(todo, options.notebooks, options.out, options.kernel, options.jobs)
    return dict(zip([job.name for job in todo], results, strict=True))


def finish(
    options: Options,
    cb: Codebook,
    inputs: Inputs,
    accuracy: Any,
    planned: Planned,
    results: dict[str, tuple[str, str]],
    stale: int,
    inputs_print: str,
) -> ReportRun:
    """The jobs table, the provenance, ``index.html`` and the state the next
    run compares itself with."""
    claims, documents, problems = inputs.claims, inputs.documents, inputs.problems
    rows = []
    for job, _ in planned:
        status, error = results.get(job.name, ("ok", ""))
        subset = job.subset
        totals = count_claims(subset.assign(_all=1), ["_all"]) if not subset.empty else None
        by_type = count_claims(subset, ["type"]).set_index("type")["claims"]
        rows.append(
            {
                "name": job.name,
                "notebook": job.notebook,
                "title": job.title,
                "procedure": job.procedure,
                "condition": job.condition,
                "html": f"{job.name}.html",
                "status": status,
                "error": error,
                "rerun": job.name in results,
                "claims": int(totals["claims"].iloc[0]) if totals is not None else 0,
                "articles": int(totals["articles"].iloc[0]) if totals is not None else 0,
                **{t: int(by_type.get(t, 0)) for t in claim_types(claims)},
            }
        )
    provenance = {
        "corpus": str(options.corpus),
        "corpus_sha256": corpus_hash(documents),
        "documents": int(len(documents)),
        "problem_rows": int(len(problems)),  # skipped, repaired or set aside
        "codebook": cb.path,
        "codebook_version": cb.version,
        "codebook_sha256": cb.sha256,
        "model_version": cb.model.version if cb.model else "rules",
        "model_sha256": cb.model.sha256 if cb.model else "",
        "error_rates_from": accuracy.basis,
        "training_articles_in_corpus": len(accuracy.in_sample),
        "package_version": analysis.__version__,
        "parameters": json.dumps(options.parameters()),
        "reports_rerun": f"{len(results)} of {len(planned)}",
        "stale_pages_removed": stale,
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    run = ReportRun(
        out=options.out,
        jobs=pd.DataFrame(rows),
        problems=problems,
        provenance=provenance,
        min_claims=options.min_claims,
        types=claim_types(claims),
    )
    write_text(options.out / "provenance.json", json.dumps(provenance, indent=2))
    write_index(run)
    ok = [job for job, _ in planned if results.get(job.name, ("ok", ""))[0] == "ok"]
    state: dict[str, Any] = {"pages": {job.name: job.fingerprint for job in ok}}
    if len(ok) == len(planned):  # a run with a failed page is never taken as done
        state["run"] = {
            "fingerprint": inputs_print,
            "jobs": rows,
            "provenance": provenance,
            "types": list(run.types),
            "data": sorted(p.name for p in (options.out / "data").iterdir() if p.is_file()),
            "articles": sorted(p.name for p in (options.out / ARTICLES).glob("*.html")),
        }
    write_text(state_path(options.out), json.dumps(state, indent=1))
    return run
