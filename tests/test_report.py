"""The whole batch: extract, papermill, nbconvert, index.html."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from analysis import config
from analysis.report import build_reports


def test_every_report_is_written(report_run):
    run = report_run
    assert not len(run.failed), run.failed[["name", "error"]].to_string()
    names = set(run.jobs["name"])
    assert "overview" in names
    assert "deep-dive_microneedling_atopic-dermatitis" in names
    assert "deep-dive_microdermabrasion_atopic-dermatitis" in names


def test_reports_hold_rendered_plotly_figures_and_no_code(report_run):
    run = report_run
    for job in run.jobs.itertuples():
        html = (run.out / job.html).read_text()
        divs = len(re.findall(r'class="plotly-graph-div"', html))
        # overview: estimates, heatmaps, bars, balance, mix, table
        expected = 6 if job.name == "overview" else 3
        assert divs == expected, f"{job.html}: {divs} plotly figures"
        assert "Plotly.newPlot" in html
        assert "hl-ipython3" not in html and "figures.heatmaps(" not in html  # no code cells
        assert "<mark>" in html  # evidence with its cue marked


def test_index_links_reports_and_records_provenance(report_run):
    run = report_run
    index = (run.out / "index.html").read_text()
    for job in run.jobs.itertuples():
        assert f'href="{job.html}"' in index
    prov = json.loads((run.out / "provenance.json").read_text())
    for key in ("corpus_sha256", "codebook_version", "codebook_sha256", "package_version", "time"):
        assert prov[key] and str(prov[key]) in index
    assert (run.out / "data" / "claims.parquet").is_file()


@pytest.mark.slow
def test_one_failing_report_does_not_sink_the_batch(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("IPL can help rosacea. IPL can cause swelling.\n")
    notebooks = tmp_path / "notebooks"
    shutil.copytree(config.NOTEBOOKS, notebooks)
    deep = json.loads((notebooks / "deep_dive.ipynb").read_text())
    deep["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "id": "broken",
            "source": "raise RuntimeError('broken on purpose')",
        }
    )
    (notebooks / "deep_dive.ipynb").write_text(json.dumps(deep))
    run = build_reports(corpus=corpus, out=tmp_path / "out", notebooks=notebooks, min_claims=1)
    status = dict(zip(run.jobs["name"], run.jobs["status"], strict=True))
    assert status["overview"] == "ok"
    assert status["deep-dive_ipl_rosacea"] == "failed"
    index = (tmp_path / "out" / "index.html").read_text()
    assert "broken on purpose" in index
    assert (tmp_path / "out" / "overview.html").is_file()


def test_reports_open_offline_without_cdn_scripts(report_run):
    for job in report_run.jobs.itertuples():
        html = (report_run.out / job.html).read_text()
        assert not re.search(r"<script[^>]+src=\"https?://", html), job.html
        assert html.count("function(t){") < 1000  # plotly.js is inlined once, not per chart
        assert len(re.findall(r"Plotly\.newPlot", html)) >= 3


@pytest.mark.slow
def test_images_are_written_as_png_and_svg(tmp_path, monkeypatch):
    """... and Chromium's profile, crash reports and caches stay inside the
    work folder, which is left clean: they were written to the system temp
    folder and the home directory."""
    home, system_tmp = tmp_path / "home", tmp_path / "system-tmp"
    home.mkdir()
    system_tmp.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(system_tmp))
    for name in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("IPL can help rosacea. IPL can cause swelling.\n")
    run = build_reports(corpus=corpus, out=tmp_path / "out", images=True, min_claims=1)
    assert not len(run.failed), run.failed.to_string()
    assert list(home.rglob("*")) == [] and list(system_tmp.rglob("*")) == []
    assert not (tmp_path / "out.work" / "tmp").exists() or not any(
        (tmp_path / "out.work" / "tmp").iterdir()
    )
    folder = tmp_path / "out" / "images" / "overview"
    written = sorted(p.name for p in folder.iterdir())
    # each layer of the heatmaps is an image of its own, as its button shows it
    for layer in ("benefit", "risk", "uncertainty"):
        assert {f"heatmaps_{layer}{suffix}" for suffix in (".png", ".svg", ".pdf")} <= set(written)
    assert "heatmaps_risk-share-of-articles.pdf" in written  # a measure is a layer too
    assert (folder / "category_bars.pdf").read_bytes()[:5] == b"%PDF-"
    assert "category_bars.png" in written
    assert (folder / "heatmaps_risk.png").read_bytes()[:4] == b"\x89PNG"
    risk = (folder / "heatmaps_risk.svg").read_text(encoding="utf-8")
    assert "Claims per procedure and condition: risk" in risk
    assert ">benefit<" not in risk  # no dead buttons drawn on the image


def test_pages_have_titles_navigation_and_one_plotly_for_the_folder(report_run):
    run = report_run
    assets = list((run.out / "assets").glob("plotly-*.min.js"))
    assert len(assets) == 1
    for job in run.jobs.itertuples():
        html = (run.out / job.html).read_text()
        assert f"<title>{job.title} · claimscope</title>" in html
        assert 'href="index.html"' in html and 'href="overview.html"' in html
        assert f'src="assets/{assets[0].name}"' in html
        assert (run.out / job.html).stat().st_size < 5_000_000  # no plotly.js inside


def test_a_notebook_given_claims_never_shows_the_bundled_corpus(tmp_path):
    from analysis.notebook import load_documents, load_problems
    from analysis.tables import write_table

    claims = tmp_path / "claims.csv"
    rows = {"doc": ["mine.txt", "mine.txt"], "sentence": ["a", "b"], "type": ["risk", "risk"]}
    write_table(pd.DataFrame(rows), claims)
    documents = load_documents("", str(claims))
    assert list(documents["doc"]) == ["mine.txt"]
    assert load_problems("", str(claims)).empty


def test_a_deep_dive_pair_may_be_named_by_synonym_or_label():
    from analysis.notebook import check_pair

    assert check_pair("Micro-needling", "eczema") == ("microneedling", "atopic_dermatitis")
    assert check_pair("Chemical peel", "Acne scars") == ("chemical_peel", "acne_scars")
    assert check_pair("ipl", "") == ("ipl", "")


def test_a_notebook_saved_with_outputs_runs_no_report_again(tmp_path):
    import json

    from analysis.report import notebook_source

    source = config.NOTEBOOKS / "overview.ipynb"
    nb = json.loads(source.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}]
            cell["execution_count"] = 3
    nb["metadata"]["widgets"] = {"state": {}}
    saved = tmp_path / "overview.ipynb"
    saved.write_text(json.dumps(nb), encoding="utf-8")
    assert notebook_source(saved) == notebook_source(source)
    nb["cells"][2]["source"] = "print('changed')"
    saved.write_text(json.dumps(nb), encoding="utf-8")
    assert notebook_source(saved) != notebook_source(source)


def test_notebook_paths_mean_the_same_from_any_folder(tmp_path, monkeypatch):
    from analysis.notebook import load_claims, load_documents, resolve

    monkeypatch.chdir(config.NOTEBOOKS)  # where a JupyterLab kernel runs
    assert resolve("data/corpus") == str(config.REPO / "data" / "corpus")
    corpus = tmp_path / "mine"
    corpus.mkdir()
    (corpus / "a.txt").write_text("IPL can help rosacea. IPL can cause swelling.\n")
    claims = load_claims(corpus=str(corpus))
    assert set(claims["doc"]) == {"a.txt"}  # that corpus, not the bundled one
    assert list(load_documents(corpus=str(corpus))["doc"]) == ["a.txt"]


def test_a_scraped_pages_furniture_is_no_title(tmp_path):
    from analysis.corpus import load_corpus

    (tmp_path / "a.txt").write_text(
        "MENU\n\nHome\nMicroneedling for acne scars\nMicroneedling can help acne scars.\n"
    )
    documents, _ = load_corpus(tmp_path)
    assert documents.iloc[0]["title"] == "Microneedling for acne scars"


def test_scratch_leaves_the_process_as_it_found_it(tmp_path, monkeypatch):
    """A worker runs many reports: the TMPDIR of one, which tempfile caches
    on first use, must not outlive it (the next kernel's connection file
    went to the removed folder). A short work folder, as a real one is."""
    import os
    import shutil
    import tempfile
    from pathlib import Path

    from analysis.execute import SCRATCH_VARIABLES, scratch

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    work = Path(tempfile.mkdtemp(prefix="cs-", dir="/tmp"))
    try:
        with scratch(work / "job") as folder:
            kernel_tmp = Path(os.environ["TMPDIR"])
            assert kernel_tmp.parent == folder  # inside the work folder
            assert all(Path(os.environ[name]).is_dir() for name in SCRATCH_VARIABLES)
            assert tempfile.gettempdir() == str(kernel_tmp)  # as jupyter_client reads it
        assert not folder.exists()
        assert tempfile.gettempdir() == str(tmp_path)
        assert os.environ["TMPDIR"] == str(tmp_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_a_report_worker_loads_no_pandas():
    """A report's worker process runs papermill and nbconvert on plain data
    (:mod:`analysis.execute`): importing pandas and the report's planning
    made each worker start 0.4 s later."""
    import subprocess
    import sys

    code = (
        "import sys, analysis.execute, papermill, nbconvert; "
        "print(sorted(m for m in ('pandas', 'analysis.report', 'analysis.tables') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _task(folder, name: str, source: str):
    """A one-cell notebook to run as a report's task."""
    import nbformat

    from analysis.execute import Task

    path = folder / f"{name}.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), path)
    return Task(
        name, path, {}, name, folder / "run" / path.name, folder / f"{name}.html", folder / "tmp"
    )


