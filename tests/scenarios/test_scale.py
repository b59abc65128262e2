"""Speed and scale without changing a single claim: the cue prefilter, the
per-document cache, incremental reports, bounded evidence and the Dask
engine. Speed itself is measured by benchmarks/extraction.py, not here."""

from __future__ import annotations

import copy
import dataclasses
import shutil

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import cache as cache_module
from analysis import config
from analysis import report as report_module
from analysis.cache import extract_corpus
from analysis.corpus import load_corpus
from analysis.extract import extract
from analysis.prefilter import Prefilter, literal_factors, literal_heads
from analysis.report import build_reports
from analysis.summary import evidence, evidence_datatable
from analysis.tables import query
from tests.conftest import SHARED, make_documents


class NoPrefilter(Prefilter):
    """Every pattern runs everywhere, as without the prefilter."""

    def hits(self, text):
        return None


def reference_vectorizers(model):
    """The model with scikit-learn's own vectorizers, given its vocabularies."""
    from analysis.coding.estimator import vectorizers

    coder = copy.copy(model.coder)
    fast = {name: step for name, step, _, _ in coder.steps_}
    steps = []
    for name, transformer, column, weight in vectorizers(coder):
        transformer.vocabulary_ = fast[name].vocabulary_
        if hasattr(fast[name], "feature_names_"):
            transformer.feature_names_ = fast[name].feature_names_
        elif fast[name].idf_ is not None:
            transformer.idf_ = fast[name].idf_
        steps.append((name, transformer, column, weight))
    coder.steps_ = steps
    return dataclasses.replace(model, coder=coder)


@pytest.fixture(scope="module")
def unfiltered(codebook):
    """The codebook with no prefilter and scikit-learn's vectorizers: the
    plain way the fast paths must agree with."""
    prefilter = NoPrefilter(*codebook.prefilter.arguments)
    model = reference_vectorizers(codebook.model) if codebook.model else None
    return dataclasses.replace(codebook, prefilter=prefilter, model=model)


@pytest.mark.parametrize(
    "pattern, heads",
    [
        (r"\b(?:stimulat|promot)\w*\s+collagen", {"stimu", "promo"}),
        (r"\b(?:cautiously\s+)?optimistic\b", {"cauti", "optim"}),
        (r"(?<![\w-])(?:kp|acne)", {"kp", "acne"}),
        (r"\w+\s+barrier", None),  # no literal start: always runs
        (r"\b(?:a|the)?\s*cure", None),  # may start with a space
        (r"\b(?:two|a\s+series\s+of)\s+sessions", None),  # "a" starts inside most words
    ],
)
def test_literal_heads(pattern, heads):
    import re

    found = literal_heads(re.compile(pattern, re.IGNORECASE))
    assert (set(found) if found is not None else None) == heads


@pytest.mark.parametrize(
    "pattern, factors",
    [
        (
            r"\b(?:is|be)\s+a\s+(?:complementary|adjunct)\s+(?:therapy|option)",
            {"complementary", "adjunct"},  # the longer of the two sets it needs
        ),
        (r"\b(?:to\s+)?rebuild\b", {"rebuild"}),
        (r"\b(?:stimulat|promot)\w*\s+collagen", {"collagen"}),
        (r"\b(?:may|can)\s+(?:\w+\s+)?(?:scar|burn)", {"scar", "burn"}),
        (r"\b(?:a|an)\s+\w+", None),  # nothing of three letters every match holds
        (r"(?:cure|x)", None),  # one alternative holds no word
    ],
)
def test_literal_factors(pattern, factors):
    import re

    found = literal_factors(re.compile(pattern, re.IGNORECASE))
    assert (set(found) if found is not None else None) == factors


def test_a_cue_without_heads_runs_only_on_a_text_holding_its_words():
    import re

    cue = re.compile(r"\b(?:two|a\s+series\s+of)\s+sessions", re.IGNORECASE)
    prefilter = Prefilter({"sessions": cue})
    text = "Plan for a series of sessions, or two sessions."
    scan = prefilter.scan(text)
    assert prefilter.candidates(scan.starts) == ["sessions"]
    found = [m.group() for m in prefilter.matches("sessions", text, scan.starts)]
    assert (
        found == [m.group() for m in cue.finditer(text)] == ["a series of sessions", "two sessions"]
    )
    assert prefilter.candidates(prefilter.scan("A series of peels, two a year.").starts) == []


