"""The learned coder: shipped, reproducible, explained, and measured on
sites it never saw.

The generalisation test trains on the coded articles in ../shared (the sample
and the 65 dev articles from 34 sites) with whole sites left out, and holds
the cross-validated figures above the floor this project reached, so a change
that overfits, or that breaks what carries over to new sites, fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis import config
from analysis.cache import cache_key
from analysis.cli import main
from analysis.codebook import load_codebook
from analysis.coding.features import FEATURE_COLUMNS
from analysis.coding.learned import Coder, load_model
from analysis.errors import ModelError
from analysis.extract import extract
from analysis.train import (
    label_matrix,
    labels_of,
    new_coder,
    site_of,
    train,
)
from tests.conftest import ANNOTATION, make_documents, read_coded_articles

needs_shared = pytest.mark.skipif(
    not (ANNOTATION / "dev" / "gold.jsonl").is_file(),
    reason="../shared/annotation is not beside this checkout",
)
# Reached by the shipped model's design (see the README); a change that
# falls below fails.
FOLD_MEAN_CATEGORY_F1 = 0.57
POOLED_CATEGORY_F1 = 0.58
FOLD_MEAN_CONDITIONS = 0.78


@pytest.fixture(scope="module")
def rules():
    return load_codebook(config.CODEBOOK, model=None)


@pytest.fixture(scope="module")
def training(rules):
    return read_coded_articles(rules)


@needs_shared
def test_cross_validation_leaves_whole_sites_out_and_holds_the_floor(training, rules, cv):
    folds = cv.folds
    # 34 dev sites and the sample: no site is ever split across train and test
    assert len(folds) == 35
    assert training.table.groupby("doc")["group"].nunique().max() == 1
    pooled = cv.pooled.set_index(["measure", "level"])["value"]
    print(
        f"\ncross-validated category F1: fold mean {folds['category_f1'].mean():.3f}, "
        f"pooled {pooled[('f1', 'category')]:.3f}"
    )
    assert folds["category_f1"].mean() >= FOLD_MEAN_CATEGORY_F1
    assert pooled[("f1", "category")] >= POOLED_CATEGORY_F1
    assert folds["conditions"].mean() >= FOLD_MEAN_CONDITIONS
    # every attribution level is measured on the claims the folds found
    levels = cv.attribution.set_index(["kind", "level"])
    assert levels.loc[("conditions", "sentence"), "claims"] > 100
    assert levels.loc[("conditions", "document"), "claims"] > 50
    # the learned coder must beat the codebook's rules alone on unseen sites
    dev = training.gold[~training.gold["doc"].str.match(r"^00\d_")]
    rules_alone = pd.concat(
        [extract(make_documents({d: training.texts[d]}), rules) for d in dev["doc"].unique()]
    )
    from analysis.validation.agreement import agreement, to_coding

    baseline = agreement(dev, to_coding(rules_alone)).figure("f1", "category")
    learned = agreement(dev, cv.predictions[cv.predictions["doc"].isin(dev["doc"])]).figure(
        "f1", "category"
    )
    assert learned > baseline + 0.03, (learned, baseline)


def test_site_of_groups_a_repository_or_a_host():
    assert site_of("https://github.com/a/b/blob/x/page.md") == "github.com/a/b"
    assert site_of("https://www.example.org/blog/x") == "www.example.org"


def test_shipped_model_is_small_matches_its_manifest_and_the_codebook():
    model = load_model(config.MODEL)
    blob = config.MODEL.with_suffix(".npz")
    assert blob.stat().st_size < 5_000_000
    manifest = json.loads(config.MODEL.with_suffix(".json").read_text())
    assert model.sha256 == manifest["model_sha256"]
    assert isinstance(model.coder, Coder)
    codebook = load_codebook(config.CODEBOOK)
    assert set(model.labels) == {f"{c.type}/{c.id}" for c in codebook.categories}
    # its fold figures and the error rates every report states were measured
    # with this codebook's rules: a codebook edited since needs `make model`
    assert manifest["codebook_sha256"] == codebook.sha256, "run `make model`"
    assert 0 < model.threshold < 1
    # its hyperparameters, and what it was measured on: sites it never saw
    assert manifest["hyperparameters"]["representation"] == model.coder.representation
    cv = manifest["cross_validation"]
    assert cv["grouped_by"].startswith("site")
    assert {"fold_mean", "fold_sd", "fold_min", "fold_max", "pooled"} <= set(cv)
    for level in ("category:benefit", "category:risk", "benefit:efficacy", "risk:side_effects"):
        assert {"precision", "recall", "f1"} == set(cv["per_type_and_category"][level])
    assert [p["share"] for p in cv["learning_curve"]] == [0.25, 0.5, 1.0]
    assert {r["level"] for r in cv["attribution_levels"]} >= {"sentence", "document"}
    # the documents it learned from, by content hash, for the in-sample warning
    assert (
        len(manifest["documents"])
        == manifest["trained_on"][0]["documents"] + manifest["trained_on"][1]["documents"]
    )
    assert all(len(d["sha256"]) == 64 for d in manifest["documents"])


def test_the_coder_is_a_scikit_learn_estimator(training, rules):
    """fit / predict_proba / get_params, cloned and cross-validated by
    scikit-learn's own LeaveOneGroupOut and cross_val_predict; its fast
    probabilities are its regressions' own."""
    from sklearn.base import clone
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict

    table = training.table[training.table["doc"].str.match(r"^00\d_")].reset_index(drop=True)
    y = label_matrix(table, labels_of(rules))
    coder = new_coder(rules, C=2.0)
    assert clone(coder).get_params()["C"] == 2.0
    assert set(coder.get_params()) >= {"representation", "C", "threshold", "labels"}
    groups = table["doc"].to_numpy()  # the sample: one article at a time
    prob = cross_val_predict(
        coder,
        table[FEATURE_COLUMNS],
        y,
        groups=groups,
        cv=LeaveOneGroupOut(),
        method="predict_proba",
    )
    assert prob.shape == y.shape and ((prob >= 0) & (prob <= 1)).all()
    fitted = clone(coder).fit(table[FEATURE_COLUMNS], y)
    per_label = np.column_stack(
        [
            e.predict_proba(fitted.transform(table[FEATURE_COLUMNS]))[:, 1]
            if hasattr(e, "predict_proba")
            else np.full(len(table), np.nan)
            for e in fitted.classify_.estimators_
        ]
    )
    fast = fitted.predict_proba(table[FEATURE_COLUMNS])
    known = ~np.isnan(per_label)
    assert np.allclose(fast[known], per_label[known], atol=1e-5)
    assert fitted.representation == config.LEARNED_CODER["representation"] == "words+chars"
    other = clone(coder).set_params(representation="words").fit(table[FEATURE_COLUMNS], y)
    assert len(other.names_) < len(fitted.names_)  # the representation is one parameter
    assert not any(name.startswith(" ") for name in other.names_)  # no character n-grams


