"""Estimates: error rates, corrected counts and shares with intervals, the
in-sample warning, and absence statements that hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import counts, summary
from analysis.estimates import (
    ALL,
    ErrorBasis,
    _drawn_sum,
    accuracy_of,
    basis_of_model,
    cell_estimates,
    error_rates,
    in_sample,
    share_estimates,
)
from analysis.schema import ESTIMATE_COLUMNS, claim_ids, unique_claims
from tests.conftest import claims_table


def basis(predicted: int, coded: int, agreed: int, sites: int = 10) -> ErrorBasis:
    """A coder that, on each of ``sites`` sites, reports ``predicted`` benefit
    units where trained coders code ``coded``, ``agreed`` of them the same."""
    units = pd.DataFrame(
        [
            {
                "doc": f"v{i}",
                "site": f"s{i}",
                "type": "benefit",
                "category": "efficacy",
                "predicted": predicted,
                "coded": coded,
                "agreed": agreed,
            }
            for i in range(sites)
        ]
    )
    articles = pd.DataFrame(
        [
            {
                "doc": f"v{i}",
                "site": f"s{i}",
                "procedure": "ipl",
                "type": "benefit",
                "predicted": int(i % 5 != 0),
                "coded": int(i % 2 == 0),
            }
            for i in range(sites)
        ]
    )
    return ErrorBasis("a test basis", "validation", units, articles)


def test_error_rates_per_type_and_category():
    rates = error_rates(basis(predicted=8, coded=10, agreed=6))
    row = rates[(rates["type"] == "benefit") & (rates["category"] == "")].iloc[0]
    assert row["precision"] == pytest.approx(6 / 8) and row["recall"] == pytest.approx(6 / 10)
    assert set(rates["category"]) == {"", "efficacy"}


def test_a_count_is_corrected_by_what_the_coder_misses_and_adds():
    """Precision 6/8, recall 6/10: the coder's count times P/R = 10/8."""
    claims = claims_table()
    est = cell_estimates(claims, basis(predicted=8, coded=10, agreed=6))
    assert list(est.columns) == ESTIMATE_COLUMNS
    cell = est[
        (est["procedure"] == "ipl") & (est["condition"] == "rosacea") & (est["type"] == "benefit")
    ].iloc[0]
    assert cell["observed"] == 2  # a repeated sentence is one claim
    assert cell["estimate"] == pytest.approx(2 * 10 / 8)
    assert cell["low"] <= cell["estimate"] <= cell["high"]
    total = est[
        (est["procedure"] == "ipl") & (est["condition"] == ALL) & (est["type"] == "benefit")
    ].iloc[0]
    assert total["observed"] == 3  # rosacea twice, and one general claim
    general = est[(est["procedure"] == "ipl") & (est["condition"] == "")]
    assert set(general["type"]) == {"benefit"}


def test_the_interval_widens_with_fewer_validation_sites():
    claims = claims_table()
    wide = cell_estimates(claims, basis(8, 10, 6, sites=2))
    narrow = cell_estimates(claims, basis(8, 10, 6, sites=40))
    width = lambda e: float((e["high"] - e["low"]).sum())  # noqa: E731
    # the same error rates; only how well they are known differs
    assert np.allclose(wide["estimate"], narrow["estimate"])
    assert width(wide) >= width(narrow)


def test_shares_of_articles_are_corrected_by_sensitivity_and_specificity():
    claims = claims_table()
    shares = share_estimates(claims, basis(8, 10, 6), "procedure")
    row = shares[(shares["procedure"] == "ipl") & (shares["type"] == "benefit")].iloc[0]
    assert row["articles"] == 2 and row["observed"] == 1.0
    assert 0 <= row["low"] <= row["estimate"] <= row["high"] <= 1