def test_a_text_s_scan_answers_for_every_gated_pattern_spanned_or_not():
    """A whole text's scan keeps the places of the spanned patterns' words
    alone; asked of a part of the text, it answers for the others too, as
    a scan of that part does, and names the spanned patterns that may
    match there (a line's boilerplate)."""
    import re

    from analysis.prefilter import TextScan

    gated = {
        "swelling": re.compile(r"\bswelling\b", re.IGNORECASE),
        "redness": re.compile(r"\bredness\b", re.IGNORECASE),
    }
    text = "IPL can cause swelling. IPL can cause redness."
    for spanned in (None, frozenset({"swelling"}), frozenset()):
        prefilter = Prefilter({}, gated, spanned=spanned)
        scanned = TextScan(prefilter, text)
        for start, end in ((0, 23), (24, len(text)), (0, len(text)), (30, 40)):
            for name in gated:
                expected = prefilter.scan(text[start:end]).may(name)
                assert scanned.may(name, start, end) == expected, (spanned, name, start)
        kept = {"swelling", "redness"} if spanned is None else spanned
        assert set(scanned.spans) == kept
        for start, end in ((0, 23), (24, len(text)), (0, len(text)), (30, 40), (14, 22)):
            part = prefilter.scan(text[start:end])
            assert scanned.within(start, end) == {n for n in kept if part.may(n)}
            # asked by name, a pattern the scan keeps no places of is answered too
            assert scanned.within(start, end, gated) == {n for n in gated if part.may(n)}


def test_a_pattern_that_needs_a_digit_is_gated_by_every_digit():
    import re

    found = literal_factors(re.compile(r"\b\d+(?:[.,]\d+)?\s*%", re.IGNORECASE))
    assert found is not None and {"0", "7", "٣", "３"} <= found
    assert all(re.fullmatch(r"\d", c) for c in found)
    # a number word or a digit: "one in ten", "1 in 10"
    ratio = literal_factors(re.compile(r"\bin\s+(?:\d+|ten|twenty)\b", re.IGNORECASE))
    assert ratio is not None and {"ten", "twenty", "1", "٣"} <= ratio


@pytest.mark.parametrize("corpus", ["sample", "dev"])
def test_the_fast_paths_change_no_claim(codebook, unfiltered, corpus):
    """The prefilter (heads, required words, gates, one scan per document)
    and the fast vectorizers give the claims the plain way gives, to the
    last probability, on the sample and the 65 dev articles."""
    root = config.CORPUS if corpus == "sample" else SHARED / "annotation" / "dev" / "corpus"
    if not root.is_dir():
        pytest.skip(f"needs {root}")
    documents, _ = load_corpus(root)
    fast = extract(documents, codebook)
    assert fast["model_version"].ne("rules").all() and len(fast) > 100
    pd.testing.assert_frame_equal(fast, extract(documents, unfiltered))


TEXT = st.lists(
    st.sampled_from(
        [
            "IPL",
            "may",
            "not",
            "reduce",
            "redness",
            "İ",
            "Stimulates",
            "collagen",
            "-",
            "scars",
            "laser",
            ",",
            ".",
            "can",
            "cause",
            "infection",
            "more research",
            "is",
            "needed",
            "KP",
            # numbers, in other scripts too: "\\d" matches every decimal digit
            "40%",
            "1 in 10",
            "٣٠",
            "٪",
            "２",
            "weeks",
            "3-fold",
            "patients",
        ]
    ),
    max_size=40,
).map(" ".join)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(TEXT)
def test_prefilter_changes_no_claim_on_random_text(codebook, unfiltered, text):
    docs = make_documents({"t.txt": text})
    pd.testing.assert_frame_equal(extract(docs, codebook), extract(docs, unfiltered))


def test_a_number_in_another_script_opens_the_gate_of_a_pattern_that_needs_a_digit(
    codebook, unfiltered
):
    """A quantity needs a digit, and "\\d" matches every decimal digit: the
    prefilter gates it by all of them, not by 0-9 alone."""
    text = "Microneedling reduced acne scars by ٣٠ % in most people.\nIPL can cause swelling in ١ in ١٠ people."
    docs = make_documents({"t.txt": text})
    fast = extract(docs, codebook)
    assert {"٣٠ %", "١ in ١٠ people"} <= set(fast["quantity"])
    pd.testing.assert_frame_equal(fast, extract(docs, unfiltered))


def test_cache_gives_the_same_claims_and_extracts_only_what_changed(
    codebook, tmp_path, monkeypatch
):
    corpus = tmp_path / "corpus"
    shutil.copytree(config.CORPUS, corpus)
    fresh, documents, _ = extract_corpus(corpus, codebook)
    cached, _, _ = extract_corpus(corpus, codebook, tmp_path / "cache")
    pd.testing.assert_frame_equal(fresh, cached)

    calls = []
    real = cache_module.extract_documents
    monkeypatch.setattr(
        cache_module,
        "extract_documents",
        lambda items, *a: calls.extend(doc for doc, _ in items) or real(items, *a),
    )
    again, _, _ = extract_corpus(corpus, codebook, tmp_path / "cache")
    pd.testing.assert_frame_equal(fresh, again)
    assert calls == []  # all from the cache
    first = sorted(corpus.iterdir())[0]
    first.write_text(first.read_text() + "\nIPL can cause blistering.\n")
    changed, _, _ = extract_corpus(corpus, codebook, tmp_path / "cache")
    assert calls == [first.name]
    assert len(changed) == len(fresh) + 1


