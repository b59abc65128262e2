"""Each rule of GUIDELINES.md pinned by its own test, on sentences written
from the guidelines (none taken from the sample corpus or its gold file).

A failure names the rule: the test id says which category, certainty cue or
attribution rule regressed.
"""

from __future__ import annotations

import pytest

# ------------------------------------------------------------- categories
# One asserted sentence per category; the procedure is named in it.
CATEGORY_CASES = [
    ("benefit", "efficacy", "Chemical peels are effective for treating melasma."),
    ("benefit", "efficacy", "Laser resurfacing can reduce the appearance of acne scars."),
    ("benefit", "collagen", "Radiofrequency microneedling stimulates collagen production."),
    ("benefit", "collagen", "LED therapy triggers the skin's natural repair process."),
    ("benefit", "barrier", "Dermaplaning helps restore the skin barrier."),
    ("benefit", "inflammation", "Red light therapy reduces inflammation in the skin."),
    ("benefit", "absorption", "Microneedling improves the absorption of topical serums."),
    ("benefit", "hydration", "A HydraFacial boosts skin hydration."),
    ("benefit", "symptoms", "IPL relieves redness and flushing in many patients."),
    ("benefit", "texture", "Dermaplaning leaves the skin smoother."),
    ("benefit", "exfoliation", "Dermaplaning removes dead skin cells from the surface."),
    ("benefit", "practical", "PRP is minimally invasive and needs little downtime."),
    ("risk", "infection", "Microneedling at home can lead to infection."),
    ("risk", "side_effects", "A chemical peel can cause redness and peeling."),
    ("risk", "flare", "Laser treatment can worsen rosacea."),
    ("risk", "contraindication", "IPL is not recommended for people with darker skin tones."),
    ("risk", "scarring_pigment", "Deep chemical peels can cause hyperpigmentation."),
    ("risk", "improper_use", "Untrained providers using lasers can burn the skin."),
    ("uncertainty", "limited_evidence", "More research on PRP for hair loss is needed."),
    ("uncertainty", "long_term_unknown", "The long-term effects of LED therapy are unknown."),
    ("uncertainty", "variable_results", "Results of IPL vary from person to person."),
    ("uncertainty", "not_a_cure", "A chemical peel is not a cure for melasma."),
]


@pytest.mark.parametrize(
    "claim_type,category,text",
    CATEGORY_CASES,
    ids=[f"{c[1]}-{i}" for i, c in enumerate(CATEGORY_CASES)],
)
def test_category(code, claim_type, category, text):
    found = {(t, c) for t, c, _ in code(text)}
    assert (claim_type, category) in found, f"{category} not found in {text!r}: {found}"


# ------------------------------------------------------------- not claims


@pytest.mark.parametrize(
    "text",
    [
        "Can laser treatment help rosacea?",  # question
        "Benefits of Microneedling for Acne Scars",  # heading
        "Share:",  # share prompt
        "Subscribe to our newsletter for more microneedling tips.",  # newsletter
        "Book your free consultation for IPL today.",  # booking notice
        "Rosacea is a chronic skin condition characterized by redness.",  # definition
        "A numbing cream is applied before microneedling.",  # neutral description
        "Collagen is a protein that keeps the skin firm and smooth.",  # not a procedure
        "Consult a dermatologist before trying microneedling.",  # general advice
        "Moisturizers reduce dryness in eczema.",  # not a listed procedure
    ],
)
def test_not_a_claim(code, text):
    assert code(text) == set()


def test_reference_list_is_not_coded(code):
    text = (
        "Microneedling stimulates collagen.\n"
        "References:\n"
        "Microneedling reduces acne scars: a review. Journal of Dermatology."
    )
    claims = code(text, table=True)
    assert set(claims["sentence"]) == {"Microneedling stimulates collagen."}


def test_list_label_is_a_heading(code):
    # "Reduced Redness:" labels the item; the item itself describes a condition.
    assert code("- Reduced Redness: Rosacea often causes redness on the cheeks.") == set()


def test_procedure_name_is_not_a_cue(code):
    # "collagen induction therapy" names microneedling, it claims nothing
    assert code("Collagen induction therapy is done in a clinic.") == set()


def test_two_claims_in_one_sentence(code):
    found = code("By stimulating collagen, PRP may help strengthen the skin barrier.")
    assert ("benefit", "collagen", "asserted") in found
    assert ("benefit", "barrier", "hedged") in found


# ------------------------------------------------------------- certainty


@pytest.mark.parametrize(
    "cue",
    [
        "may",
        "might",
        "could",
        "possibly",
        "potentially",
        "appears to",
        "seems to",
        "is thought to",
        "is believed to",
    ],
)
def test_hedge_cue(code, cue):
    found = code(f"Microneedling {cue} improve acne scars.")
    assert ("benefit", "efficacy", "hedged") in found


@pytest.mark.parametrize(
    "text",
    [
        "Some studies suggest that laser treatment improves acne scars.",
        "In some cases, a chemical peel causes hyperpigmentation.",
        "IPL sometimes causes swelling.",
        "Dermaplaning shows promise for acne scars.",
        "Blistering is a rare side effect of IPL.",
    ],
)
def test_hedge_phrase(code, text):
    found = code(text)
    assert found and all(c == "hedged" for _, _, c in found), found


