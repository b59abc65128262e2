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


def test_a_yes_or_no_answer_is_its_own_sentence_but_no_before_a_number_is_not():
    line = "No. Peeling is not required. See No. 5 for details. Yes, it helps."
    parts = [line[s:e] for s, e in split_line(line)]
    assert parts == ["No.", "Peeling is not required.", "See No. 5 for details.", "Yes, it helps."]


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


CLAIM = "{} can reduce acne scars by stimulating collagen in the skin over several weeks."


def three_articles() -> str:
    """One file holding three articles, each ending in its references, the
    first with a box of related links in the middle."""
    parts = []
    for n, procedure in enumerate(["Microneedling", "Chemical peels", "Laser resurfacing"]):
        parts += [f"All about {procedure.lower()}", CLAIM.format(procedure)]
        if n == 0:
            parts += [
                "Related articles",
                "Is microneedling safe for dark skin?",
                "Microneedling at home: what to know",
                "• Microneedling can remove wrinkles fast",
                "Risks of microneedling",
                "Microneedling may cause redness, swelling and infection in some people afterwards.",
            ]
        parts += [
            "References",
            "Smith J, et al. Microneedling improves acne scars. Dermatol Surg. 2019;45(2):123-30.",
            "Lee K (2020). Lasers remove wrinkles in a randomized trial of forty adults.",
            "https://pubmed.ncbi.nlm.nih.gov/12345678/",
        ]
    return "\n".join(parts) + "\n"


def test_a_reference_list_stops_coding_only_until_article_text(codebook):
    """GUIDELINES.md: reference lists and related-article link titles are
    never claims; the article text after them is."""
    rows = segment_document("t.txt", three_articles(), codebook)
    kinds = {r["sentence"]: r["kind"] for r in rows}
    for procedure in ("Microneedling", "Chemical peels", "Laser resurfacing"):
        assert kinds[CLAIM.format(procedure)] == "text"
    assert kinds["Risks of microneedling"] == "heading"  # led back into the article
    assert (
        kinds["Microneedling may cause redness, swelling and infection in some people afterwards."]
        == "text"
    )
    for entry in (
        "Is microneedling safe for dark skin?",
        "• Microneedling can remove wrinkles fast",
        "Lee K (2020).",
        "Lasers remove wrinkles in a randomized trial of forty adults.",
        "https://pubmed.ncbi.nlm.nih.gov/12345678/",
    ):
        assert kinds[entry] == "reference", entry


def test_each_set_aside_run_is_a_row_of_the_problems_table(codebook, tmp_path):
    from analysis.cache import extract_corpus
    from analysis.extract import SET_ASIDE

    (tmp_path / "three.txt").write_text(three_articles(), encoding="utf-8")
    for cache in (None, tmp_path / "cache", tmp_path / "cache"):  # fresh, stored, cached
        claims, _, problems = extract_corpus(tmp_path, codebook, cache)
        assert set(claims["procedure"]) == {"microneedling", "chemical_peel", "laser"}
        notes = problems[problems["action"] == SET_ASIDE]["problem"].tolist()
        assert len(notes) == 4
        assert notes[0] == (
            'lines 3-6 from "Related articles" (4 sentences); coding resumes at line 7'
        )
        assert notes[-1].endswith("to the end of the text")