def test_in_sample_documents_are_found_by_content_hash():
    documents = pd.DataFrame({"doc": ["a", "b"], "sha256": ["h1", "h2"], "title": ["A", "B"]})
    trained = ErrorBasis(
        "x", "folds", basis(1, 1, 1).units, basis(1, 1, 1).articles, frozenset({"h2"})
    )
    assert in_sample(documents, trained)["doc"].tolist() == ["b"]
    accuracy = accuracy_of(claims_table(), documents, trained)
    page = summary.accuracy_html(accuracy)
    assert "In-sample warning" in page and "1 article of the 2" in page
    clean = accuracy_of(claims_table(), documents, basis(8, 10, 6))
    assert "In-sample warning" not in summary.accuracy_html(clean)
    assert "60%" in summary.accuracy_html(clean)  # recall said near the headline


def test_the_shipped_coder_brings_its_own_error_basis(codebook):
    found = basis_of_model(codebook.model)
    assert found is not None and found.kind == "folds"
    assert found.n_sites == codebook.model.manifest["sites"]
    rates = error_rates(found).set_index(["type", "category"])
    assert 0 < rates.loc[("risk", ""), "recall"] < 1


def test_no_risk_means_none_for_the_procedure_under_any_condition():
    """An article that claims a microneedling benefit for acne scars and
    states microneedling risks filed under scars is not an article with
    "benefits, no risk at all" in the acne scars deep dive."""
    rows = [
        ("home.txt", "Microneedling fades acne scars.", "benefit", "efficacy", "acne_scars"),
        ("home.txt", "Microneedling can cause infection.", "risk", "infection", "scars"),
        ("home.txt", "Rollers can tear scar tissue.", "risk", "side_effects", "scars"),
        ("other.txt", "Microneedling fades acne scars too.", "benefit", "efficacy", "acne_scars"),
    ]
    claims = pd.DataFrame(
        [
            {
                "doc": d,
                "sentence": s,
                "type": t,
                "category": c,
                "certainty": "asserted",
                "procedure": "microneedling",
                "condition": cond,
            }
            for d, s, t, c, cond in rows
        ]
    )
    pair = claims[claims["condition"] == "acne_scars"]
    documents = pd.DataFrame({"doc": ["home.txt", "other.txt"], "title": ["Home", "Other"]})
    general = claims[claims["condition"] == ""]
    everything = claims[claims["doc"].isin(pair["doc"])]
    profile = counts.document_profile(pair, documents, general, everything).set_index("doc")
    assert bool(profile.loc["home.txt", "describes_risks"])
    assert profile.loc["home.txt", "other_risk"] == 2
    table = counts.cooccurrence(profile.reset_index()).set_index("articles making")
    quiet = table.loc["benefits, no risk detected at all (for no condition, nor in general)"]
    assert quiet["titles"] == "Other"


def test_claim_ids_are_stable_and_claims_unique_has_one_row_per_claim():
    claims = claims_table().assign(procedure=lambda t: t["procedure"])
    two = pd.concat([claims, claims.iloc[[0]].assign(condition="acne")])  # a 2nd attribution
    ids = claim_ids(two)
    assert ids.iloc[0] == ids.iloc[-1] and ids.nunique() == counts.n_claims(two)
    unique = unique_claims(two)
    assert len(unique) == counts.n_claims(two)
    assert "rosacea|acne" in set(unique["conditions"]) or "acne|rosacea" in set(
        unique["conditions"]
    )


@pytest.mark.parametrize("rows", [(7,), (7, 3), (7, 4, 2)])
@pytest.mark.parametrize("drawn", [(7,), (11, 7), (2, 3, 7)])
def test_a_resample_s_rows_are_summed_without_copying_them(rows, drawn):
    """The bootstrap sums the rows each resample draws as (times drawn) @
    table: the same sums, to the last bit, as indexing the rows out and
    summing them (which held every resample's copy of the table at once)."""
    rng = np.random.default_rng(0)
    table = rng.integers(0, 5, size=rows).astype(np.float64)
    index = rng.integers(0, 7, size=drawn)
    expected = table[index].sum(axis=index.ndim - 1)
    found = _drawn_sum(table, index)
    assert found.shape == expected.shape and found.dtype == expected.dtype
    assert np.array_equal(found, expected)