@pytest.mark.parametrize(
    "text",
    [
        "Microneedling does not improve rosacea.",
        "A chemical peel is not effective for melasma.",
        "Dermaplaning will not treat acne scars.",
    ],
)
def test_negation(code, text):
    found = code(text)
    assert ("benefit", "efficacy", "negated") in found, found


def test_can_is_asserted(code):
    assert code("Microneedling can reduce the appearance of stretch marks.") == {
        ("benefit", "efficacy", "asserted")
    }


def test_has_been_shown_is_asserted(code):
    assert ("benefit", "inflammation", "asserted") in code(
        "LED therapy has been shown to reduce inflammation."
    )


def test_hedge_governs_only_what_follows_it(code):
    found = code("By boosting collagen, a laser could reduce wrinkles.")
    assert ("benefit", "collagen", "asserted") in found
    assert ("benefit", "efficacy", "hedged") in found


def test_hedge_stops_at_a_clause_boundary(code):
    found = code("Although IPL may improve rosacea, it can cause blistering.")
    assert ("benefit", "efficacy", "hedged") in found
    assert ("risk", "side_effects", "asserted") in found


def test_negation_does_not_reach_far(code):
    # the negation governs "performed correctly", not the later contraindication
    found = code(
        "Microneedling can worsen acne if it is not performed correctly or if the person "
        "has a history of adverse reactions."
    )
    assert ("risk", "contraindication", "negated") not in found


def test_pseudo_negation(code):
    found = code("PRP is not without risks, especially for people with bleeding disorders.")
    assert ("risk", "contraindication", "asserted") in found


def test_uncertainty_is_asserted(code):
    assert code("Results may vary with chemical peels.") == {
        ("uncertainty", "variable_results", "asserted")
    }


def test_negation_inside_a_cue_is_the_cue(code):
    found = code("Microdermabrasion should not be performed during an active rosacea flare.")
    assert ("risk", "contraindication", "asserted") in found


def test_irrealis_benefit_is_not_claimed(code):
    assert code("Ask your dermatologist whether a chemical peel is effective for melasma.") == set()


# ------------------------------------------------------------- attribution


def test_sentence_mention_wins(code):
    claims = code("Laser resurfacing improves acne scars.", table=True)
    assert set(zip(claims.procedure, claims.condition, strict=True)) == {("laser", "acne_scars")}


def test_document_topic_fills_in(code):
    """GUIDELINES.md: else the condition the document is about; a page is
    about the condition its title names."""
    text = (
        "Chemical peels for melasma\n"
        "Chemical peels are popular. Many readers ask about them.\n"
        "How it works\n"
        "It can also smooth the skin."
    )
    claims = code(text, table=True)
    row = claims[claims.sentence == "It can also smooth the skin."].iloc[0]
    assert (row.procedure, row.condition) == ("chemical_peel", "hyperpigmentation")
    assert "document topic" in row.rule


def test_a_condition_named_as_a_harm_is_not_the_page_topic(code):
    """A page about the scarring risk of a procedure is not about scars: the
    claims it makes about the procedure in general stay general."""
    risk = "Dermabrasion carries a scarring risk, and scarring rates rise with depth. "
    text = "Dermabrasion explained\n" + risk * 8 + "\nDermabrasion is minimally invasive."
    claims = code(text, table=True)
    row = claims[claims.category == "practical"].iloc[0]
    assert row.condition == ""


def test_section_heading_gives_the_condition(code):
    text = (
        "Laser for rosacea and acne scars\n"
        "Laser for Acne Scars\n"
        "The treatment stimulates collagen in the dermis."
    )
    claims = code(text, table=True)
    assert set(claims.condition) == {"acne_scars"}
    assert "section heading" in claims.iloc[0].rule


def test_general_article_leaves_condition_empty(code):
    text = (
        "IPL can help rosacea. IPL can help sun spots. IPL can help acne.\n"
        "IPL is minimally invasive."
    )
    claims = code(text, table=True)
    row = claims[claims.category == "practical"].iloc[0]
    assert row.condition == ""


def test_list_item_inherits_its_lead_in(code):
    text = (
        "Dermaplaning guide\n"
        "For people with acne scars, dermaplaning offers these benefits:\n"
        "- It exfoliates the skin."
    )
    claims = code(text, table=True)
    row = claims[claims.sentence == "- It exfoliates the skin."].iloc[0]
    assert (row.procedure, row.condition) == ("dermaplaning", "acne_scars")
    assert "lead-in" in row.rule


def test_combination_is_attributed_to_the_procedure(code):
    claims = code("Microneedling combined with a vitamin C serum improves melasma.", table=True)
    assert set(claims.procedure) == {"microneedling"}


def test_comparator_is_not_attributed(code):
    claims = code("Microneedling is less expensive than laser resurfacing.", table=True)
    assert set(claims.procedure) == {"microneedling"}


