from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import config
from analysis.codebook import Codebook, load_codebook
from analysis.extract import extract

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def codebook() -> Codebook:
    return load_codebook(config.CODEBOOK)


def make_documents(texts: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{"doc": d, "title": "", "text": t, "sha256": "", "source": d} for d, t in texts.items()]
    )


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
