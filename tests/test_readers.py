"""Readers and article metadata: PDF and Word versions of a sample article
give its claims; metadata from a table, front matter and table columns land
in the documents table; what cannot be read is a problem row."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from analysis import config
from analysis.cache import extract_corpus
from analysis.corpus import load_corpus
from analysis.readers import READERS

SAMPLE = sorted(config.CORPUS.iterdir())[0]
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def make_pdf(text: str, path: Path, password: str = "") -> None:
    """A PDF as a word processor writes one: wrapped lines, a gap between paragraphs."""
    from fpdf import FPDF

    pdf = FPDF()
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    pdf.add_page()
    if FONT.is_file():
        pdf.add_font("DejaVu", "", str(FONT))
        pdf.set_font("DejaVu", size=11)
    else:  # the core fonts write Latin-1 only
        pdf.set_font("Helvetica", size=11)
        text = text.encode("latin-1", "replace").decode("latin-1")
    for paragraph in text.splitlines():
        if paragraph.strip():
            pdf.multi_cell(0, 5, paragraph, align="L")
            pdf.ln(4)
    pdf.output(str(path))


def make_docx(text: str, path: Path, title: str = "") -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for paragraph in text.splitlines():
        if paragraph.strip():
            document.add_paragraph(paragraph)
    document.save(str(path))


def claim_set(claims: pd.DataFrame) -> set[tuple[str, ...]]:
    keys = ["type", "category", "certainty", "procedure", "condition"]
    return {(" ".join(s.split()), *r) for s, *r in claims[["sentence", *keys]].itertuples(False)}


@pytest.fixture(scope="module")
def codebook():
    from analysis.codebook import load_codebook

    return load_codebook(config.CODEBOOK)


def test_pdf_and_docx_of_a_sample_article_give_its_claims(tmp_path, codebook):
    text = SAMPLE.read_text(encoding="utf-8")
    (tmp_path / "article.txt").write_text(text, encoding="utf-8")
    make_pdf(text, tmp_path / "article.pdf")
    make_docx(text, tmp_path / "article.docx", title="Microneedling and eczema")
    # three files, one text each: read one at a time (the corpus counts copies once)
    found = {}
    for name in ("article.txt", "article.pdf", "article.docx"):
        claims, documents, problems = extract_corpus(
            tmp_path, codebook, files=[tmp_path / name], keep_text=True
        )
        assert problems.empty, problems
        found[name] = claim_set(claims)
        if name == "article.docx":  # the title from the document's properties
            assert documents.iloc[0]["title"] == "Microneedling and eczema"
        assert len(found[name]) > 20
    assert found["article.pdf"] == found["article.txt"]
    assert found["article.docx"] == found["article.txt"]


def test_an_encrypted_pdf_is_a_problem_row(tmp_path):
    make_pdf("Microneedling can cause infection in some people.", tmp_path / "locked.pdf", "pw")
    documents, problems = load_corpus(tmp_path)
    assert documents.empty
    assert "encrypted" in problems.iloc[0]["problem"]
    assert "locked.pdf" in problems.iloc[0]["problem"]


def test_a_scanned_pdf_with_no_text_layer_is_a_problem_row(tmp_path):
    from fpdf import FPDF
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (200, 100), "white").save(picture, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(picture, x=10, y=10, w=100)
    pdf.output(str(tmp_path / "scan.pdf"))
    _, problems = load_corpus(tmp_path)
    assert "no text layer" in problems.iloc[0]["problem"]
    assert "OCR" in problems.iloc[0]["problem"]


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("broken.pdf", b"%PDF-1.4\n garbage", "not a readable PDF"),
        ("old.docx", b"\xd0\xcf\x11\xe0 an OLE file, not a zip", "not a Word .docx file"),
        ("empty.docx", b"", "not a Word .docx file"),
    ],
)
def test_damaged_files_are_problem_rows_and_the_others_are_read(tmp_path, name, data, message):
    (tmp_path / name).write_bytes(data)
    (tmp_path / "good.txt").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    documents, problems = load_corpus(tmp_path)
    assert list(documents["doc"]) == ["good.txt"]
    assert message in problems.iloc[0]["problem"]


def test_every_registered_reader_is_a_corpus_format():
    assert {".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".csv", ".jsonl"} <= set(READERS)


def test_metadata_from_a_table_front_matter_and_columns(tmp_path):
    body = "Microneedling can cause infection. It may also improve acne scars a lot."
    (tmp_path / "a.txt").write_text(body, encoding="utf-8")
    (tmp_path / "b.md").write_text(
        "---\ntitle: Peels explained\noutlet: Skin Weekly\ndate: 2023-02-01\ntags: [peel, acne]\n"
        f"---\n{body} Chemical peels too.\n",
        encoding="utf-8",
    )
    pd.DataFrame(
        {
            "id": ["r1", "r2"],
            "text": [f"{body} Lasers as well.", f"{body} And IPL."],
            "outlet": ["Daily", "Daily"],
            "kind": ["news", "news"],
        }
    ).to_csv(tmp_path / "rows.csv", index=False)
    pd.DataFrame(
        {
            "doc": ["a.txt", "b.md", "rows.csv#r2", "gone.txt"],
            "kind": ["clinic", "blog", "magazine", "news"],
            "date": ["17 May 2024", "", "not a date", "2020"],
        }
    ).to_csv(tmp_path / "metadata.csv", index=False)
    documents, problems = load_corpus(tmp_path)
    docs = documents.set_index("doc")
    assert list(docs.index) == ["a.txt", "b.md", "rows.csv#r1", "rows.csv#r2"]
    assert docs.loc["a.txt", "kind"] == "clinic" and docs.loc["a.txt", "date"] == "2024-05-17"
    assert docs.loc["b.md", "title"] == "Peels explained"
    assert docs.loc["b.md", "outlet"] == "Skin Weekly" and docs.loc["b.md", "kind"] == "blog"
    assert docs.loc["b.md", "date"] == "2023-02-01" and docs.loc["b.md", "tags"] == "peel; acne"
    assert not docs.loc["b.md", "text"].startswith("---")  # front matter is no text
    assert docs.loc["rows.csv#r1", "kind"] == "news"  # the row's own column
    assert docs.loc["rows.csv#r2", "kind"] == "magazine"  # the table wins
    assert docs.loc["rows.csv#r2", "date"] == "not a date"  # kept as written, listed
    said = " | ".join(problems["problem"])
    assert "'not a date' is not a date in a form that says which" in said
    assert "names gone.txt, which is not in the corpus" in said
    assert "metadata.csv" not in set(documents["doc"])  # the table is no article


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("2024-05-17", "2024-05-17"),
        ("2024-05-17T09:30:00+02:00", "2024-05-17"),
        ("17 May 2024", "2024-05-17"),
        ("May 17, 2024", "2024-05-17"),
        ("2024", "2024"),
        ("2024-05", "2024-05"),
        ("May", None),
        ("now", None),
        ("2024-13", None),
        ("01/02/2024", None),
        ("31/01/2024", None),
    ],
)
def test_dates_are_read_by_one_rule_and_nothing_is_guessed(value, read):
    from analysis.metadata import normalise_dates

    record = {"doc": "a.txt", "date": value}
    problems = normalise_dates(record)
    if read is None:
        assert record["date"] == value and len(problems) == 1  # kept as written, listed
        assert "kept as written" in problems[0].problem
    else:
        assert record["date"] == read and not problems


def test_broken_front_matter_is_listed_and_the_text_kept(tmp_path):
    (tmp_path / "a.md").write_text(
        "---\ntitle: [unclosed\n---\nMicroneedling can cause infection in some people.\n",
        encoding="utf-8",
    )
    documents, problems = load_corpus(tmp_path)
    assert len(documents) == 1 and "Microneedling" in documents.iloc[0]["text"]
    assert "front matter is not YAML" in problems.iloc[0]["problem"]


def test_a_metadata_table_without_a_document_column_is_refused(tmp_path):
    from analysis.errors import CorpusError

    (tmp_path / "a.txt").write_text("Microneedling can cause infection in some people.")
    (tmp_path / "metadata.csv").write_text("article,kind\na.txt,news\n")
    with pytest.raises(CorpusError, match="add one of doc, file, path"):
        load_corpus(tmp_path)


def test_hidden_folders_are_not_read(tmp_path):
    (tmp_path / "a.txt").write_text("Microneedling can cause infection in some people.")
    (tmp_path / ".fetch").mkdir()
    (tmp_path / ".fetch" / "problems.csv").write_text("doc,problem\nx,y\n")
    documents, problems = load_corpus(tmp_path)
    assert list(documents["doc"]) == ["a.txt"] and problems.empty


def test_a_docx_zip_bomb_is_refused_by_what_it_inflates_to(tmp_path, monkeypatch):
    """Counted by inflating a chunk at a time: the sizes a zip's headers
    declare may lie. The cap is lowered so that 40 MB (40 kB packed) is the bomb."""
    import zipfile

    from analysis import config

    monkeypatch.setattr(config, "MAX_UNPACKED_BYTES", 10_000_000)
    with zipfile.ZipFile(tmp_path / "bomb.docx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"<" * 40_000_000)
    (tmp_path / "good.txt").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    documents, problems = load_corpus(tmp_path)
    assert list(documents["doc"]) == ["good.txt"]
    assert (
        "unpacks to over 10,000,000 bytes, the limit (a zip bomb?)" in problems.iloc[0]["problem"]
    )
