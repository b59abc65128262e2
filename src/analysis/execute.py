"""Execute: each report's notebook run in a kernel, then exported as a page.

The step of :func:`analysis.report.build_reports` between planning and the
index, on plain data: :func:`run_notebooks` takes :class:`Task` rows (the
notebook and its parameters; where the executed notebook, the page and the
kernel's scratch folder go; the page's title) and returns each one's
``(status, error)``. papermill executes, in batches that share a kernel
(:func:`run_batch`: the namespace is emptied between two notebooks, the
modules stay imported), nbconvert exports (:func:`export_html`); a notebook
that fails fails its own page only, and ends its kernel. Nothing here
imports pandas or the planning of reports, so a worker process starts in
0.7 s where it took 1.1 s.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

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
    scratch: Path  # temporary files and settings of a kernel it starts, removed at its end


def run_notebook(task: Task, kernel: str) -> tuple[str, str]:
    """Execute one notebook in a kernel of its own and export its page:
    (status, error)."""
    return run_batch([task], kernel)[0]


def run_batch(tasks: list[Task], kernel: str) -> list[tuple[str, str]]:
    """Execute notebooks one after another in one kernel and export their
    pages: (status, error) of each.

    A kernel costs about a second of a page's two to start and to import
    pandas, plotly and the package; here it is started once and, between
    two notebooks, its namespace is emptied as a new session's (IPython's
    ``reset``: variables, outputs, history and execution counts), while the
    modules stay imported. A notebook that fails ends its kernel, and a
    kernel that cannot be reset (it died since) is ended: the next notebook
    has a new one."""
    results: list[tuple[str, str]] = []
    session: Session | None = None
    try:
        for task in tasks:
            task.executed.parent.mkdir(parents=True, exist_ok=True)
            try:
                if session is not None and not session.reset(task.notebook.parent):
                    session.close()  # the kernel died or hangs since the last notebook
                    session = None
                if session is None:
                    session = start_session(kernel, task.scratch, task.notebook.parent)
                execute(task, session)
                export_html(task.executed, task.html, task.title)
            except Exception as exc:  # one failing report must not sink the batch
                if session is not None:
                    session.close()
                    session = None
                message = str(exc).strip().splitlines()
                results.append(
                    ("failed", f"{type(exc).__name__}: {message[-1] if message else ''}")
                )
            else:
                results.append(("ok", ""))
    finally:
        if session is not None:
            session.close()
    return results


def execute(task: Task, session: Session) -> None:
    """papermill's run of the task's notebook in the session's kernel."""
    import papermill as pm

    _register_session_engine()
    pm.execute_notebook(
        str(task.notebook),
        str(task.executed),
        parameters=task.parameters,
        engine_name=ENGINE,
        kernel_name=session.kernel,
        progress_bar=False,
        cwd=str(task.notebook.parent),
        session=session,
        # written once when it ends (or fails), not twice per cell as it
        # runs: papermill serialised and validated the whole notebook,
        # charts and tables included, about 35 times a report, a fifth of a
        # deep dive's time
        request_save_on_cell_execute=False,
    )


ENGINE = "claimscope-session"  # papermill's engine that runs in a Session's kernel


