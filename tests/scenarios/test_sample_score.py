"""The extraction scored on the sample corpus by the project's reference
scorer (../shared/annotation/score.py); the figures are printed (run with -s
or see the summary) and held above the floor the accuracy issue sets."""

from __future__ import annotations

import importlib.util

import pytest

from analysis import config
from analysis.cli import main
from tests.conftest import SHARED

SCORER = SHARED / "annotation" / "score.py"
GOLD = SHARED / "annotation" / "seeds.gold.jsonl"


@pytest.mark.skipif(not SCORER.is_file(), reason="../shared/annotation is not beside this checkout")
def test_sample_corpus_score(tmp_path, record_property):
    out = tmp_path / "claims.csv"
    assert main(["extract", str(config.CORPUS), "--out", str(out)]) == 0
    spec = importlib.util.spec_from_file_location("score", SCORER)
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    result = score.score(score.read_rows(GOLD), score.read_rows(out))
    d, c = result["detection"], result["category"]
    lines = [
        f"detection F1 {d['f']:.3f} (P {d['p']:.3f}, R {d['r']:.3f})",
        f"category F1 {c['f']:.3f} (P {c['p']:.3f}, R {c['r']:.3f})",
        f"certainty {result['certainty_acc']:.3f}, procedures {result['procedure_acc']:.3f}, "
        f"conditions {result['condition_acc']:.3f}, count WAPE {result['count_wape']:.3f}",
    ]
    print("\nsample corpus score: " + "; ".join(lines))
    record_property("score", "; ".join(lines))
    assert d["f"] >= 0.92
    assert c["f"] >= 0.85
    assert result["certainty_acc"] >= 0.90
    assert result["procedure_acc"] >= 0.95 and result["condition_acc"] >= 0.90
    assert result["count_wape"] <= 0.15
