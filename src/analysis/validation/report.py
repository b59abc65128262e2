"""The validation report: the validation notebook run on two codings and
exported as ``validation.html`` (the same runner as the corpus reports)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis import config
from analysis.report import VALIDATION, Job, run_job
from analysis.tables import write_table


def build_validation_report(
    gold: pd.DataFrame,
    pred: pd.DataFrame,
    units: pd.DataFrame | None,
    out: str | Path,
    notebooks: str | Path = config.NOTEBOOKS,
    kernel: str = config.KERNEL,
) -> tuple[Path, str]:
    """Run the validation notebook on two codings (codings tables of
    :mod:`analysis.validation.agreement`) and export ``validation.html``: (path, error)."""
    out = Path(out).resolve()
    data = out / "data"
    parameters = {
        "gold_path": str(write_table(gold, data / "gold.jsonl")),
        "pred_path": str(write_table(pred, data / "pred.jsonl")),
        "sample_path": str(write_table(units, data / "sample.csv")) if units is not None else "",
    }
    job = Job("validation", VALIDATION, "Agreement with the gold coding", parameters)
    status, error = run_job(job, Path(notebooks).resolve(), out, kernel)
    return out / "validation.html", error if status != "ok" else ""