def test_claim_rows_and_cache_key_carry_the_model(codebook, rules):
    claims = extract(make_documents({"t.txt": "Microneedling can cause redness."}), codebook)
    assert set(claims["model_sha256"]) == {codebook.model.sha256}
    assert set(claims["model_version"]) == {codebook.model.version}
    ruled = extract(make_documents({"t.txt": "Microneedling can cause redness."}), rules)
    assert set(ruled["model_version"]) == {"rules"}
    assert cache_key(codebook) != cache_key(rules)


def test_a_bare_list_item_under_a_lead_in_is_coded_and_explains_itself(tmp_path, capsys):
    doc = tmp_path / "page.txt"
    doc.write_text(
        "IPL photofacial treatments\nSome common side effects include:\nTiny scabs\nTightness\n"
    )
    assert main(["explain", str(doc)]) == 0
    out = capsys.readouterr().out
    # no cue names scabs: the model codes the item from its words and its lead-in
    item = out.split("* Tiny scabs", 1)[1].split("*", 1)[0]
    assert "risk/side_effects" in item and "procedures=ipl" in item
    assert "side_effects learned (model p=" in item and "weighed by" in item


def test_cue_claims_stand_beside_the_learned_ones(codebook):
    claims = extract(make_documents({"t.txt": "IPL may reduce redness in rosacea."}), codebook)
    row = claims[claims["category"] == "symptoms"].iloc[0]
    assert row["cue"] == "reduce redness" and row["certainty"] == "hedged"