@pytest.mark.slow
def test_two_workers_give_one_worker_s_tables(codebook, tmp_path, monkeypatch):
    """A corpus large enough is coded by worker processes; the batches come
    back in corpus order, cached the same way."""
    root = SHARED / "annotation" / "dev" / "corpus"
    if not root.is_dir():
        pytest.skip(f"needs {root}")
    monkeypatch.setattr(cache_module, "BATCH", 4)  # many batches out at once
    alone = extract_corpus(root, codebook, workers=1)
    monkeypatch.setattr(config, "PARALLEL_DOCUMENTS", 10)
    together = extract_corpus(root, codebook, tmp_path / "cache", workers=2)
    for one, two in zip(alone, together, strict=True):
        pd.testing.assert_frame_equal(one, two)
    cached = extract_corpus(root, codebook, tmp_path / "cache", workers=2)
    pd.testing.assert_frame_equal(alone[0], cached[0])


def test_cache_key_follows_the_codebook(codebook, tmp_path):
    other = dataclasses.replace(codebook, sha256="0" * 64)
    assert cache_module.cache_key(codebook) != cache_module.cache_key(other)


@pytest.mark.slow
def test_reports_rerun_only_what_changed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("IPL can help rosacea. IPL can cause swelling.\n")
    # the title is the opening words: the change below leaves it as it is
    opening = "Lasers can fade acne scars in many patients, dermatologists say."
    (corpus / "b.txt").write_text(f"{opening} Lasers may cause redness.\n")
    out = tmp_path / "out"
    first = build_reports(corpus=corpus, out=out, jobs=2, min_claims=1)
    assert first.jobs["rerun"].all() and not len(first.failed)
    written = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}

    def nothing(*args, **kwargs):
        raise AssertionError("a re-run with nothing changed read or loaded this")

    with pytest.MonkeyPatch.context() as patch:  # nothing is extracted, loaded or run
        for name in ("extract_step", "load_codebook", "run_jobs", "write_index"):
            patch.setattr(report_module, name, nothing)
        second = build_reports(corpus=corpus, out=out, jobs=2, min_claims=1)
    assert not second.jobs["rerun"].any()
    assert second.jobs.drop(columns="rerun").equals(first.jobs.drop(columns="rerun"))
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == written
    (corpus / "b.txt").write_text(f"{opening} Lasers can cause blistering.\n")
    third = build_reports(corpus=corpus, out=out, jobs=2, min_claims=1)
    rerun = set(third.jobs.loc[third.jobs["rerun"], "name"])
    assert rerun == {"overview", "deep-dive_laser_general"}  # not laser x acne scars
    assert "blistering" in (out / "deep-dive_laser_general.html").read_text()
    fourth = build_reports(corpus=corpus, out=out, rebuild=True, jobs=1, min_claims=1)
    assert fourth.jobs["rerun"].all()
    evidence_files = {p.name for p in (out / "data").iterdir()}
    assert {
        "deep-dive_ipl_rosacea.evidence.csv",
        "deep-dive_ipl_rosacea.evidence.parquet",
    } <= evidence_files


def test_evidence_in_the_page_is_capped_with_the_rest_beside_it(codebook):
    claims = extract(load_corpus(config.CORPUS)[0], codebook)
    page = evidence_datatable(evidence(claims), limit=5, full="data/pair.evidence.csv")
    assert f"First 5 of {len(evidence(claims))} claims" in page
    assert 'href="data/pair.evidence.csv"' in page


@pytest.mark.slow
def test_dask_engine_gives_the_local_engine_s_claims(codebook, tmp_path):
    pytest.importorskip("distributed")
    from analysis.engine import extract_dask

    corpus = tmp_path / "corpus"
    shutil.copytree(config.CORPUS, corpus)
    shutil.copy(sorted(corpus.iterdir())[0], corpus / "zz_copy.txt")  # a duplicate
    local, documents, problems = extract_corpus(corpus, codebook)
    written, dask_problems, n_docs = extract_dask(
        corpus, codebook, tmp_path / "claims", partitions=3
    )
    parts = sorted((tmp_path / "claims").glob("part-*.parquet"))
    assert len(parts) == 3 and written == len(local) and n_docs == len(documents)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "claims"), local, check_dtype=False)
    assert sorted(map(tuple, dask_problems.to_numpy())) == sorted(map(tuple, problems.to_numpy()))
    assert "zz_copy.txt" in set(problems["doc"])
    counts = query("select count(*) as n from claims", claims=tmp_path / "claims")
    assert counts["n"].iloc[0] == len(local)


