from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from analysis import config
from analysis.codebook import Codebook, load_codebook
from analysis.extract import extract

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ANNOTATION = SHARED / "annotation"
# The coded articles the coder learns from and is cross-validated on.
TRAINING_DATA = [
    (ANNOTATION / "seeds.gold.jsonl", SHARED / "corpus" / "seeds"),
    (ANNOTATION / "dev" / "gold.jsonl", ANNOTATION / "dev" / "corpus"),
]
SOURCES = ANNOTATION / "dev" / "SOURCES.tsv"

# The fast tier (`make test-fast`, `pytest -m "not slow"`) leaves out what
# builds reports, drives a browser or cross-validates the coder: a test that
# uses one of these fixtures is slow, as is one marked so by hand.
SLOW_FIXTURES = frozenset(
    {"report_run", "dev_report_run", "malicious_run", "browser", "training", "cv"}
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def read_coded_articles(rules: Codebook):
    """The training table of :data:`TRAINING_DATA` (``analysis.train``)."""
    from analysis.train import read_sites, read_training

    golds, corpora = zip(*TRAINING_DATA, strict=True)
    return read_training(list(golds), list(corpora), rules, read_sites([SOURCES]))


def leave_one_site_out(workers: int = config.WORKERS):
    """The coder's leave-one-site-out cross-validation on the coded articles."""
    from analysis.train import cross_validate

    rules = load_codebook(config.CODEBOOK, model=None)
    return cross_validate(read_coded_articles(rules), rules, workers=workers)


CROSS_VALIDATION = pytest.StashKey[tuple]()


def pytest_collection_finish(session):
    """Start the cross-validation as soon as the tests that need it are
    collected, in a process of its own on one core, at the lowest priority:
    run when its first test came, it kept both cores for 2 to 2.5 minutes
    while the suite waited, and the suite's other tests leave a core idle
    about half the time. Alone (no report or browser test to run beside
    it), it runs in its fixture on every core."""
    names = [set(getattr(item, "fixturenames", ())) for item in session.items]
    beside = SLOW_FIXTURES - {"cv", "training"}
    if not (
        (ANNOTATION / "dev" / "gold.jsonl").is_file()
        and any("cv" in n for n in names)
        and any(beside & n for n in names)
    ):
        return
    import multiprocessing

    # one process, one thread: numpy's BLAS threads would spin on the other
    # core (their number is read from the environment when numpy loads)
    with pytest.MonkeyPatch.context() as patch:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            patch.setenv(name, "1")
        # at the lowest priority: it takes the time the tests leave idle
        pool = multiprocessing.get_context("spawn").Pool(1, initializer=os.nice, initargs=(19,))
    session.config.stash[CROSS_VALIDATION] = (pool, pool.apply_async(leave_one_site_out, (1,)))


def pytest_sessionfinish(session):
    started = session.config.stash.get(CROSS_VALIDATION, None)
    if started is not None:
        started[0].terminate()


@pytest.fixture(scope="session")
def cv(request):
    """The leave-one-site-out cross-validation, started when the tests were
    collected (:func:`pytest_collection_finish`), or run here."""
    started = request.config.stash.get(CROSS_VALIDATION, None)
    return leave_one_site_out() if started is None else started[1].get()


@pytest.fixture(scope="session")
def codebook() -> Codebook:
    return load_codebook(config.CODEBOOK)


def make_documents(texts: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"doc": d, "title": "", "text": t, "sha256": "", "source": d} for d, t in texts.items()]
    )


def claims_table() -> pd.DataFrame:
    """A small claims table with a repeated sentence and a general claim."""
    rows = [
        # doc a repeats a sentence word for word: one mention
        ("a", "IPL helps rosacea.", "benefit", "efficacy", "asserted", "ipl", "rosacea"),
        ("a", "IPL  helps rosacea.", "benefit", "efficacy", "asserted", "ipl", "rosacea"),
        ("a", "IPL may cause swelling.", "risk", "side_effects", "hedged", "ipl", "rosacea"),
        ("b", "IPL helps rosacea.", "benefit", "efficacy", "asserted", "ipl", "rosacea"),
        ("b", "IPL is safe.", "benefit", "practical", "asserted", "ipl", ""),
    ]
    cols = ["doc", "sentence", "type", "category", "certainty", "procedure", "condition"]
    return pd.DataFrame(rows, columns=cols)


@pytest.fixture
def code(codebook):
    """Claims of one inline text: a set of (type, category, certainty) tuples,
    or the full claims table with ``table=True``."""

    def run(text: str, table: bool = False):
        claims = extract(make_documents({"t.txt": text}), codebook)
        if table:
            return claims
        return {(r.type, r.category, r.certainty) for r in claims.itertuples()}

    return run


