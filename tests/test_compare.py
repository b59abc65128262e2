"""Group comparisons and quantified claims: hand-made tables with known
answers, and the dev articles' SOURCES.tsv as a real metadata example."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import fisher_exact

from analysis import config
from analysis.compare import (
    NOT_GIVEN,
    compare_groups,
    group_shares,
    over_time,
    quantified_shares,
)
from analysis.errors import GroupingError
from analysis.schema import CLAIM_COLUMNS

DEV = Path(__file__).resolve().parents[2] / "shared" / "annotation" / "dev"


def claim(doc: str, type_: str, procedure: str = "laser", quantity: str = "", n: int = 0) -> dict:
    row = dict.fromkeys(CLAIM_COLUMNS, "")
    row |= {
        "doc": doc,
        "sentence": f"{doc} sentence {type_} {n}",
        "type": type_,
        "category": "efficacy" if type_ == "benefit" else "side_effects",
        "procedure": procedure,
        "quantified": bool(quantity),
        "quantity": quantity,
    }
    return row


@pytest.fixture
def corpus():
    """Ten clinic pages, two with a risk claim; six news pieces, five with one;
    one page with no kind, one news piece with no claim at all."""
    docs = [f"c{i}" for i in range(10)] + [f"n{i}" for i in range(6)] + ["x", "empty"]
    kinds = ["clinic"] * 10 + ["news"] * 6 + ["", "news"]
    documents = pd.DataFrame({"doc": docs, "title": docs, "kind": kinds})
    rows = [claim(d, "benefit") for d in docs if d != "empty"]
    rows += [claim(d, "risk", quantity="1 in 10" if d == "c0" else "") for d in ("c0", "c1")]
    rows += [claim(f"n{i}", "risk", n=1) for i in range(5)]
    rows += [claim("c0", "benefit", procedure="prp", quantity="40%", n=2)]
    return pd.DataFrame(rows), documents.assign(date=["2023-01-01"] * 9 + ["2024-06-01"] * 9)


def test_group_shares_count_articles_with_every_article_in_the_denominator(corpus):
    claims, documents = corpus
    shares = group_shares(claims, documents, "kind").set_index(["group", "procedure"])
    clinic, news = shares.loc[("clinic", "")], shares.loc[("news", "")]
    assert clinic["articles"] == 10 and clinic["risk_articles"] == 2
    assert news["articles"] == 7 and news["risk_articles"] == 5  # the empty one counts
    assert news["risk_share"] == pytest.approx(5 / 7)
    assert news["risk_low"] < 5 / 7 < news["risk_high"]
    assert shares.loc[(NOT_GIVEN, ""), "articles"] == 1
    assert shares.loc[("clinic", "prp"), "articles"] == 1 and shares.loc[("clinic", "prp"), "small"]
    assert not clinic["small"]


def test_two_groups_get_fishers_exact_test_in_plain_words(corpus):
    claims, documents = corpus
    tests = compare_groups(group_shares(claims, documents, "kind"))
    risk = tests[(tests["procedure"] == "") & (tests["type"] == "risk")].iloc[0]
    expected = fisher_exact([[2, 8], [5, 2]])
    assert risk["test"] == "Fisher's exact test"
    assert risk["p_value"] == pytest.approx(expected.pvalue)
    assert risk["odds_ratio"] == pytest.approx(expected.statistic)
    assert risk["effect"] == pytest.approx(100 * (2 / 10 - 5 / 7))
    assert "clinic: 2 of 10 articles (20 %" in risk["finding"]
    assert "news: 5 of 7 articles (71 %" in risk["finding"]
    assert "percentage points" in risk["finding"]
    # a claim type every article makes in every group: nothing to test, said so
    benefit = tests[(tests["procedure"] == "laser") & (tests["type"] == "benefit")].iloc[0]
    assert benefit["test"] == "none" and "nothing to test" in benefit["finding"]
    assert (tests["p_adjusted"].dropna() >= tests["p_value"].dropna()).all()


def test_more_groups_get_a_chi_square_test_and_small_groups_are_flagged(corpus):
    claims, documents = corpus
    documents = documents.assign(kind=["clinic"] * 10 + ["news"] * 3 + ["blog"] * 3 + ["", "news"])
    tests = compare_groups(group_shares(claims, documents, "kind"))
    risk = tests[(tests["procedure"] == "") & (tests["type"] == "risk")].iloc[0]
    assert risk["test"] == "chi-square test" and risk["groups"] == 3
    assert 0 < risk["effect"] <= 1 and risk["effect_name"] == "Cramér's V"
    assert risk["small"] and "fewer than 5 articles" in risk["finding"]


def test_an_unknown_column_names_the_ones_there_are(corpus):
    claims, documents = corpus
    with pytest.raises(GroupingError, match="their metadata columns are kind, date"):
        group_shares(claims, documents, "outlet")


def test_quantified_shares_and_time_view(corpus):
    claims, documents = corpus
    per_type = quantified_shares(claims, []).iloc[0]
    assert per_type["risk_claims"] == 7 and per_type["risk_quantified"] == 1
    assert per_type["benefit_quantified"] == 1
    per_procedure = quantified_shares(claims, ["procedure"]).set_index("procedure")
    assert per_procedure.loc["prp", "benefit_share"] == 1.0
    assert math.isnan(per_procedure.loc["prp", "risk_share"])
    years = over_time(claims, documents, "date").set_index("period")
    assert list(years["articles"]) == [9, 9]
    first_year = claims[claims["doc"].isin(documents["doc"][:9])]
    assert years.loc["2023", "risk_per_article"] == pytest.approx(
        (first_year["type"] == "risk").sum() / 9
    )


@pytest.mark.parametrize(
    "sentence,quantity",
    [
        ("Microneedling reduced wrinkles in 64 per cent of women.", "64 per cent"),
        (
            "About 1 in 10 patients had redness and irritation after a chemical peel.",
            "1 in 10 patients",
        ),
        ("A study of 120 volunteers found laser treatment reduced acne scars.", "120 volunteers"),
        ("Microneedling improved acne scars by 2 grades on average.", "by 2 grades"),
        ("After microneedling, redness and swelling last 2-3 days.", "2-3 days"),
        ("The smoothing effect of a chemical peel can last up to 12 months.", "up to 12 months"),
        (
            "Microneedling boosts collagen production three times faster than a cream.",
            "three times faster",
        ),
        ("Microneedling can improve acne scars.", ""),
        ("A 28-year-old reader says microneedling improved her scars.", ""),
    ],
)
def test_a_claim_records_the_number_its_sentence_states(sentence, quantity):
    from analysis.codebook import load_codebook
    from analysis.extract import extract_document

    rows = pd.DataFrame(extract_document("t.txt", sentence, load_codebook(config.CODEBOOK)))
    assert len(rows), f"no claim coded in {sentence!r}"
    assert set(rows["quantity"]) == {quantity}
    assert set(rows["quantified"]) == {bool(quantity)}


@pytest.mark.skipif(not DEV.is_dir(), reason="needs ../shared/annotation/dev")
def test_the_dev_articles_sources_as_real_metadata(tmp_path):
    """SOURCES.tsv's tone, folded into two kinds of source, groups the dev
    articles; the metadata table is read from where it lies (never copied)."""
    from analysis.cache import extract_corpus
    from analysis.codebook import load_codebook

    sources = pd.read_csv(DEV / "SOURCES.tsv", sep="\t")
    promotional = sources["tone"].str.contains(
        "marketing|promotional|review|dermstore|affiliate", case=False
    )
    kinds = sources.assign(kind=promotional.map({True: "promotional", False: "informational"}))
    kinds[["file", "kind"]].to_csv(tmp_path / "kinds.csv", index=False)
    claims, documents, problems = extract_corpus(
        DEV / "corpus", load_codebook(config.CODEBOOK), metadata=tmp_path / "kinds.csv"
    )
    assert problems.empty and set(documents["kind"]) == {"promotional", "informational"}
    shares = group_shares(claims, documents, "kind")
    whole = shares[shares["procedure"] == ""].set_index("group")
    assert whole["articles"].sum() == len(documents) == len(sources)
    tests = compare_groups(shares)
    assert {"Fisher's exact test"} <= set(tests["test"])
    assert tests["finding"].str.contains("95 % CI").all()


# ------------------------------------------- per category, and group models


def two_groups(rng_seed: int = 0, n: int = 40, sites: int = 12) -> tuple:
    """n articles in two groups: group "b" states risks three times as often
    per word, every article states benefits; words vary; sites cross groups."""
    import numpy as np

    rng = np.random.default_rng(rng_seed)
    rows, docs = [], []
    for i in range(n):
        group = "a" if i % 2 else "b"
        words = int(rng.integers(300, 3000))
        rate = 0.002 if group == "a" else 0.006
        risks = int(rng.negative_binomial(2, 2 / (2 + rate * words)))
        doc = f"d{i}"
        docs.append({"doc": doc, "kind": group, "words": words, "site": f"s{i % sites}"})
        rows.append(claim(doc, "benefit", n=0))
        rows += [claim(doc, "risk", n=k) for k in range(risks)]
        if i % 3 == 0:
            infection = claim(doc, "risk", n=99)
            infection["category"] = "infection"
            rows.append(infection)
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS), pd.DataFrame(docs)


def test_category_shares_per_group_with_a_difference_and_its_interval():
    from analysis.compare import category_shares

    claims, docs = two_groups()
    table = category_shares(claims, docs, "kind")
    assert set(table.groupby(["type", "category"]).size()) == {2}  # a row per group
    infection = table[table["category"] == "infection"].set_index("group")
    a, b = infection.loc["a"], infection.loc["b"]
    assert a["making"] == sum(1 for i in range(40) if i % 2 and i % 3 == 0)
    assert a["share"] == a["making"] / 20 and a["low"] < a["share"] < a["high"]
    assert a["per_1000_words"] == pytest.approx(1000 * a["claims"] / a["words"])
    assert a["words"] == docs.loc[docs["kind"] == "a", "words"].sum()
    expected = fisher_exact([[a["making"], 20 - a["making"]], [b["making"], 20 - b["making"]]])
    assert a["p_value"] == pytest.approx(expected.pvalue)
    assert a["effect"] == pytest.approx(100 * (a["share"] - b["share"]))
    assert a["effect_low"] <= a["effect"] <= a["effect_high"]
    # every article makes benefit claims: nothing to test, said so
    assert table.loc[table["category"] == "efficacy", "test"].eq("none").all()


def test_group_models_find_a_rate_difference_per_word_and_say_how():
    from analysis.regression import article_outcomes, group_models

    claims, docs = two_groups(n=80)
    outcomes = article_outcomes(claims, docs, "kind", ("words",))
    models = group_models(outcomes, "kind", ("words",))
    risk = models[(models["outcome"] == "risk claims (per word)")].set_index("term")
    group = risk.loc["kind: b (vs a)"]
    assert group["estimate_name"] == "rate ratio"
    assert 1 < group["low"] < group["estimate"] < group["high"]  # b states risks more often
    assert group["model"].startswith("negative binomial")  # the counts are overdispersed
    assert "cluster-robust errors by site (12 sites)" in group["note"]
    assert risk.loc["words", "low"] <= 1 <= risk.loc["words", "high"]  # per word: no length effect
    # every article makes a benefit claim: no logistic model, and why
    benefit = models[models["outcome"] == "articles making benefit claims"].iloc[0]
    assert benefit["note"].startswith("not fitted") and math.isnan(benefit["estimate"])
    assert models["p_adjusted"].dropna().between(0, 1).all()


def test_group_models_without_sites_use_robust_errors_and_refuse_unknown_covariates():
    from analysis.regression import article_outcomes, group_models

    claims, docs = two_groups()
    outcomes = article_outcomes(claims, docs.drop(columns="site"), "kind")
    models = group_models(outcomes, "kind")
    assert models["note"].str.contains("robust \\(HC1\\) errors: no site column").any()
    with pytest.raises(GroupingError, match="no covariate 'year'.*no date column|no date column"):
        article_outcomes(claims, docs, "kind", ("year",))
    with pytest.raises(GroupingError, match="no covariate 'outlet'"):
        article_outcomes(claims, docs, "kind", ("outlet",))
