from __future__ import annotations

import pandas as pd

from analysis import figures
from analysis.counts import document_profile
from tests.conftest import claims_table


def test_heatmaps_one_trace_per_type_with_buttons():
    fig = figures.heatmaps(claims_table())
    assert [t.name for t in fig.data] == ["benefit", "risk", "uncertainty"]
    assert len(fig.layout.updatemenus[0].buttons) == 3
    benefit = fig.data[0]
    assert list(benefit.y) == ["ipl"] and "rosacea" in benefit.x
    assert 2 in benefit.z[0] and "customdata[2]" in benefit.hovertemplate
    assert "articles: 2" in benefit.customdata[0][0][2]


def test_category_bars_diverge():
    fig = figures.category_bars(claims_table())
    sides = {t.name: set(t.x) for t in fig.data}
    assert all(x > 0 for x in sides["benefit"]) and all(x < 0 for x in sides["risk"])


def test_certainty_mix_and_table():
    assert {t.name for t in figures.certainty_mix(claims_table()).data} == {
        "asserted",
        "hedged",
        "negated",
    }
    docs = pd.DataFrame({"doc": ["a", "b"], "title": ["A", ""]})
    table = figures.document_table(document_profile(claims_table(), docs))
    assert list(table.data[0].cells.values[0]) == ["A", "b"]


def test_empty_claims_give_a_figure():
    empty = claims_table().iloc[0:0]
    assert figures.heatmaps(empty).layout.annotations


def test_charts_show_the_codebooks_labels_not_ids():
    from analysis.figures import category_bars, codebook_labels, heatmaps

    claims = pd.DataFrame(
        [
            ("a", "s1", "benefit", "efficacy", "asserted", "microneedling", "atopic_dermatitis"),
            ("a", "s2", "risk", "side_effects", "asserted", "microneedling", ""),
        ],
        columns=["doc", "sentence", "type", "category", "certainty", "procedure", "condition"],
    )
    labels = codebook_labels()
    heat = heatmaps(claims, labels=labels).data[0]
    assert "Eczema (atopic dermatitis)" in heat.x and "Microneedling" in heat.y
    bars = category_bars(claims, labels=labels)
    assert {"Side effects", "Efficacy"} <= {y for trace in bars.data for y in trace.y}
