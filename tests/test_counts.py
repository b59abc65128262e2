from __future__ import annotations

import pandas as pd
import pytest

from analysis import config
from analysis.counts import balance, count_claims, document_profile
from analysis.figures import pretty
from tests.conftest import SHARED, claims_table


def test_claims_and_articles():
    counts = count_claims(claims_table()).set_index(["procedure", "condition", "type"])
    assert counts.loc[("ipl", "rosacea", "benefit"), "claims"] == 2
    assert counts.loc[("ipl", "rosacea", "benefit"), "articles"] == 2
    assert counts.loc[("ipl", "rosacea", "risk"), "claims"] == 1
    assert counts.loc[("ipl", "", "benefit"), "articles"] == 1


def test_balance():
    bal = balance(claims_table()).set_index(["procedure", "condition"])
    assert bal.loc[("ipl", "rosacea"), "risk_share"] == 1 / 3
    assert bal.loc[("ipl", ""), "risk"] == 0


def test_document_profile():
    docs = pd.DataFrame({"doc": ["a", "b", "c"], "title": ["A", "B", "C"]})
    prof = document_profile(claims_table(), docs).set_index("doc")
    assert bool(prof.loc["a", "describes_risks"]) and not bool(prof.loc["b", "describes_risks"])
    assert prof.loc["c", "benefit"] == 0 and not bool(prof.loc["c", "describes_benefits"])


def test_general_risks_are_never_reported_as_no_risk():
    from analysis.summary import headline

    rows = [
        ("a", "IPL helps rosacea.", "benefit", "efficacy", "asserted", "ipl", "rosacea"),
        ("a", "IPL can cause burns.", "risk", "side_effects", "asserted", "ipl", ""),
        ("b", "Lasers help acne.", "benefit", "efficacy", "asserted", "laser", "acne"),
    ]
    cols = ["doc", "sentence", "type", "category", "certainty", "procedure", "condition"]
    claims = pd.DataFrame(rows, columns=cols)
    docs = pd.DataFrame({"doc": ["a", "b"], "title": ["A", "B"]})
    text = headline(claims, docs)
    assert "No risk specific to the condition was detected for ipl for rosacea" in text
    assert "1 general risk claim about ipl" in text
    assert "No risk claim was detected for laser for acne, neither for the condition" in text
    pair = claims[claims["condition"] == "rosacea"]
    general = claims[(claims["procedure"] == "ipl") & (claims["condition"] == "")]
    prof = document_profile(pair, docs[docs["doc"] == "a"], general).set_index("doc")
    assert bool(prof.loc["a", "describes_risks"]) and prof.loc["a", "general_risk"] == 1
    deep_dive = headline(pair, docs[docs["doc"] == "a"], general)
    assert "No risk is stated" not in deep_dive and "1 general risk claim about ipl" in deep_dive


def test_article_shares_with_wilson_intervals():
    from analysis.counts import article_shares

    shares = article_shares(claims_table(), "pair").set_index(["procedure", "condition"])
    row = shares.loc[("ipl", "rosacea")]
    assert row["articles"] == 2 and row["risk_articles"] == 1 and row["benefit_articles"] == 2
    # Wilson 95 % interval of 1 in 2
    assert abs(row["risk_low"] - 0.0945) < 1e-3 and abs(row["risk_high"] - 0.9055) < 1e-3
    by_procedure = article_shares(claims_table(), "procedure").set_index("procedure")
    assert by_procedure.loc["ipl", "articles"] == 2


def test_wilson_intervals_are_scipy_s():
    from scipy.stats import binomtest

    from analysis.counts import wilson

    for confidence in (0.8, 0.9, 0.95, 0.99):
        for n in range(1, 61):
            for k in range(n + 1):
                ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
                low, high = wilson(k, n, confidence)
                assert abs(low - ci.low) < 1e-12 and abs(high - ci.high) < 1e-12, (k, n)
    assert all(v != v for v in wilson(0, 0))  # no articles: no interval


