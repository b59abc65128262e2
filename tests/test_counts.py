from __future__ import annotations

import pandas as pd

from analysis.counts import balance, count_claims, document_profile


def claims_table():
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


def test_mentions_and_documents():
    counts = count_claims(claims_table()).set_index(["procedure", "condition", "type"])
    assert counts.loc[("ipl", "rosacea", "benefit"), "mentions"] == 2
    assert counts.loc[("ipl", "rosacea", "benefit"), "documents"] == 2
    assert counts.loc[("ipl", "rosacea", "risk"), "mentions"] == 1
    assert counts.loc[("ipl", "", "benefit"), "documents"] == 1


def test_balance():
    bal = balance(claims_table()).set_index(["procedure", "condition"])
    assert bal.loc[("ipl", "rosacea"), "risk_share"] == 1 / 3
    assert bal.loc[("ipl", ""), "risk"] == 0


def test_document_profile():
    docs = pd.DataFrame({"doc": ["a", "b", "c"], "title": ["A", "B", "C"]})
    prof = document_profile(claims_table(), docs).set_index("doc")
    assert bool(prof.loc["a", "describes_risks"]) and not bool(prof.loc["b", "describes_risks"])
    assert prof.loc["c", "benefit"] == 0 and not bool(prof.loc["c", "describes_benefits"])