def test_a_damaged_model_is_refused_naming_the_file(tmp_path, capsys):
    for suffix in (".npz", ".json"):
        shutil.copy(config.MODEL.with_suffix(suffix), tmp_path / f"m{suffix}")
    with open(tmp_path / "m.npz", "ab") as f:
        f.write(b"x")
    with pytest.raises(ModelError, match="m.npz.*sha256"):
        load_model(tmp_path / "m")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text("Microneedling can cause redness.\n")
    code = main(["extract", str(tmp_path / "c"), "--out", str(tmp_path / "x.csv")])
    assert code == 0  # the shipped model
    args = ["extract", str(tmp_path / "c"), "--out", str(tmp_path / "x.csv")]
    assert main([*args, "--model", str(tmp_path / "m")]) == 2
    assert "m.npz" in capsys.readouterr().err
    assert main([*args, "--model", str(tmp_path / "missing")]) == 2
    assert "no model here" in capsys.readouterr().err


# A user's own coded sample, written from the guidelines' category
# definitions: sample -> code -> train -> validate.
USER_ARTICLES = {
    "a.txt": "LED therapy for acne\nLED therapy calms inflammation.\n"
    "LED therapy is not suitable for:\nPeople taking photosensitising drugs\n"
    "The long-term effects are unknown.\n",
    "b.txt": "IPL for rosacea\nIPL reduces flushing.\nIPL is not suitable for:\n"
    "People with a recent tan\nResults vary from person to person.\n",
    "c.txt": "Chemical peels for melasma\nA chemical peel evens out skin tone.\n"
    "A chemical peel is not suitable for:\nPeople on isotretinoin\n"
    "More research is needed.\n",
}
USER_GOLD = [
    ("a.txt", "LED therapy calms inflammation.", "benefit", "inflammation"),
    ("a.txt", "People taking photosensitising drugs", "risk", "contraindication"),
    ("a.txt", "The long-term effects are unknown.", "uncertainty", "long_term_unknown"),
    ("b.txt", "IPL reduces flushing.", "benefit", "symptoms"),
    ("b.txt", "People with a recent tan", "risk", "contraindication"),
    ("b.txt", "Results vary from person to person.", "uncertainty", "variable_results"),
    ("c.txt", "A chemical peel evens out skin tone.", "benefit", "texture"),
    ("c.txt", "People on isotretinoin", "risk", "contraindication"),
    ("c.txt", "More research is needed.", "uncertainty", "limited_evidence"),
]


