"""A claim type added to the codebook alone is coded, counted and shown
everywhere: counts, denominators, charts, headline, agreement and index."""

from __future__ import annotations

import pandas as pd

from analysis import config, counts, figures, summary
from analysis.codebook import load_codebook
from analysis.extract import extract
from analysis.report import ReportRun, write_index
from analysis.schema import claim_types
from analysis.validation.agreement import agreement, to_coding
from tests.conftest import make_documents

COST = """  cost:
    label: Costs
    categories:
      price:
        label: Price
        cues:
          - "\\\\bcosts?\\\\s+(?:about\\\\s+|around\\\\s+)?[$£€]\\\\d+"
"""
TEXT = (
    "Microneedling costs about $300 a session. "
    "Microneedling can cause infection. Microneedling improves acne scars."
)


def test_a_type_added_in_the_codebook_is_counted_and_shown(tmp_path):
    text = config.CODEBOOK.read_text(encoding="utf-8")
    path = tmp_path / "codebook.yml"
    path.write_text(text.replace("\nprefer:", "\n" + COST + "\nprefer:", 1), encoding="utf-8")
    codebook = load_codebook(path)
    assert codebook.types["cost"] == "Costs"
    claims = extract(make_documents({"a.txt": TEXT, "b.txt": TEXT + " Lasers too."}), codebook)
    assert "cost" in set(claims["type"])

    assert counts.count_claims(claims, ["type"]).set_index("type").loc["cost", "claims"] == 2
    profile = counts.document_profile(claims, make_documents({"a.txt": "", "b.txt": ""}))
    assert list(profile["cost"]) == [1, 1]
    shares = counts.article_shares(claims, "procedure").set_index("procedure")
    assert shares.loc["microneedling", "cost_share"] == 1.0
    assert "cost" in summary.headline(claims, make_documents({"a.txt": "", "b.txt": ""}))
    assert "making cost claims" in summary.shares_html(counts.article_shares(claims))
    layers = [b["label"] for b in figures.heatmaps(claims).layout.updatemenus[0].buttons]
    assert any("cost" in label.lower() for label in layers)
    assert "cost" in {t.name for t in figures.category_bars(claims).data}
    assert "cost" in {t.name for t in figures.balance_chart(claims).data}

    coding = to_coding(claims)
    scores = agreement(coding, coding).scores
    assert "category:cost" in set(scores["level"])

    jobs = pd.DataFrame(
        [{"name": "overview", "title": "Overview", "html": "overview.html", "status": "ok"}]
    ).assign(claims=5, articles=2, benefit=2, risk=2, uncertainty=0, cost=2)
    run = ReportRun(
        out=tmp_path, jobs=jobs, problems=pd.DataFrame(), provenance={}, types=claim_types(claims)
    )
    assert "<th>cost</th>" in write_index(run).read_text(encoding="utf-8")


COMPLICATION = """  complication:
    label: Complications
    role: harm
    categories:
      nerve_damage:
        label: Nerve damage
        cues:
          - "\\\\bnerve\\\\s+damage\\\\b"
"""


def test_a_harm_like_type_added_in_the_codebook_counts_as_a_harm(tmp_path):
    """The codebook declares each type's role: a new type whose role is harm
    counts in the risk share, the general risks of a pair and the articles'
    "describes risks" answer, with no change to code."""
    text = config.CODEBOOK.read_text(encoding="utf-8")
    path = tmp_path / "codebook.yml"
    path.write_text(text.replace("\nprefer:", "\n" + COMPLICATION + "\nprefer:", 1), "utf-8")
    codebook = load_codebook(path, model=None)
    assert codebook.role("complication") == "harm" and codebook.role("risk") == "harm"
    docs = {
        "a.txt": "Laser for acne scars\nLaser improves acne scars. Laser can cause nerve damage.",
    }
    claims = extract(make_documents(docs), codebook)
    assert set(claims.loc[claims["type"] == "complication", "role"]) == {"harm"}
    bal = counts.balance(claims).set_index(["procedure", "condition"])
    assert bal.loc[("laser", "acne_scars"), "harms"] == 1
    assert bal.loc[("laser", "acne_scars"), "risk_share"] == 0.5
    profile = counts.document_profile(claims, make_documents({"a.txt": ""}))
    assert bool(profile.loc[0, "describes_risks"])
    # no pair is said to have no risk: the headline names its risk
    assert "No risk is stated" not in summary.headline(claims, make_documents({"a.txt": ""}))