@functools.cache
def _register_session_engine() -> None:
    """Register, once a process, papermill's nbclient engine executing in a
    :class:`Session`'s kernel with the session's client: nbclient would
    connect a client of its own for each notebook, and two clients of one
    kernel session share an identity, so the kernel's replies go to the
    newest only."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class SessionEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls, nb_man: Any, kernel_name: str, session: Session, **kwargs: Any
        ) -> Any:
            import logging

            client = PapermillNotebookClient(
                nb_man,
                km=session.manager,
                kernel_name=kernel_name,
                log=logging.getLogger("papermill"),
                log_output=kwargs.get("log_output", False),
                startup_timeout=kwargs.get("start_timeout", 60),
                timeout=kwargs.get("execution_timeout"),
            )
            client.kc = session.client
            return client.execute()

    papermill_engines.register(ENGINE, SessionEngine)


class Session(NamedTuple):
    """A running kernel that notebooks are executed in, one at a time."""

    kernel: str
    manager: Any  # jupyter_client's AsyncKernelManager
    client: Any  # its client, channels started
    scratch: contextlib.ExitStack  # the kernel's scratch folder, removed at close

    def reset(self, cwd: Path) -> bool:
        """Empty the kernel's namespace as a new session's and move it to
        ``cwd``: whether the kernel did (False if it died, did not answer
        in ``RESET_SECONDS`` or failed)."""
        from jupyter_core.utils import run_sync

        code = f"get_ipython().reset(new_session=True); __import__('os').chdir({str(cwd)!r})"
        try:
            if not run_sync(self.manager.is_alive)():
                return False
            reply = run_sync(self.client.execute_interactive)(
                code, silent=True, store_history=False, timeout=RESET_SECONDS, output_hook=_ignore
            )
        except (TimeoutError, RuntimeError):
            return False
        return reply["content"]["status"] == "ok"

    def close(self) -> None:
        """End the kernel at once (and what it started, such as kaleido's
        Chromium, in its process group: asking it to shut down took 0.1 s
        and now and then 2.6 s), then remove its scratch folder."""
        from jupyter_core.utils import run_sync

        try:
            with contextlib.suppress(Exception):  # a kernel that died: nothing to end
                self.client.stop_channels()
                run_sync(self.manager.shutdown_kernel)(now=True)
        finally:
            self.scratch.close()


def _ignore(message: dict) -> None:
    """Output of the reset between two notebooks: none is expected."""


# How long the kernel may take to empty its namespace between two notebooks.
RESET_SECONDS = 60


def start_session(kernel: str, folder: Path, cwd: Path) -> Session:
    """Start a kernel in ``cwd`` with ``folder`` as its scratch folder (see
    :func:`scratch`), as nbclient starts one (no history file, no stdin),
    with the project's kernel arguments; try again when two kernels drew
    the same port."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_notebook

    attempts = 0
    while True:
        stack = contextlib.ExitStack()
        stack.enter_context(scratch(folder))
        starter = NotebookClient(
            new_notebook(),
            kernel_name=kernel,
            extra_arguments=list(config.KERNEL_ARGS),
            resources={"metadata": {"path": str(cwd)}},
        )
        try:
            starter.km = starter.create_kernel_manager()
            starter.start_new_kernel()
            starter.start_new_kernel_client()
        except Exception as exc:
            stack.close()
            attempts += 1
            if attempts <= KERNEL_START_RETRIES and "Kernel died before replying" in str(exc):
                continue  # two kernels drew the same free port: start it again
            raise
        return Session(kernel, starter.km, starter.kc, stack)


def batches_of(tasks: list[Task], n: int) -> list[list[Task]]:
    """The tasks in order, in batches of at most ``config.PAGES_PER_KERNEL``
    whose sizes differ by one at most, at least ``n`` of them (one per
    process) when there are that many tasks."""
    if not tasks:
        return []
    count = max(min(n, len(tasks)), -(-len(tasks) // config.PAGES_PER_KERNEL))
    size, larger = divmod(len(tasks), count)
    starts = [i * size + min(i, larger) for i in range(count + 1)]
    return [tasks[a:b] for a, b in pairwise(starts)]


def run_notebooks(tasks: list[Task], kernel: str, n: int) -> list[tuple[str, str]]:
    """(status, error) of each task, in batches (:func:`run_batch`, one
    kernel each) run in ``n`` processes (papermill's working-directory
    switch is process-wide: never threads)."""
    batches = batches_of(tasks, n)
    if n <= 1 or len(batches) <= 1:
        return [result for batch in batches for result in run_batch(batch, kernel)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(n, len(batches)),
        mp_context=context,
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = [pool.submit(run_batch, batch, kernel) for batch in batches]
        results = []
        for batch, future in zip(batches, futures, strict=True):
            try:
                results += future.result()
            except Exception as exc:  # a worker died: its reports failed, not the batch
                results += [("failed", f"{type(exc).__name__}: {exc}")] * len(batch)
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
