"""Bad input never sinks a batch: every problem gets a row that names the
file and the problem; everything that is fine is still processed."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import config
from analysis.cli import main
from analysis.codebook import CodebookError, load_codebook
from analysis.corpus import CorpusError, decode, load_corpus
from analysis.extract import extract
from analysis.notebook import check_pair
from analysis.report import build_reports
from tests.conftest import make_documents

# Where processes can be read (Linux): which of a run's processes outlive it.
PROC = Path("/proc/self/environ").exists()
ARTICLE = "Chemical peels can fade melasma. They may cause redness and peeling in some people.\n"


def bad_corpus(root: Path) -> dict[str, str]:
    """The sample articles plus one file or row per bad case; returns
    {name: the words its problem must contain}."""
    shutil.copytree(config.CORPUS, root)
    first = sorted(config.CORPUS.iterdir())[0]
    cases = {}

    def add(name: str, data: bytes | str, expect: str) -> None:
        path = root / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        cases[name] = expect

    add("empty.txt", b"", "empty")
    add("binary.txt", bytes(range(256)) * 40, "binary")
    add("bom.txt", b"\xef\xbb\xbf" + ARTICLE.encode(), "")
    add("utf16.txt", ARTICLE.replace("can", "\u201ccan\u201d").encode("utf-16"), "")
    add(
        "cp1252.txt",
        "IPL \u201ccan\u201d help rosacea \u2014 it may cause swelling.".encode("cp1252"),
        "decoded as",
    )
    add(
        "latin1.txt",
        "Le peeling chimique am\xe9liore la peau du visage.".encode("latin-1"),
        "decoded as",
    )
    add(
        "mojibake.txt",
        "The laser\u00e2\u20ac\u2122s results can smooth acne scars.",
        "mojibake repaired",
    )
    add("no-sentence.txt", "12 34 56 -- ## !!", "no sentence")
    add("duplicate.txt", first.read_bytes(), "same text as")
    add(
        "page.html",
        "<html><head><style>p{color:red}</style><script>var tracking = 1;</script></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/shop'>Shop</a></nav><article>"
        + "<p>Dermaplaning removes dead skin cells and leaves the skin smoother. "
        "Some people notice mild redness for a day after the treatment.</p>"
        * 3
        + "</article><footer>Cookie settings</footer></body></html>",
        "",
    )
    add(
        "rows.jsonl",
        json.dumps({"id": "ok", "text": ARTICLE.replace("melasma", "sun spots")})
        + "\n{not json\n"
        + json.dumps({"id": "blank", "text": ""})
        + "\n",
        "",
    )
    cases["rows.jsonl#2"] = "not JSON"
    cases["rows.jsonl#blank"] = "empty"
    add("notext.csv", "id,html\n1,<p>hi</p>\n", "no text column")
    add("quoting.csv", 'id,text\n1,"LED therapy can calm redness."\n2,"unterminated, quote\n', "")
    cases["quoting.csv#3"] = "rest of file skipped"
    (root / "broken.txt").symlink_to(root / "missing-target.txt")
    cases["broken.txt"] = "broken link"
    (root / "passwd.txt").symlink_to("/etc/passwd")
    cases["passwd.txt"] = "outside the corpus"
    return cases


def test_bad_files_are_listed_and_the_rest_is_read(tmp_path):
    cases = bad_corpus(tmp_path / "corpus")
    docs, problems = load_corpus(tmp_path / "corpus")
    listed = problems.groupby("doc")["problem"].agg(" | ".join).to_dict()
    for name, expect in cases.items():
        if expect:
            assert name in listed, f"{name} not listed"
            assert expect in listed[name], (name, listed[name])
    read = set(docs["doc"])
    for good in (
        "bom.txt",
        "utf16.txt",
        "cp1252.txt",
        "latin1.txt",
        "mojibake.txt",
        "page.html",
        "rows.jsonl#ok",
        "quoting.csv#1",
    ):
        assert good in read, good
    text = docs.set_index("doc")["text"]
    assert "\u201ccan\u201d" in text["cp1252.txt"] and "am\xe9liore" in text["latin1.txt"]
    assert "laser\u2019s results" in text["mojibake.txt"]
    assert "tracking" not in text["page.html"] and "Shop" not in text["page.html"]
    assert not text["bom.txt"].startswith("\ufeff")
    assert "duplicate.txt" not in read


@pytest.mark.slow
def test_bad_corpus_runs_through_the_batch_with_clean_counts(tmp_path):
    bad_corpus(tmp_path / "corpus")
    run = build_reports(corpus=tmp_path / "corpus", out=tmp_path / "out")
    assert not len(run.failed), run.failed.to_string()
    clean = extract(load_corpus(config.CORPUS)[0], load_codebook(config.CODEBOOK))
    claims = pd.read_parquet(tmp_path / "out" / "data" / "claims.parquet")
    sample = claims[claims["doc"].isin(set(clean["doc"]))].reset_index(drop=True)
    pd.testing.assert_frame_equal(sample, clean.reset_index(drop=True), check_dtype=False)
    overview = (tmp_path / "out" / "overview.html").read_text()
    index = (tmp_path / "out" / "index.html").read_text()
    for name in ("empty.txt", "passwd.txt", "duplicate.txt", "notext.csv"):
        assert name in overview and name in index


@pytest.mark.slow
def test_a_large_file_is_read_without_blowing_memory(tmp_path):
    """Over the per-document limit, a 50 MiB file is skipped unread; with
    the limit raised, it is read in a few times its size."""
    (tmp_path / "big.txt").write_text(ARTICLE * (50 * 2**20 // len(ARTICLE)))
    (tmp_path / "small.txt").write_text(ARTICLE)
    tracemalloc.start()
    docs, problems = load_corpus(tmp_path)
    unread = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    raised, _ = load_corpus(tmp_path, limits=config.Limits(document_chars=60_000_000))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert list(docs["doc"]) == ["small.txt"]
    assert "too large to be one article" in problems.set_index("doc").loc["big.txt", "problem"]
    assert "--max-document-mb" in problems.set_index("doc").loc["big.txt", "problem"]
    assert unread < 8 * 2**20  # the 50 MiB were never read
    assert len(raised) == 2
    assert peak < 6 * 50 * 2**20, f"peak {peak / 2**20:.0f} MiB for a 50 MiB file"


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=3000))
def test_any_bytes_decode_or_give_a_corpus_error(data):
    try:
        text, repairs = decode(data, Path("x.txt"))
    except CorpusError as exc:
        assert "x.txt" in str(exc)
    else:
        assert isinstance(text, str) and isinstance(repairs, list)


WORDS = st.sampled_from(
    [
        "IPL",
        "may",
        "not",
        "reduce",
        "redness",
        "rosacea",
        ".",
        "?",
        "\n",
        ":",
        "- ",
        "can",
        "cause",
        "scarring",
        "acne scars",
        "laser",
        "help",
        ",",
        "some studies suggest",
        "the",
        "References",
        "é",
        "\u201c",
        "  ",
        "\t",
        "eczema",
        "microneedling",
        "is not a cure",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(st.text(max_size=400), st.lists(WORDS, max_size=80).map(" ".join)))
def test_extractor_never_raises_and_offsets_hold(codebook, text):
    claims = extract(make_documents({"t.txt": text}), codebook)
    for row in claims.itertuples():
        assert text[row.start : row.end] == row.sentence
        assert row.start <= row.cue_start < row.cue_end <= row.end


def test_duplicate_key_is_refused_with_its_line(tmp_path):
    text = config.CODEBOOK.read_text().replace(
        "  rosacea:\n", "  rosacea:\n    label: Rosacea\n    label: Rosacea again\n", 1
    )
    (tmp_path / "c.yml").write_text(text)
    with pytest.raises(CodebookError, match=r"duplicate key 'label'.*line \d+"):
        load_codebook(tmp_path / "c.yml")


@pytest.mark.parametrize(
    "cue",
    [
        "(\\\\w+\\\\s?)+\\\\$",  # over words: the fixed crafted lines catch it
        "(?:\\\\d+[.,]?\\\\d*)+\\\\s*(?:mg|%)",  # over digits: only lines of digits do
        "(?:[-+]+\\\\s?)*=",  # over punctuation
        "\\\\bup\\\\s+to\\\\s+{nested}",  # hidden in a macro
    ],
)
def test_backtracking_pattern_is_refused_by_name(tmp_path, cue):
    """Each cue runs, macros expanded, over lines built from its own
    characters: nested repetition over digits passed a check made of words
    and then took 36 s on a two-line article."""
    import time

    text = config.CODEBOOK.read_text().replace('- "\\\\banti-?inflammatory\\\\b"', f'- "{cue}"', 1)
    text = text.replace("macros:\n", 'macros:\n  nested: "(?:\\\\d+,?)+\\\\s*%"\n', 1)
    (tmp_path / "c.yml").write_text(text)
    start = time.monotonic()
    with pytest.raises(CodebookError, match=r"inflammation\.cues\[1\]: pattern backtracks"):
        load_codebook(tmp_path / "c.yml")
    assert time.monotonic() - start < 20


def checked_with(monkeypatch, tmp_path: Path, step: str) -> Path:
    """A copy of the shipped codebook (not cached yet), whose pattern check
    runs ``step`` in its child as the second pattern starts."""
    from analysis import codebook as module

    probe = module._PROBE.replace("flush=True)\n", f"flush=True)\n    i == 1 and {step}\n", 1)
    assert probe != module._PROBE
    monkeypatch.setattr(module, "_PROBE", probe)
    (tmp_path / "c.yml").write_bytes(config.CODEBOOK.read_bytes())
    return tmp_path / "c.yml"


def test_a_pattern_kept_waiting_for_a_core_is_not_taken_for_a_backtracking_one(
    tmp_path, monkeypatch
):
    """The check limits the processor time a pattern uses, not the clock: on
    a busy machine (tests beside a report's kernels and the folds' workers)
    the shipped codebook's largest pattern, 0.07 s alone, once took over
    0.5 s of the clock and the codebook was refused. Here the checking child
    sleeps 1.5 s as a pattern starts: by the clock it backtracks, by the
    processor time it does not."""
    path = checked_with(monkeypatch, tmp_path, "__import__('time').sleep(1.5)")
    start = time.monotonic()
    load_codebook(path, model=None)
    assert time.monotonic() - start > 1.5  # the child did wait


def test_a_check_that_dies_on_a_pattern_names_it(tmp_path, monkeypatch):
    path = checked_with(monkeypatch, tmp_path, "__import__('os')._exit(3)")
    start = time.monotonic()
    with pytest.raises(CodebookError, match=r"c\.yml: \S+\[\d+\]: the process checking .* code 3"):
        load_codebook(path, model=None)
    assert time.monotonic() - start < 5  # at once, not after a time limit


def test_unknown_pair_lists_the_valid_ids():
    with pytest.raises(ValueError, match=r"unknown procedure 'botox'; valid ids: .*microneedling"):
        check_pair("botox", "")
    with pytest.raises(ValueError, match=r"unknown condition 'acne_scar'; valid ids: .*acne_scars"):
        check_pair("laser", "acne_scar")
    with pytest.raises(TypeError, match="parameter procedure must be a string"):
        check_pair(3, "")


@pytest.mark.slow
def test_a_killed_run_leaves_the_previous_output_intact(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(400):
        for src in config.CORPUS.iterdir():
            (corpus / f"{i:03d}_{src.name}").write_text(f"Copy {i}.\n" + src.read_text())
    out = tmp_path / "claims.parquet"
    analysis = [sys.executable, "-m", "analysis.cli", "extract", str(corpus), "--out", str(out)]
    subprocess.run([*analysis[:4], str(config.CORPUS), "--out", str(out)], check=True)
    before = out.read_bytes()
    # its coding workers too: they outlived a kill -9, waiting for work forever
    with marked_run() as (mark, env):
        proc = subprocess.Popen(
            analysis, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(4)
        assert proc.poll() is None, "the run ended before it could be killed; enlarge the corpus"
        assert not PROC or len(marked_processes(mark)) >= 2  # the run and its coding workers
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert out.read_bytes() == before
        assert len(pd.read_parquet(out)) > 0
        assert outlived(mark) == []


def test_lone_surrogates_and_names_that_are_not_utf8_are_repaired(tmp_path, capsys):
    """Half an emoji in a scraped row and a Latin-1 file name are repaired
    and reported; every other document is still extracted and written."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "rows.jsonl").write_text(
        '{"id": "r1", "text": "Microneedling can cause redness \\ud83d in rosacea."}\n'
    )
    name = os.fsdecode(b"caf\xe9.txt")
    (corpus / name).write_text("Lasers can cause swelling in rosacea.\n")
    (corpus / "good.txt").write_text("IPL can cause blistering.\n")
    out = tmp_path / "claims.csv"
    assert main(["extract", str(corpus), "--out", str(out)]) == 0
    claims = pd.read_csv(out)
    assert {"good.txt", "caf\ufffd.txt"} <= set(claims["doc"])
    assert claims["sentence"].str.contains("\ufffd").any()
    err = capsys.readouterr().err
    assert "lone surrogates" in err and "not UTF-8" in err
    assert main(["explain", str(corpus)]) == 0


