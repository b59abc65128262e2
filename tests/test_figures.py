from __future__ import annotations

import pandas as pd

from analysis import figures
from analysis.counts import document_profile
from tests.conftest import claims_table


def test_heatmaps_one_trace_per_type_and_measure_in_a_menu():
    fig = figures.heatmaps(claims_table())
    claims = [t for t in fig.data if t.meta["measure"] == "claims"]
    assert (
        [t.name for t in claims]
        == ["benefit", "risk", "uncertainty"]
        == [t.name for t in fig.data[:3]]
    )
    assert len(fig.layout.updatemenus[0].buttons) == 3 * len(figures.HEATMAP_MEASURES)
    benefit = fig.data[0]
    assert list(benefit.y) == ["ipl"] and "rosacea" in benefit.x
    assert 2 in benefit.z[0] and "customdata[2]" in benefit.hovertemplate
    assert "articles making them: 2" in benefit.customdata[0][0][2]
    # the same cell as claims per article and as the share of articles making it
    cell = list(benefit.x).index("rosacea")
    by = {(t.meta["type"], t.meta["measure"]): t for t in fig.data}
    per_article = by[("benefit", "per article")].z[0][cell]
    share = by[("benefit", "share of articles")].z[0][cell]
    assert per_article == benefit.z[0][cell] / 2 and share == 100.0


def test_every_chart_uses_the_projects_template_and_carries_its_caption():
    fig = figures.show(figures.category_bars(claims_table()), "bars", caption="n = 3 <b>x</b>")
    assert fig.layout.template.layout.plot_bgcolor == "#ffffff"
    assert fig.layout.template.layout.font.family.startswith("Helvetica")
    caption = [a for a in fig.layout.annotations if a.name == "caption"]
    assert caption and "&lt;b&gt;" in caption[0].text  # escaped, as every outside string


def test_the_balance_chart_leaves_out_small_pairs_and_says_how_many():
    fig = figures.balance_chart(claims_table(), min_claims=3)
    shown = {y for trace in fig.data for y in trace.y}
    assert "1 pair with fewer than 3 claims not shown" in fig.layout.title.text
    assert len(shown) == 1 and all("rosacea" in y for y in shown)


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
    assert list(table.data[0].cells.values[0]) == ["a", "b"]  # the short id
    assert list(table.data[0].cells.values[1]) == ["A", ""]  # the title, its own column


def test_documents_are_named_by_a_short_stable_id_and_furniture_is_no_title():
    from analysis.readers import document
    from analysis.schema import document_ids
    from analysis.summary import document_key, matrix_export

    docs = pd.DataFrame(
        {
            "doc": ["site-a/guide.html", "site-b/guide.html", "notes.txt", "t.csv#7"],
            "title": ["Guide", "Guide", "Notes", "Row"],
        }
    )
    ids = document_ids(docs)
    assert ids.tolist() == ["site-a/guide.html", "site-b/guide.html", "notes.txt", "t.csv#7"]
    ids = document_ids(docs.assign(label=["A", "B", "", "D"]))
    assert ids.tolist() == ["A", "B", "notes.txt", "D"]  # a label column wins where given
    matrix = pd.DataFrame({"type": ["risk"], "category": ["infection"], "notes.txt": [2]})
    assert "notes.txt" in matrix_export(matrix, docs).columns
    assert document_key(docs).columns[:3].tolist() == ["id", "title", "doc"]
    # page furniture scraped as a title gives way to the article's own heading
    for furniture in ("guides", "July 21, 2023 by Admin", "Monday - Saturday, 8AM to 10PM"):
        text = "Microneedling for acne scars\nMicroneedling may help acne scars.\n"
        assert document("a.html", text, furniture)["title"] == "Microneedling for acne scars"


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