def user_coding(tmp_path) -> tuple:
    """The user's three articles as a corpus folder and their gold file."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in USER_ARTICLES.items():
        (corpus / name).write_text(text)
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        "".join(
            json.dumps(
                {
                    "doc": d,
                    "sentence": s,
                    "type": t,
                    "category": c,
                    "certainty": "asserted",
                    "procedures": [],
                    "conditions": [],
                }
            )
            + "\n"
            for d, s, t, c in USER_GOLD
        )
    )
    return corpus, gold


@pytest.mark.slow
def test_a_user_trains_on_their_own_coding_and_validates_it(tmp_path, capsys):
    corpus, gold = user_coding(tmp_path)
    out = tmp_path / "mine"
    assert main(["train", str(gold), "--corpus", str(corpus), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3 sites left out one at a time" in printed  # one folder: articles left out
    model = load_model(out)
    assert model.manifest["trained_on"][0]["documents"] == 3
    # the same inputs train the same model, byte for byte, in another process
    # whose string hashing differs
    again = tmp_path / "again"
    train_again = [sys.executable, "-m", "analysis.cli", "train", str(gold)]
    train_again += ["--corpus", str(corpus), "--out", str(again)]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(train_again, check=True, capture_output=True, env=env)
    assert load_model(again).sha256 == model.sha256
    claims = tmp_path / "claims.csv"
    assert main(["extract", str(corpus), "--out", str(claims), "--model", str(out)]) == 0
    assert set(pd.read_csv(claims)["model_sha256"]) == {model.sha256}
    assert main(["validate", "--gold", str(gold), "--pred", str(claims)]) == 0
    assert "category" in capsys.readouterr().out


def test_train_refuses_unpaired_inputs(tmp_path, capsys):
    gold = tmp_path / "g.jsonl"
    gold.write_text("")
    code = main(["train", str(gold), str(gold), "--corpus", str(tmp_path), "--out", "m"])
    assert code == 2
    assert "one --corpus per gold file" in capsys.readouterr().err


@needs_shared
def test_training_is_reproducible(training, rules, tmp_path):
    """Two trainings on the same inputs give the same model bytes."""
    few = training.table["group"].isin(sorted(training.table["group"].unique())[:3])
    docs = set(training.table.loc[few, "doc"])
    small = type(training)(
        training.table[few].reset_index(drop=True),
        training.texts,
        training.gold[training.gold["doc"].isin(docs)],
        training.inputs,
        [d for d in training.documents if d["doc"] in docs],
    )
    a, _ = train(small, rules, tmp_path / "a", curve=False)
    b, _ = train(small, rules, tmp_path / "b", curve=False)
    assert a.sha256 == b.sha256


@pytest.mark.parametrize(
    "sentence",
    [
        "In the trial, LED therapy did not improve acne more than a sham device.",
        "Red light therapy was no better than placebo for wrinkles.",
        "The study found no significant difference in scar appearance after microneedling.",
        "Laser treatment showed no benefit for rosacea.",
        "PRP failed to show an effect on hair loss.",
    ],
)
def test_negated_study_results_are_negated(codebook, sentence):
    """GUIDELINES.md: 'does not improve', 'no evidence that it helps' deny
    the benefit, whether a cue scopes the negation or the learned coder found
    the claim in a sentence that denies the effect as a whole."""
    from analysis.coding.certainty import learned_certainty
    from analysis.coding.cues import find_hits
    from analysis.coding.page import find_procedures

    efficacy = codebook.category("efficacy")
    procedures = find_procedures(sentence, codebook)
    hits = find_hits(sentence, procedures, codebook)
    certainty, _ = learned_certainty(hits, sentence, efficacy, codebook)
    assert certainty == "negated"
    claims = extract(make_documents({"t.txt": sentence}), codebook)
    benefits = claims[claims["type"] == "benefit"]
    assert set(benefits["certainty"]) <= {"negated"}, claims.to_string()


def attributions(coding: pd.DataFrame) -> pd.DataFrame:
    """A codings table as claim rows, one per procedure x condition."""
    rows = [
        {
            "doc": r.doc,
            "sentence": r.sentence,
            "type": r.type,
            "category": r.category,
            "procedure": p,
            "condition": c,
        }
        for r in coding.itertuples(index=False)
        for p in r.procedures or ("",)
        for c in r.conditions or ("",)
    ]
    return pd.DataFrame(rows).query("procedure != ''")


@needs_shared
def test_corrected_intervals_cover_the_coders_counts_out_of_fold(training, cv):
    """The dev sites in two halves: the coder's error measured on one half
    (its folds' predictions) corrects its out-of-fold counts on the other.
    The 95 % intervals of the (procedure, type) totals with at least 5
    coded claims must hold the trained coders' count in 80 % of them."""
    from analysis.estimates import ALL, ErrorBasis, cell_estimates
    from analysis.schema import claim_key
    from analysis.validation.agreement import validation_units

    sites = {d["doc"]: d["site"] for d in training.documents}
    names = sorted(set(sites.values()))
    rng = np.random.default_rng(0)
    found = {"total": [], "cell": []}
    for _ in range(2):
        half = set(rng.permutation(names)[: len(names) // 2])
        for calibrate in (half, set(names) - half):
            docs = {d for d, s in sites.items() if s in calibrate}
            gold, pred = training.gold, cv.predictions
            units, articles = validation_units(
                gold[gold["doc"].isin(docs)], pred[pred["doc"].isin(docs)], sites
            )
            basis = ErrorBasis("half of the sites", "folds", units, articles)
            target = pred[~pred["doc"].isin(docs)]
            estimates = cell_estimates(attributions(target), basis)
            truth = attributions(gold[~gold["doc"].isin(docs)])
            truth = truth.assign(_claim=claim_key(truth))
            totals = truth.drop_duplicates(["_claim", "procedure"]).groupby(["procedure", "type"])
            cells = truth.drop_duplicates(["_claim", "procedure", "condition"]).groupby(
                ["procedure", "condition", "type"]
            )
            for key, n in totals.size().items():
                row = estimates[
                    (estimates["procedure"] == key[0])
                    & (estimates["condition"] == ALL)
                    & (estimates["type"] == key[1])
                ]
                if n >= 5:
                    found["total"].append(
                        len(row) > 0 and row["low"].iloc[0] <= n <= row["high"].iloc[0]
                    )
            for key, n in cells.size().items():
                row = estimates[
                    (estimates["procedure"] == key[0])
                    & (estimates["condition"] == key[1])
                    & (estimates["type"] == key[2])
                ]
                if n >= 5:
                    found["cell"].append(
                        len(row) > 0 and row["low"].iloc[0] <= n <= row["high"].iloc[0]
                    )
    coverage = {k: float(np.mean(v)) for k, v in found.items()}
    print(
        f"\ncorrected 95 % intervals hold the coders' count: (procedure, type) totals "
        f"{coverage['total']:.2f} of {len(found['total'])}, (procedure, condition, type) "
        f"cells {coverage['cell']:.2f} of {len(found['cell'])}"
    )
    assert coverage["total"] >= 0.80


def test_a_model_file_is_data_and_cannot_run_code(tmp_path):
    """Loading a model unpickles nothing: an archive holding a pickled object
    (whose unpickling would write a file) and a pickle passed off as a model
    are refused, naming the file, and run nothing."""
    import hashlib
    import io
    import pickle

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    manifest = json.loads(config.MODEL.with_suffix(".json").read_text())
    cases = {}
    buffer = io.BytesIO()
    np.savez(buffer, weights=np.array([Payload()], dtype=object), bias=np.zeros(1))
    cases["object_array"] = buffer.getvalue()
    cases["pickle"] = pickle.dumps(Payload())
    for name, data in cases.items():
        (tmp_path / f"{name}.npz").write_bytes(data)
        (tmp_path / f"{name}.json").write_text(
            json.dumps({**manifest, "sha256": hashlib.sha256(data).hexdigest()})
        )
        with pytest.raises(ModelError, match=f"{name}"):
            load_model(tmp_path / name)
    assert not marker.exists()
    (tmp_path / "notes.json").write_text('{"hello": "world"}')
    (tmp_path / "notes.npz").write_bytes(b"")
    with pytest.raises(ModelError, match="notes.json: not a claimscope coder"):
        load_model(tmp_path / "notes")


def test_train_writes_exactly_the_files_it_names(tmp_path, capsys):
    corpus, gold = user_coding(tmp_path)
    out = tmp_path / "models" / "coder.2024"
    assert main(["train", str(gold), "--corpus", str(corpus), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    written = sorted(p.name for p in out.parent.iterdir())
    assert written == ["coder.2024.json", "coder.2024.npz"]
    assert all(str(out.parent / name) in printed for name in written)


def test_coding_with_a_saved_model_never_imports_scikit_learn():
    """A loaded model is data and plain numpy: scikit-learn (0.9 s to import)
    is for training; the process that codes, a command or a worker, needs
    none of it."""
    script = (
        "import sys\n"
        "from analysis import config\n"
        "from analysis.codebook import load_codebook\n"
        "from analysis.extract import extract\n"
        "from tests.conftest import make_documents\n"
        "codebook = load_codebook(config.CODEBOOK)\n"
        "claims = extract(make_documents({'t.txt': 'IPL can help rosacea.'}), codebook)\n"
        "assert len(claims) and set(claims['model_version']) != {'rules'}\n"
        "print('sklearn' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=config.REPO,
    )
    assert result.stdout.strip() == "False", result.stderr[-2000:]