def test_sentence_splitting_reads_each_character_a_bounded_number_of_times(monkeypatch):
    """A long line whose end marks are followed by lower case (chat or
    lower-cased text) is split in linear time: the characters the splitter
    reads grow with the line, not with its square."""
    from analysis import segment

    scanned = []
    real = segment.re.search

    def counting(pattern, string, *args, **kwargs):
        scanned.append(len(string))
        return real(pattern, string, *args, **kwargs)

    monkeypatch.setattr(segment.re, "search", counting)
    for n in (20_000, 80_000):
        scanned.clear()
        segment.split_line(("it works. so does this. " * n)[:n])
        assert sum(scanned) <= 60 * n, (n, sum(scanned))


def test_explain_makes_control_characters_visible(tmp_path, capsys):
    doc = tmp_path / "a.txt"
    doc.write_text("Microneedling can cause redness \x1b[2J\x1b]0;x\x07 in rosacea.\n")
    assert main(["explain", str(doc)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\u001b[2J" in out
    # file names reach problems and error messages: they are made visible too
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "\x1b[2Jempty.txt").write_text("")
    (corpus / "ok.txt").write_text("Microneedling can cause redness.\n")
    assert main(["extract", str(corpus), "--out", str(tmp_path / "c.csv")]) == 0
    assert main(["explain", str(tmp_path / "\x1b]0;x\x07missing.txt")]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "\\u001b[2Jempty.txt" in err


def test_the_reader_lists_what_it_leaves_and_skips_what_is_not_an_article(tmp_path):
    import os

    article = "Microneedling can cause infection in some people."
    (tmp_path / "a.txt").write_text(article)
    (tmp_path / "B.TXT").write_text(article + " Really.")
    (tmp_path / "notes.rtf").write_text("{\\rtf1 hello}")
    (tmp_path / "book.epub").write_bytes(b"PK")
    (tmp_path / "page_files").mkdir()  # a page saved from a browser keeps its parts here
    (tmp_path / "page_files" / "x.html").write_text(f"<p>{article}</p>")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "a.txt").write_text(article + " Copy.")
    report = tmp_path / "reports"  # a report folder written into the corpus
    report.mkdir()
    (report / "provenance.json").write_text("{}")
    (report / "overview.html").write_text(f"<p>{article} Twice.</p>")
    (tmp_path / "reports.work").mkdir()
    (tmp_path / "reports.work" / "o.txt").write_text(article + " Thrice.")
    os.mkfifo(tmp_path / "pipe.txt")  # reading it would hang the run
    documents, problems = load_corpus(tmp_path)
    assert sorted(documents["doc"]) == ["B.TXT", "a.txt"]
    said = dict(zip(problems["doc"], problems["problem"], strict=True))
    assert ".rtf format is not read" in said["notes.rtf"]
    assert ".epub format is not read" in said["book.epub"]
    assert "not a regular file" in said["pipe.txt"]
    assert len(problems) == 3


def test_table_corpora_match_text_columns_in_any_case_and_keep_every_row(tmp_path):
    big = "Microneedling can cause infection. " * 6000  # 210 kB in one cell
    rows = [
        {"ID": "1", "Full_Text": "Microneedling can cause infection in some people."},
        {"ID": "1", "Full_Text": "Lasers may cause redness and swelling for days."},
        {"ID": "2", "Full_Text": big},
        {"ID": "3", "Full_Text": "IPL can help rosacea, and it may cause swelling."},
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "rows.csv", index=False)
    documents, problems = load_corpus(tmp_path)
    assert list(documents["doc"]) == ["rows.csv#1", "rows.csv#1~2", "rows.csv#2", "rows.csv#3"]
    assert "repeats the id '1'" in problems.iloc[0]["problem"]
    assert len(documents.loc[documents["doc"] == "rows.csv#2", "text"].iloc[0]) == len(big)


def test_copies_that_differ_in_line_ends_or_spacing_count_once(tmp_path):
    text = "Microneedling can cause infection.\nIt may improve acne scars.\n"
    (tmp_path / "a.txt").write_text(text)
    (tmp_path / "b.txt").write_bytes(text.replace("\n", "\r\n").encode() + b"\r\n\r\n")
    (tmp_path / "c.txt").write_text(text.replace(" ", "  "))
    documents, problems = load_corpus(tmp_path)
    assert list(documents["doc"]) == ["a.txt"]
    assert set(problems["action"]) == {"skipped: counted once"} and len(problems) == 2


def test_an_output_that_cannot_be_written_is_refused_before_the_work(tmp_path, capsys):
    from analysis.cli import main

    (tmp_path / "afile").write_text("")
    code = main(["extract", str(config.CORPUS), "--out", str(tmp_path / "afile" / "c.csv")])
    assert code == 2 and "cannot make the output folder" in capsys.readouterr().err
    code = main(["extract", str(config.CORPUS), "--out", str(tmp_path)])
    assert code == 2 and "unknown table format" in capsys.readouterr().err
    code = main(["report", "--out", str(tmp_path / "afile" / "r")])
    assert code == 2 and "cannot make the output folder" in capsys.readouterr().err


def test_a_report_folder_is_held_by_one_run(tmp_path):
    import subprocess

    from analysis.errors import ReportError
    from analysis.report import folder_lock, work_dir

    out = tmp_path / "reports"
    other = subprocess.Popen(["sleep", "30"])
    try:
        lock = work_dir(out) / "lock"
        lock.parent.mkdir(parents=True)
        lock.write_text(str(other.pid))
        held = f"another report run \\(process {other.pid}\\)"
        with pytest.raises(ReportError, match=held), folder_lock(out):
            pass
    finally:
        other.kill()
        other.wait()
    with folder_lock(out):  # a lock left by a run that died is taken over
        assert lock.read_text() != str(other.pid)
    assert not lock.exists()


@pytest.mark.slow
def test_pages_of_pairs_that_left_the_corpus_are_removed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("IPL can help rosacea. IPL can cause swelling.\n")
    (corpus / "b.txt").write_text("Lasers can fade acne scars. Lasers may cause redness.\n")
    out = tmp_path / "out"
    first = build_reports(corpus=corpus, out=out, min_claims=1)
    assert (out / "deep-dive_laser_acne-scars.html").is_file() and not len(first.failed)
    (corpus / "b.txt").unlink()
    second = build_reports(corpus=corpus, out=out, min_claims=1)
    assert not (out / "deep-dive_laser_acne-scars.html").exists()
    assert not list((out / "data").glob("deep-dive_laser_*"))
    assert second.provenance["stale_pages_removed"] >= 1


PAGE = "<html><head><title>Peels</title></head><body><article>{}</article></body></html>"
PARAGRAPH = "<p>Chemical peels can fade melasma. They may cause redness in some people.</p>"


def html_bombs() -> dict[str, str]:
    """Pages built to stall an article extractor, at sizes that take it
    seconds (the issue's set kept `extract` busy for 20 minutes)."""
    return {
        "repeated.html": PAGE.format(PARAGRAPH * 40_000),  # 3 MB of paragraphs
        "links.html": PAGE.format("<a href='/x'>a link</a> " * 150_000),
        "wide.html": PAGE.format("<table><tr>" + "<td>x</td>" * 150_000 + "</tr></table>"),
        "deep.html": PAGE.format("<div>" * 50_000 + PARAGRAPH + "</div>" * 50_000),
    }


@pytest.mark.slow
def test_html_bombs_are_cut_off_by_the_time_budget_and_the_rest_is_read(tmp_path):
    for name, page in html_bombs().items():
        (tmp_path / name).write_text(page)
    (tmp_path / "article.html").write_text(PAGE.format(PARAGRAPH))
    start = time.monotonic()
    docs, problems = load_corpus(tmp_path, limits=config.Limits(document_seconds=1.0))
    took = time.monotonic() - start
    assert "article.html" in set(docs["doc"])
    said = dict(zip(problems["doc"], problems["problem"], strict=True))
    assert "took over 1 s" in said["repeated.html"]
    assert "--document-seconds" in said["repeated.html"]
    assert took < 4 * (1.0 + 1), f"{took:.0f} s for {len(html_bombs())} bombs of 1 s each"


def test_markup_over_its_cap_is_skipped_and_scripts_do_not_count(tmp_path):
    script = "<script>var x = '" + "y" * 3_000_000 + "';</script>"
    (tmp_path / "scripts.html").write_text(
        PAGE.format(script + PARAGRAPH + "<style>p{}</style><!-- a comment -->")
    )
    (tmp_path / "markup.html").write_text(PAGE.format(PARAGRAPH * 6_000))
    docs, problems = load_corpus(tmp_path, limits=config.Limits(document_chars=100_000))
    assert list(docs["doc"]) == ["scripts.html"]
    assert docs["text"].iloc[0].startswith("Chemical peels can fade melasma.")
    said = problems.set_index("doc").loc["markup.html", "problem"]
    assert "characters of markup (scripts and styles left out), over the limit of 400,000" in said


def test_a_text_over_the_document_limit_is_skipped_and_named(tmp_path):
    rows = [{"id": "long", "text": ARTICLE * 1_000}, {"id": "short", "text": ARTICLE}]
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    docs, problems = load_corpus(tmp_path, limits=config.Limits(document_chars=10_000))
    assert list(docs["doc"]) == ["rows.jsonl#short"]
    said = problems.set_index("doc").loc["rows.jsonl#long", "problem"]
    assert f"{len(ARTICLE) * 1_000:,} characters of text, over the limit of 10,000" in said


def test_a_folder_tree_1200_levels_deep_is_walked_without_recursion(tmp_path):
    """rglob recursed once per level and ended in RecursionError; the walk
    keeps its own stack and lists what lies too deep."""
    folder = tmp_path
    for _ in range(1200):
        folder = folder / "d"
        folder.mkdir()
    (folder / "deep.txt").write_text(ARTICLE)
    (tmp_path / "top.txt").write_text(ARTICLE.replace("melasma", "acne scars"))
    (tmp_path / "linked").symlink_to(tmp_path / "d", target_is_directory=True)
    try:
        docs, problems = load_corpus(tmp_path)
    finally:  # shutil.rmtree, as pytest cleans up, recurses per level too
        (folder / "deep.txt").unlink()
        while folder != tmp_path:
            folder.rmdir()
            folder = folder.parent
    assert list(docs["doc"]) == ["top.txt"]
    said = " ".join(problems["problem"])
    assert f"a folder over {config.MAX_FOLDER_DEPTH} levels deep; not read" in said
    assert "a link to a folder; not followed" in said


@contextlib.contextmanager
def marked_run() -> Iterator[tuple[str, dict[str, str]]]:
    """A mark and an environment carrying it, for a run whose processes are
    to be found (:func:`marked_processes`); any left after the block are killed."""
    name = "CLAIMSCOPE_TEST_RUN"
    value = f"{os.getpid()}-{time.monotonic_ns()}"
    mark = f"{name}={value}"
    try:
        yield mark, {**os.environ, name: value}
    finally:
        for pid in marked_processes(mark):
            os.kill(pid, signal.SIGKILL)


def outlived(mark: str, seconds: float = 20) -> list[int]:
    """The marked processes still there after ``seconds`` (fewer if all end)."""
    deadline = time.monotonic() + seconds
    while marked_processes(mark) and time.monotonic() < deadline:
        time.sleep(0.5)
    return marked_processes(mark)


def marked_processes(mark: str) -> list[int]:
    """Processes whose environment carries ``mark`` (they descend from the
    run that was given it, whatever they were reparented to)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
@pytest.mark.skipif(not PROC, reason="reads /proc")
def test_after_kill_9_of_a_report_its_workers_and_kernels_end(tmp_path):
    """They stayed alive for minutes, still writing into the output folder."""
    out = tmp_path / "reports"
    with marked_run() as (mark, env):
        proc = subprocess.Popen(
            [sys.executable, "-m", "analysis.cli", "report", "--out", str(out), "--jobs", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while not any(
            b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes()
            for pid in marked_processes(mark)
            if Path(f"/proc/{pid}/cmdline").exists()
        ):
            assert proc.poll() is None and time.monotonic() < deadline, "no kernel started"
            time.sleep(0.2)
        assert len(marked_processes(mark)) >= 3  # the run, its workers, their kernels
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert outlived(mark) == []


@pytest.mark.slow
def test_a_large_jsonl_is_read_a_row_at_a_time(tmp_path):
    """A 96 MB .jsonl peaked at 3.3 GB: the lines were listed, the file's
    bytes kept beside its text. Here 20 MB of rows, each a document,
    walked without holding them, peak under 3 times the file (4.6 before)."""
    from analysis.corpus import iter_documents

    row = {"id": "", "text": ARTICLE * 12}
    with (tmp_path / "rows.jsonl").open("w") as handle:
        for i in range(20_000_000 // len(json.dumps(row))):
            handle.write(json.dumps({**row, "id": f"r{i}", "text": f"{i}. {row['text']}"}) + "\n")
    size = (tmp_path / "rows.jsonl").stat().st_size
    tracemalloc.start()
    count = sum(1 for _ in iter_documents(tmp_path, []))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 20_000_000 // len(json.dumps(row))
    assert peak < 3 * size, f"peak {peak / 2**20:.0f} MiB for a {size / 2**20:.0f} MiB file"


def test_a_full_disk_is_a_message_naming_the_file_and_the_last_output_stays(
    tmp_path, capsys, monkeypatch
):
    import errno

    from analysis.cli import main

    out = tmp_path / "claims.csv"
    assert main(["extract", str(config.CORPUS), "--out", str(out)]) == 0
    before = out.read_bytes()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    assert main(["extract", str(config.CORPUS), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out}: cannot be written (No space left on device)" in err
    assert "previous version is left as it was" in err and "Traceback" not in err
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["claims.csv"]  # no temporary file left


# ------------------------------------------------------------- round two


def test_a_damaged_gold_line_is_named_by_file_and_line(tmp_path, capsys):
    from analysis.cli import main

    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        '{"doc": "a.txt", "sentence": "x", "type": "benefit", "category": "efficacy"}\n'
        '{"doc": "a.txt", "sentence": "y", "type": \n'
    )
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text("x. y.\n")
    assert main(["validate", "--gold", str(gold), "--corpus", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert f"{gold}: line 2 is not JSON" in err and "Traceback" not in err


def test_training_on_one_article_says_what_is_missing(tmp_path, capsys):
    from analysis.cli import main

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text("Microneedling can cause redness.\n")
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        '{"doc": "a.txt", "sentence": "Microneedling can cause redness.", '
        '"type": "risk", "category": "side_effects"}\n'
    )
    args = ["train", str(gold), "--corpus", str(tmp_path / "c"), "--out", str(tmp_path / "m")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "at least two coded articles" in err and "Traceback" not in err


@pytest.mark.parametrize("where", ["same", "inside", "above"])
def test_a_report_folder_cannot_eat_its_corpus(tmp_path, capsys, where):
    from analysis.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    article = corpus / "deep-dive_x.html"  # named like a page a run would clean up
    article.write_text("<p>Microneedling can cause redness.</p>")
    out = {"same": corpus, "inside": corpus / "reports", "above": tmp_path}[where]
    assert main(["report", "--corpus", str(corpus), "--out", str(out)]) == 2
    assert "outside the corpus" in capsys.readouterr().err
    assert article.is_file() and not (corpus / "reports").exists()


def test_two_comparisons_with_one_page_name_are_refused(tmp_path, capsys):
    from analysis.cli import main

    code = main(["report", "--out", str(tmp_path / "r"), "--by", "Kind", "--by", "kind"])
    assert code == 2 and "would both be compare_kind.html" in capsys.readouterr().err


def test_a_pdf_bomb_a_workbook_bomb_and_a_broken_docx_cost_a_problem_row(tmp_path, monkeypatch):
    """A doubly deflated PDF stream, a workbook whose parts inflate past the
    cap and a truncated Word file: each a named problem (or error), the
    rest of the corpus read."""
    import zipfile
    import zlib

    from analysis import tables
    from analysis.errors import TableFormatError

    monkeypatch.setattr(config, "MAX_UNPACKED_BYTES", 5_000_000)
    corpus = tmp_path / "c"
    corpus.mkdir()
    stream = zlib.compress(zlib.compress(b"\0" * 40_000_000, 9), 9)  # 40 MB in a few kB
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter [/FlateDecode /FlateDecode] >>\nstream\n" % len(stream)
        + stream
        + b"\nendstream",
    ]
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    (corpus / "bomb.pdf").write_bytes(bytes(pdf))
    (corpus / "cut.docx").write_bytes(
        (config.CORPUS / "000_4e9ca5f51fcb84d5.txt").read_bytes()[:10] + b"PK\x03\x04junk"
    )
    (corpus / "fine.txt").write_text("Microneedling can cause redness in some people.\n")
    documents, problems = load_corpus(corpus)
    assert documents["doc"].tolist() == ["fine.txt"]
    said = dict(zip(problems["doc"], problems["problem"], strict=True))
    assert "inflate to over 5,000,000 bytes" in said["bomb.pdf"]
    assert "not a Word .docx file" in said["cut.docx"]
    # a coding sheet whose parts inflate past the cap is refused before it is parsed
    monkeypatch.setattr(tables, "MAX_WORKBOOK_BYTES", 1_000_000)
    sheet = tmp_path / "sheet.xlsx"
    with zipfile.ZipFile(sheet, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", b"<sst>" + b"a" * 5_000_000 + b"</sst>")
    with pytest.raises(TableFormatError, match="sheet.xlsx: unpacks to over 1,000,000 bytes"):
        tables.read_table(sheet)


def test_a_qdpx_selection_is_a_sentence_never_a_copy_of_its_source(tmp_path, codebook):
    import zipfile

    from analysis.errors import QdpxError
    from analysis.validation.qdpx import import_qdpx

    source = "x" * 100_000
    ns = "urn:QDA-XML:project:1.0"
    selections = "".join(
        f'<PlainTextSelection guid="s{i}" startPosition="0" endPosition="{len(source)}">'
        f'<Coding guid="c{i}"><CodeRef targetGUID="A"/></Coding></PlainTextSelection>'
        for i in range(50)
    )
    project = (
        f'<?xml version="1.0" encoding="utf-8"?><Project xmlns="{ns}" name="p">'
        '<CodeBook><Codes><Code guid="A" name="efficacy" isCodable="true"/></Codes></CodeBook>'
        f'<Sources><TextSource guid="T" name="a.txt" plainTextPath="internal://T.txt">{selections}'
        "</TextSource></Sources></Project>"
    )
    path = tmp_path / "p.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.qde", project)
        z.writestr("sources/T.txt", source)
    with pytest.raises(QdpxError, match="spans 100,000 characters; a coded claim is one sentence"):
        import_qdpx(path, codebook)
    entity = tmp_path / "e.qdpx"
    bomb = '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">]><Project>&a;</Project>'
    with zipfile.ZipFile(entity, "w") as z:
        z.writestr("project.qde", bomb)
    with pytest.raises(QdpxError, match="not a REFI-QDA project"):
        import_qdpx(entity, codebook)
