from __future__ import annotations

from analysis.segment import segment_document, split_line


def test_split_respects_abbreviations_and_initials():
    line = "Dr. Smith uses IPL, e.g. for rosacea. It works. J. Doe agrees! Does it?"
    parts = [line[s:e] for s, e in split_line(line)]
    assert parts == [
        "Dr. Smith uses IPL, e.g. for rosacea.",
        "It works.",
        "J. Doe agrees!",
        "Does it?",
    ]


def test_offsets_and_kinds(codebook):
    text = (
        "Laser for Acne Scars\n\n"
        "  Lasers help acne scars. Do they hurt?\n"
        "Benefits include:\n"
        "- Smoother skin.\n"
        "Share:\n"
        "References:\n"
        "Smith J. Lasers. 2020.\n"
    )
    rows = segment_document("d", text, codebook)
    for r in rows:
        assert text[r["start"] : r["end"]] == r["sentence"]
    kinds = {r["sentence"]: r["kind"] for r in rows}
    assert kinds["Laser for Acne Scars"] == "heading"
    assert kinds["Lasers help acne scars."] == "text"
    assert kinds["Do they hurt?"] == "question"
    assert kinds["- Smoother skin."] == "list_item"
    assert kinds["Share:"] == "boilerplate"
    after = [r for r in rows if r["start"] > text.index("References:")]
    assert after and all(r["kind"] == "reference" for r in after)
    item = next(r for r in rows if r["kind"] == "list_item")
    lead = next(r for r in rows if r["sentence"] == "Benefits include:")
    assert item["lead_in"] == lead["sid"]
    assert item["section"] == 0


def test_list_label_sets_body_start(codebook):
    text = "Improved Texture: Peels smooth the skin."
    (row,) = segment_document("d", text, codebook)
    assert text[row["body_start"] : row["end"]] == "Peels smooth the skin."
