"""What the notebooks call: the pickers of the JupyterLab explorer."""

from __future__ import annotations

from analysis.notebook import ALL, explorer, pick
from tests.conftest import claims_table


def test_pick_selects_what_the_pickers_say():
    claims = claims_table()
    assert len(pick(claims)) == len(claims)
    risky = pick(claims, procedure="ipl", claim_type="risk")
    assert list(risky["sentence"]) == ["IPL may cause swelling."]
    general = pick(claims, condition="")
    assert list(general["sentence"]) == ["IPL is safe."]
    assert pick(claims, certainty="negated").empty


def test_the_explorer_offers_the_corpus_values_and_follows_its_pickers():
    import pandas as pd

    claims = claims_table().assign(start=0, cue="", quantity="")
    documents = pd.DataFrame({"doc": ["a", "b"], "title": ["A", "B"]})
    box = explorer(claims, documents, labels={"rosacea": "Rosacea"})
    procedure, condition, claim_type, certainty = box.children[0].children
    assert [v for _, v in condition.options] == [ALL, "", "rosacea"]
    assert ("Rosacea", "rosacea") in condition.options
    claim_type.value = "risk"
    assert list(box.selection()["type"]) == ["risk"]
    condition.value = ""
    assert box.selection().empty  # no general risk claim