@pytest.mark.slow
def test_an_interrupted_dask_run_leaves_the_last_complete_output(codebook, tmp_path, monkeypatch):
    """Interrupting a re-run of extract --engine dask deleted the previous
    run's partitions (8 before, 0 after). New partitions now go to a folder
    beside the output, which they replace whole only once all are written."""
    pytest.importorskip("distributed")
    from analysis import engine

    corpus = tmp_path / "corpus"
    shutil.copytree(config.CORPUS, corpus)
    out = tmp_path / "claims"
    engine.extract_dask(corpus, codebook, out, partitions=3)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(before) == 3

    def interrupted(out, staging):
        assert len(list(staging.glob("part-*.parquet"))) == 3  # all written, not yet in place
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "_replace", interrupted)
    (corpus / "new.txt").write_text("IPL can cause blistering in darker skin.\n")
    with pytest.raises(KeyboardInterrupt):
        engine.extract_dask(corpus, codebook, out, partitions=3)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    monkeypatch.undo()
    written, _, n_docs = engine.extract_dask(corpus, codebook, out, partitions=3)
    assert n_docs == len(list(config.CORPUS.iterdir())) + 1
    assert "new.txt" in set(pd.read_parquet(out)["doc"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims", "corpus"]  # nothing left over

    (tmp_path / "empty").mkdir()
    written, problems, n_docs = engine.extract_dask(tmp_path / "empty", codebook, out)
    assert (written, n_docs) == (0, 0) and pd.read_parquet(out).empty


def test_a_dask_output_is_checked_before_any_work(codebook, tmp_path):
    from analysis.engine import extract_dask
    from analysis.errors import CorpusError, OutputError

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    with pytest.raises(OutputError, match=r"mine: holds notes\.txt, not only part-NNNNN"):
        extract_dask(config.CORPUS, codebook, mine)
    assert (mine / "notes.txt").exists()
    with pytest.raises(OutputError, match="is a file"):
        extract_dask(config.CORPUS, codebook, mine / "notes.txt")
    with pytest.raises(CorpusError, match="no such corpus folder"):
        extract_dask(tmp_path / "missing", codebook, tmp_path / "out")


@pytest.mark.parametrize("memory", [200_000, 50])
def test_the_fast_vectorizers_give_scikit_learn_s_matrices(codebook, monkeypatch, memory):
    """Every step of the shipped coder's features, computed from its
    vocabularies (analysis.coding.vectors), is scikit-learn's matrix to the
    last bit, batch after batch: the same indices, in the same order, and
    the same values; also when the words' character n-grams are forgotten
    and analysed again (a memory of 50 words)."""
    from analysis.coding import code_pages, read_pages, vectors
    from analysis.coding.features import page_features

    monkeypatch.setattr(vectors, "WORD_MEMORY", memory)
    documents, _ = load_corpus(config.CORPUS)
    items = list(zip(documents["doc"], documents["text"], strict=True))
    pages = code_pages(read_pages(items, codebook), codebook, ["cues"])
    table = pd.concat([page_features(page, codebook) for page in pages], ignore_index=True)
    for name, slow, column, _ in reference_vectorizers(codebook.model).coder.steps_:
        fast = vectors.from_fitted(slow)
        for start in range(0, len(table), 40):
            batch = table[column].iloc[start : start + 40]
            mine, theirs = fast.transform(batch), slow.transform(batch)
            theirs.sort_indices()
            assert mine.shape == theirs.shape and mine.dtype == theirs.dtype, name
            for part in ("indptr", "indices", "data"):
                assert (getattr(mine, part) == getattr(theirs, part)).all(), (name, part)


def test_the_fast_tokens_are_scikit_learn_s():
    """Runs of word characters are the tokens of scikit-learn's default
    pattern, in every script and beside every mark (random texts too)."""
    import random

    from analysis.coding.vectors import TOKEN, WORD_RUN

    texts = [
        "a IPL's 2x-3x re_surfacing é ü ß İstanbul 皮肤 a1 _ __ x y2 ٣٤ no.5",
        "don't—it’s\u00a0fine\u200bok 10%/20 e.g. i.e. C++ 4/5 …",
    ]
    rng = random.Random(0)
    alphabet = "aZ_9 .,'’-\u00a0\u200bé皮٣\n\t"
    texts += ["".join(rng.choice(alphabet) for _ in range(60)) for _ in range(500)]
    for text in texts:
        assert WORD_RUN.findall(text) == TOKEN.findall(text), text