@pytest.mark.slow
def test_a_batch_shares_a_kernel_each_notebook_starting_afresh(tmp_path):
    """Notebooks of a batch run in one kernel (about a second a page less):
    each sees none of the last one's names and counts its cells from 1; a
    notebook that fails ends its kernel, and the next one has a new one."""
    import nbformat

    from analysis.execute import run_batch

    cell = "assert 'seen' not in globals(); seen = 1; import os; print(os.getpid())"
    tasks = [_task(tmp_path, f"page{i}", cell) for i in range(3)]
    tasks.insert(2, _task(tmp_path, "broken", "raise RuntimeError('broken on purpose')"))
    results = run_batch(tasks, config.KERNEL)
    assert [status for status, _ in results] == ["ok", "ok", "failed", "ok"]
    assert "broken on purpose" in results[2][1]
    kernels, counts = [], []
    for task in tasks[:2] + tasks[3:]:
        (cell,) = nbformat.read(task.executed, as_version=4).cells
        kernels.append(cell.outputs[0]["text"].strip())
        counts.append(cell.execution_count)
    assert kernels[0] == kernels[1] != kernels[2]
    assert counts == [1, 1, 1]
    assert not (tmp_path / "tmp").exists()  # the kernels' scratch folder, removed


@pytest.mark.slow
def test_a_kernel_that_cannot_be_reset_gives_way_to_a_new_one(tmp_path, monkeypatch):
    """The next notebook is not failed for a kernel that died after the last."""
    import nbformat
    from jupyter_core.utils import run_sync

    from analysis import execute

    session = execute.start_session(config.KERNEL, tmp_path / "tmp", tmp_path)
    try:
        assert session.reset(tmp_path)
        run_sync(session.manager.shutdown_kernel)(now=True)
        assert not session.reset(tmp_path)  # at once, not after RESET_SECONDS
    finally:
        session.close()
    monkeypatch.setattr(execute.Session, "reset", lambda self, cwd: False)
    tasks = [_task(tmp_path, f"page{i}", "import os; print(os.getpid())") for i in range(2)]
    assert execute.run_batch(tasks, config.KERNEL) == [("ok", "")] * 2
    pids = [
        nbformat.read(task.executed, as_version=4).cells[0].outputs[0]["text"] for task in tasks
    ]
    assert pids[0] != pids[1]


def test_tasks_are_batched_evenly_in_order_at_least_one_per_process(monkeypatch):
    from analysis.execute import batches_of

    monkeypatch.setattr(config, "PAGES_PER_KERNEL", 10)
    for n_tasks, processes, sizes in [
        (69, 2, [10] * 6 + [9]),
        (7, 2, [4, 3]),
        (1, 2, [1]),
        (0, 2, []),
        (20, 1, [10, 10]),
        (21, 4, [6, 5, 5, 5]),
    ]:
        batches = batches_of(list(range(n_tasks)), processes)
        assert [len(b) for b in batches] == sizes
        assert [t for b in batches for t in b] == list(range(n_tasks))