def pytest_terminal_summary(terminalreporter):
    """Print the sample-corpus score recorded by tests/test_score.py."""
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        for name, value in getattr(report, "user_properties", []):
            if name == "score" and report.when == "call":
                terminalreporter.write_sep("-", "extraction score on the sample corpus")
                for part in value.split("; "):
                    terminalreporter.write_line(part)


@pytest.fixture(scope="session")
def report_run(tmp_path_factory):
    """The report batch on the bundled corpus, run once for the session."""
    from analysis.report import build_reports

    return build_reports(corpus=config.CORPUS, out=tmp_path_factory.mktemp("reports"))


@pytest.fixture(scope="session")
def dev_report_run(tmp_path_factory):
    """The report batch on the 65 dev articles, read where they lie in
    ../shared (never copied into the project); skipped without them."""
    from analysis.report import build_reports

    corpus = SHARED / "annotation" / "dev" / "corpus"
    if not corpus.is_dir():
        pytest.skip("needs ../shared/annotation/dev/corpus")
    return build_reports(corpus=corpus, out=tmp_path_factory.mktemp("dev-reports"))


PAYLOAD = "window.__pwned=1"


def malicious_corpus(root: Path) -> Path:
    """Articles carrying script payloads, a 1 MB line built to backtrack and
    a link to /etc/passwd: every payload, if it ever ran, sets window.__pwned."""
    root.mkdir(parents=True)
    (root / f"<img src=x onerror={PAYLOAD}>.txt").write_text(
        f"<script>{PAYLOAD}</script> Microneedling for rosacea\n"
        f'Microneedling can cause infection <img src=x onerror="{PAYLOAD}"> in some people.\n'
        f'Microneedling can reduce redness in rosacea <a href="javascript:{PAYLOAD}">here</a>.\n'
        f"Microneedling can cause swelling --> <script>{PAYLOAD}</script> <!-- for a day.\n"
        f"Microneedling can help rosacea </td></tr></table><script>{PAYLOAD}</script> too.\n"
        f"Microneedling is not a cure for rosacea <svg onload={PAYLOAD}> at all.\n"
    )
    (root / "page.html").write_text(
        f"<html><head><title>&lt;script&gt;{PAYLOAD}&lt;/script&gt; IPL guide</title>"
        f"<script>{PAYLOAD}</script></head><body><article><h1>IPL for rosacea</h1>"
        f"<p>IPL can reduce redness in rosacea &lt;img src=x onerror={PAYLOAD}&gt; for most "
        f"people. IPL can cause blistering &lt;script&gt;{PAYLOAD}&lt;/script&gt; in rare "
        "cases. Read the <a href='file:///etc/passwd'>notes</a> and see the "
        "<img src='http://198.51.100.7/pixel.png'> chart.</p></article></body></html>"
    )
    line = "Microneedling may help reduce eczema, " + "and rosacea, " * 80_000 + "x-" * 10_000
    (root / "backtrack.txt").write_text(line + "\n")
    (root / "passwd.txt").symlink_to("/etc/passwd")
    # metadata and front matter from outside: group names, titles
    (root / "metadata.csv").write_text(
        "doc,kind,title\n"
        f'"<img src=x onerror={PAYLOAD}>.txt","<img src=x onerror={PAYLOAD}>",'
        f'"<script>{PAYLOAD}</script>"\n'
        f'page.html,"[click](javascript:{PAYLOAD})",plain\n'
    )
    (root / "front.md").write_text(
        f'---\nkind: "<svg onload={PAYLOAD}>"\ntitle: "**<b onmouseover={PAYLOAD}>x</b>**"\n---\n'
        "# Microneedling for rosacea\n\nMicroneedling can cause redness in rosacea.\n"
    )
    return root


def hostile_codebook(root: Path) -> Path:
    """The codebook with labels a check-codebook accepts and a page must not run."""
    text = config.CODEBOOK.read_text(encoding="utf-8")
    text = text.replace("label: Microneedling", f'label: "<img src=x onerror={PAYLOAD}>"', 1)
    text = text.replace("label: Efficacy", f'label: "<script>{PAYLOAD}</script>"', 1)
    text = text.replace("label: Rosacea", f'label: "[x](javascript:{PAYLOAD})"', 1)
    path = root / "codebook.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def malicious_run(tmp_path_factory):
    """The report batch on :func:`malicious_corpus`, run once for the session."""
    from analysis.report import build_reports

    root = tmp_path_factory.mktemp("malicious")
    return build_reports(
        corpus=malicious_corpus(root / "corpus"),
        out=root / "reports",
        min_claims=1,
        by=("kind",),
        codebook=load_codebook(hostile_codebook(root)),
    )