@pytest.mark.slow
@pytest.mark.parametrize("corpus", ["sample", "dev"])
def test_every_number_reconciles(corpus, codebook):
    """Headline = sum of category bars = certainty stack = heatmap cell =
    evidence rows, for the whole corpus per type and for every pair."""
    from analysis.cache import extract_corpus
    from analysis.figures import category_bars, certainty_mix, heatmaps
    from analysis.summary import evidence, headline

    root = config.CORPUS if corpus == "sample" else SHARED / "annotation" / "dev" / "corpus"
    if not root.is_dir():
        pytest.skip("../shared/annotation is not beside this checkout")
    claims, documents, _ = extract_corpus(root, codebook)
    subsets = [("all", claims)] + [
        (f"{p} x {c}", g) for (p, c), g in claims.groupby(["procedure", "condition"])
    ]
    heat = heatmaps(claims)
    for name, subset in subsets:
        rows = evidence(subset)
        by_type = count_claims(subset, ["type"]).set_index("type")["claims"]
        assert by_type.sum() == len(rows), name
        bars = category_bars(subset)
        assert sum(abs(v) for trace in bars.data for v in trace.x) == len(rows), name
        stack = certainty_mix(subset)
        assert sum(int(v) for trace in stack.data for v in trace.y) == len(rows), name
        for t, n in by_type.items():
            assert f"{n} {t} claim" in headline(subset, documents), (name, t)
        if name != "all":
            p, c = subset["procedure"].iloc[0], subset["condition"].iloc[0]
            for trace in (t for t in heat.data if t.meta["measure"] == "claims"):
                cell = trace.z[list(trace.y).index(pretty(p))][list(trace.x).index(pretty(c))]
                assert cell == by_type.get(trace.name, 0), (name, trace.name)


def test_the_matrix_counts_each_category_in_each_article():
    from analysis.counts import matrix

    claims = claims_table()
    documents = pd.DataFrame({"doc": ["a", "b", "c"], "title": ["A", "B", "C"]})
    table = matrix(claims, documents, "category").set_index(["type", "category"])
    assert list(table.columns) == ["a", "b", "c"]  # an article with no claim has a column
    assert table.loc[("benefit", "efficacy")].tolist() == [1, 1, 0]
    # a row is the category's claims, as counted everywhere
    per_category = count_claims(claims, ["type", "category"]).set_index(["type", "category"])
    assert (table.sum(axis=1) == per_category["claims"]).all()
    by_condition = matrix(claims, documents, "condition").set_index("condition")
    assert by_condition.loc["", "b"] == 1  # "IPL is safe." is general


def test_cooccurrence_names_articles_with_benefits_and_no_risk():
    from analysis.counts import cooccurrence

    claims = claims_table()
    documents = pd.DataFrame({"doc": ["a", "b"], "title": ["A", "B"]})
    table = cooccurrence(document_profile(claims, documents)).set_index("articles making")
    assert table.loc["benefits and risks", "titles"] == "A"
    assert (
        table.loc["benefits, no risk detected at all (for no condition, nor in general)", "titles"]
        == "B"
    )


def test_spreadsheet_exports_open_in_excel_and_run_no_formula(tmp_path):
    import openpyxl

    from analysis.tables import read_table, write_for_spreadsheets

    table = pd.DataFrame({"category": ["x"], '=HYPERLINK("http://evil")': [1], "é": [2]})
    csv = write_for_spreadsheets(table, tmp_path / "m.csv")
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a BOM
    assert "'=HYPERLINK" in csv.read_text(encoding="utf-8-sig")
    xlsx = write_for_spreadsheets(table, tmp_path / "m.xlsx")
    header = [c.value for c in openpyxl.load_workbook(xlsx).active[1]]
    assert header == ["category", '\'=HYPERLINK("http://evil")', "é"]
    assert list(read_table(xlsx).columns) == list(table.columns)  # read back as written
