"""Execute: each report's notebook run in a kernel of its own, then
exported as a page.

The step of :func:`analysis.report.build_reports` between planning and the
index, on plain data: :func:`run_notebooks` takes :class:`Task` rows (the
notebook and its parameters; where the executed notebook, the page and the
kernel's scratch folder go; the page's title) and returns each one's
``(status, error)``. papermill executes (:func:`run_notebook`), nbconvert
exports (:func:`export_html`); a notebook that fails fails its own page
only. Nothing here imports pandas or the planning of reports, so a worker
process starts in 0.7 s where it took 1.1 s.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from analysis import config
from analysis.files import write_text
from analysis.workers import die_with_parent


class Task(NamedTuple):
    """One notebook to run and export."""

    name: str
    notebook: Path  # the notebook to run (its folder is the kernel's working folder)
    parameters: dict
    title: str
    executed: Path  # where the executed notebook is kept (the work folder)
    html: Path  # the page
    scratch: Path  # the kernel's temporary files and settings, removed afterwards


def run_notebook(task: Task, kernel: str) -> tuple[str, str]:
    """Execute one notebook and export its page: (status, error)."""
    import papermill as pm

    task.executed.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1 + KERNEL_START_RETRIES):
        try:
            with scratch(task.scratch):
                pm.execute_notebook(
                    str(task.notebook),
                    str(task.executed),
                    parameters=task.parameters,
                    kernel_name=kernel,
                    progress_bar=False,
                    cwd=str(task.notebook.parent),
                    extra_arguments=list(config.KERNEL_ARGS),
                    # the notebook is complete once its last cell is: its
                    # kernel (and what it started, such as kaleido's Chromium,
                    # in its process group) is ended at once instead of asked
                    # to shut down, which took 0.1 s and now and then 2.6 s
                    shutdown_kernel="immediate",
                    # written once when it ends (or fails), not twice per cell
                    # as it runs: papermill serialised and validated the whole
                    # notebook, charts and tables included, about 35 times a
                    # report, a fifth of a deep dive's time
                    request_save_on_cell_execute=False,
                )
            export_html(task.executed, task.html, task.title)
        except Exception as exc:  # one failing report must not sink the batch
            if attempt < KERNEL_START_RETRIES and "Kernel died before replying" in str(exc):
                continue  # two kernels drew the same free port: start it again
            message = str(exc).strip().splitlines()
            return "failed", f"{type(exc).__name__}: {message[-1] if message else ''}"
        return "ok", ""
    return "failed", "the kernel did not start"


def run_notebooks(tasks: list[Task], kernel: str, n: int) -> list[tuple[str, str]]:
    """(status, error) of each task, run in ``n`` processes (papermill's
    working-directory switch is process-wide: never threads)."""
    if n <= 1 or len(tasks) <= 1:
        return [run_notebook(task, kernel) for task in tasks]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(n, len(tasks)),
        mp_context=context,
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = [pool.submit(run_notebook, task, kernel) for task in tasks]
        results = []
        for future in futures:
            try:
                results.append(future.result())
            except Exception as exc:  # a worker died: this report failed, not the batch
                results.append(("failed", f"{type(exc).__name__}: {exc}"))
        return results


TEMPLATES = Path(__file__).parent / "templates" / "nbconvert"


def export_html(notebook_path: Path, html_path: Path, title: str = "") -> None:
    """The executed notebook as an HTML page that opens offline: outputs
    only (no code, no prompts), no CDN scripts, and plotly.js loaded from
    ``assets/`` beside the page, written once per report folder (a page
    weighs its charts and tables, not 4.8 MB of plotly.js each)."""
    import nbformat
    import plotly
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from plotly.offline import get_plotlyjs

    asset = f"assets/plotly-{plotly.__version__}.min.js"
    if not (html_path.parent / asset).is_file():
        write_text(html_path.parent / asset, get_plotlyjs())
    exporter = HTMLExporter(template_name="claimscope", extra_template_basedirs=[str(TEMPLATES)])
    # cells for JupyterLab only (the overview's pickers) stay out of the page
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={"interactive"}, enabled=True), enabled=True
    )
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    nb = nbformat.read(notebook_path, as_version=4)
    nb.metadata["title"] = f"{title} · claimscope" if title else "claimscope"
    body, _ = exporter.from_notebook_node(nb, resources={"plotly_src": asset})
    write_text(html_path, shared_assets(body, html_path.parent))


# The script itables writes into each page in offline mode: its table library
# (DataTables and jQuery, about 1 MB) as base64 text.
TABLE_LIBRARY = re.compile(r"<script>(\s*function injectCSS\(base64CSS\).*?)</script>", re.S)
# The style sheets nbconvert's lab template writes into each page (about 250 kB).
STYLE = re.compile(r'<style type="text/css">(.*?)</style>', re.S)
SHARED_STYLE_BYTES = 8_000


def shared_assets(body: str, folder: Path) -> str:
    """The page with what every page repeats (the table library, the lab
    style sheets) loaded from ``assets/``, written once per folder and named
    by its hash, instead of inlined: a page then weighs its own charts and
    tables only."""

    def asset(text: str, kind: str, suffix: str) -> str:
        name = f"assets/{kind}-{hashlib.sha256(text.encode()).hexdigest()[:12]}{suffix}"
        if not (folder / name).is_file():
            write_text(folder / name, text)
        return name

    def library(match: re.Match[str]) -> str:
        if "_itables_" not in match.group(1):
            return match.group(0)
        return f'<script src="{asset(match.group(1), "itables", ".js")}"></script>'

    def style(match: re.Match[str]) -> str:
        if len(match.group(1)) < SHARED_STYLE_BYTES:
            return match.group(0)
        return f'<link rel="stylesheet" href="{asset(match.group(1), "style", ".css")}">'

    return STYLE.sub(style, TABLE_LIBRARY.sub(library, body, count=1))


# A kernel picks free TCP ports and binds them a moment later; two kernels
# started at once can draw the same port, and one dies before it answers.
KERNEL_START_RETRIES = 2


# Where a process and the programs it starts keep temporary files, caches
# and settings: a kernel's temporary files and IPython profile (a report
# runs no user's startup files), and the Chromium that kaleido drives for
# --images (its profile, crash reports, dconf cache). Not XDG_DATA_HOME:
# kernels are looked up there.
SCRATCH_VARIABLES = ("TMPDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "IPYTHONDIR")


# Chromium keeps a socket in TMPDIR, and a socket's path has at most 107
# bytes: a TMPDIR longer than this goes to the system temp folder instead.
MAX_TMPDIR_CHARS = 60


@contextlib.contextmanager
def scratch(folder: Path) -> Iterator[Path]:
    """Point the kernel about to start at ``folder`` (inside the work
    folder) for its temporary files, caches and settings, and remove the
    folder afterwards: nothing is left in the system temp folder or the
    home directory. (Where the work folder's path is too long for
    Chromium's socket, TMPDIR is a private folder of the system temp
    folder, removed too.) Sets this process's environment, which the kernel
    inherits, while the block runs (reports run one per process)."""
    import tempfile

    folder.mkdir(parents=True, exist_ok=True)
    saved = {name: os.environ.get(name) for name in SCRATCH_VARIABLES}
    cached = tempfile.tempdir  # tempfile keeps the first TMPDIR it reads: restored below
    places = {name: folder / str(i) for i, name in enumerate(SCRATCH_VARIABLES)}
    if len(str(places["TMPDIR"])) > MAX_TMPDIR_CHARS:
        short = [d for d in (tempfile.gettempdir(), "/tmp") if len(d) < MAX_TMPDIR_CHARS - 20]
        places["TMPDIR"] = Path(tempfile.mkdtemp(prefix="claimscope-", dir=(short or [None])[0]))
    try:
        for name, place in places.items():
            place.mkdir(exist_ok=True)
            os.environ[name] = str(place)
        yield folder
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        tempfile.tempdir = cached
        shutil.rmtree(places["TMPDIR"], ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