def test_synonyms_map_to_canonical_ids(code):
    claims = code("A vampire facial can help with chicken skin.", table=True)
    assert set(zip(claims.procedure, claims.condition, strict=True)) == {
        ("prp", "keratosis_pilaris")
    }


def test_efficacy_object_belongs_to_efficacy(code):
    claims = code(
        "For people with rosacea, IPL can improve skin texture and reduce the appearance of "
        "sun spots.",
        table=True,
    )
    texture = set(claims[claims.category == "texture"].condition)
    efficacy = set(claims[claims.category == "efficacy"].condition)
    assert texture == {"rosacea"}
    assert efficacy == {"rosacea", "hyperpigmentation"}


def test_texture_framed_as_treating_a_condition_is_efficacy(code):
    found = code("For conditions like stretch marks, laser treatment gives smoother skin.")
    assert ("benefit", "efficacy", "asserted") in found


# ------------------------------------------------------------- the table


def test_offsets_point_at_the_sentence(code):
    text = "Intro line\nIPL helps rosacea. It may cause swelling.\n"
    claims = code(text, table=True)
    assert len(claims) == 2
    for row in claims.itertuples():
        assert text[row.start : row.end] == row.sentence
        assert (
            row.cue in text[row.cue_start : row.cue_end]
            or text[row.cue_start : row.cue_end] in row.cue
        )


def test_claims_explain_themselves(code):
    row = code("IPL may reduce redness.", table=True).iloc[0]
    assert "may" in row.rule and "symptoms" in row.rule
    assert row.codebook_version


def test_every_claim_row_is_one_procedure_and_condition(code):
    claims = code("Microneedling can help with acne scars and stretch marks.", table=True)
    assert set(claims.condition) == {"acne_scars", "stretch_marks"}
    assert len(claims) == 2


# ------------------------------------------------------------- other pages
# Clinic pages, evidence summaries and affiliate boxes.


@pytest.mark.parametrize(
    "text",
    [
        "Book now and get 20% off your first IPL session.",
        "As an Amazon Associate we earn from qualifying purchases on derma rollers.",
        "Call today to book your PRP consultation.",
    ],
)
def test_commercial_boilerplate(code, text):
    assert code(text) == set()


def test_killing_bacteria_is_a_benefit_not_an_infection_risk(code):
    found = code("Blue LED light therapy kills acne-causing bacteria.")
    assert ("benefit", "efficacy", "asserted") in found
    assert not any(t == "risk" for t, _, _ in found)


def test_evidence_summary_language(code):
    found = code("Low-certainty evidence from small trials suggests PRP improves hair density.")
    assert ("uncertainty", "limited_evidence", "asserted") in found
    assert ("benefit", "efficacy", "hedged") in found


def test_sessions_needed_is_durability(code):
    assert ("uncertainty", "long_term_unknown", "asserted") in code(
        "Most people need three to six IPL sessions, with maintenance sessions every year."
    )


def test_other_agent_as_subject_is_not_a_procedure_claim(code):
    assert code("Minoxidil can improve hair loss, and many use it with PRP.") == set()


def test_coding_spares_the_collector_and_leaves_it_as_it_was():
    """Inside the block what was alive before is frozen and the automatic
    passes wait, a cycle made inside is still collected, and afterwards
    nothing stays frozen, what the block made is in the oldest generation
    and the collector runs again; what the application froze or disabled
    itself stays so."""
    import gc
    import weakref

    from analysis.extract import sparing_collector

    class Node:
        pass

    assert gc.get_freeze_count() == 0 and gc.isenabled()
    with sparing_collector():
        assert gc.get_freeze_count() > 0
        assert not gc.isenabled()  # the automatic passes wait for the block's end
        node = Node()
        node.me = node  # a reference cycle made while coding
        gone = weakref.ref(node)
        del node
        gc.collect()
        assert gone() is None
        kept = Node()  # what the block hands on (the batch's pages)
        left = Node()
        left.me = left  # a cycle left behind
        left_gone = weakref.ref(left)
        del left
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    # What the block made joins the oldest generation: the youngest's first
    # pass does not walk it, a full pass still collects what it left.
    assert any(o is kept for o in gc.get_objects(generation=2))
    assert not any(o is kept for o in gc.get_objects(generation=0))
    gc.collect()
    assert left_gone() is None
    gc.disable()  # the application's choice stays its own
    try:
        with sparing_collector():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with sparing_collector():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_coding_makes_no_reference_cycle():
    """:func:`sparing_collector` hands what a batch made to the oldest
    generation, collected by the full passes alone: that is cheap only while
    coding frees everything by reference counts. Coding the sample articles
    leaves the collector nothing to find."""
    import gc

    from analysis import config
    from analysis.codebook import load_codebook
    from analysis.corpus import corpus_files, decode
    from analysis.extract import extract_documents

    codebook = load_codebook(config.CODEBOOK)
    items = [(p.name, decode(p.read_bytes(), p)[0]) for p in corpus_files(config.CORPUS)]
    extract_documents(items[:1], codebook)  # first-use caches aside
    gc.collect()
    gc.disable()
    try:
        extract_documents(items, codebook)
        assert gc.collect() == 0
    finally:
        gc.enable()
