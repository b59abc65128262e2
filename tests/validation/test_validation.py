"""Agreement figures, coding samples and the REFI-QDA exchange."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pandas as pd
import pytest

from analysis import config
from analysis.corpus import load_corpus
from analysis.extract import extract
from analysis.segment import segment
from analysis.validation.agreement import agreement, read_coding, to_coding
from analysis.validation.qdpx import QdpxError, export_qdpx, import_qdpx
from analysis.validation.sample import SheetError, draw_sample, read_coded_sheet
from tests.conftest import SHARED

GOLD = SHARED / "annotation" / "seeds.gold.jsonl"
SCORE = SHARED / "annotation" / "score.py"
SCHEMA = SHARED / "refi-qda" / "Project-mrt2019.xsd"
ATLAS = SHARED / "refi-qda" / "target-atlas-project.qdpx"


@pytest.fixture(scope="module")
def sample_claims(codebook):
    documents, _ = load_corpus(config.CORPUS)
    return documents, extract(documents, codebook)


def coding(*claims: tuple) -> pd.DataFrame:
    """A codings table from (doc, sentence, type, category, certainty) tuples."""
    return to_coding(
        pd.DataFrame(
            [
                {
                    "doc": d,
                    "sentence": s,
                    "type": t,
                    "category": c,
                    "certainty": cert,
                    "procedures": ["laser"],
                    "conditions": [],
                }
                for d, s, t, c, cert in claims
            ]
        )
    )


@pytest.mark.skipif(not GOLD.exists(), reason="shared/annotation is not beside the checkout")
def test_figures_agree_with_score_py(sample_claims, tmp_path):
    _, claims = sample_claims
    claims.to_csv(tmp_path / "claims.csv", index=False)
    subprocess.run(
        [
            sys.executable,
            str(SCORE),
            str(GOLD),
            str(tmp_path / "claims.csv"),
            "--json",
            str(tmp_path / "s.json"),
        ],
        check=True,
        capture_output=True,
    )
    expected = json.loads((tmp_path / "s.json").read_text())
    result = agreement(read_coding(GOLD), read_coding(tmp_path / "claims.csv"))
    f = result.figure
    for level in ("detection", "category"):
        for short, measure in (("p", "precision"), ("r", "recall"), ("f", "f1")):
            assert f(measure, level) == pytest.approx(expected[level][short])
    for t, figures in expected["category_by_type"].items():
        assert f("f1", f"category:{t}") == pytest.approx(figures["f"])
    assert f("accuracy", "certainty") == pytest.approx(expected["certainty_acc"])
    assert f("accuracy", "procedures") == pytest.approx(expected["procedure_acc"])
    assert f("accuracy", "conditions") == pytest.approx(expected["condition_acc"])
    assert f("count_wape", "procedure x condition x type") == pytest.approx(expected["count_wape"])
    assert f("claims", "pred") == expected["pred_claims"]


def test_kappa_and_alpha_on_a_worked_example():
    """Two sentences, three types: the coders agree on 4 of 6 decisions.
    Kappa (4/6 - 20/36) / (1 - 20/36) = 0.25; alpha 1 - 11 * 4 / 64 = 0.3125."""
    gold = coding(
        ("a.txt", "One.", "benefit", "efficacy", "asserted"),
        ("a.txt", "Two.", "risk", "infection", "asserted"),
    )
    pred = coding(
        ("a.txt", "One.", "benefit", "efficacy", "asserted"),
        ("a.txt", "Two.", "benefit", "efficacy", "hedged"),
    )
    rel = agreement(gold, pred).reliability.set_index("level")
    assert rel.loc["sentence x type", "units"] == 6
    assert rel.loc["sentence x type", "observed_agreement"] == pytest.approx(4 / 6)
    assert rel.loc["sentence x type", "cohen_kappa"] == pytest.approx(0.25)
    assert rel.loc["sentence x type", "krippendorff_alpha"] == pytest.approx(0.3125)


def test_two_coders_disagreements_and_confusion():
    one = coding(
        ("a.txt", "IPL can help rosacea.", "benefit", "efficacy", "asserted"),
        ("a.txt", "IPL may cause redness.", "risk", "side_effects", "hedged"),
        ("a.txt", "More research is needed.", "uncertainty", "limited_evidence", "asserted"),
    )
    two = coding(
        ("a.txt", "IPL can help rosacea", "benefit", "symptoms", "asserted"),
        ("a.txt", "IPL may cause redness.", "risk", "side_effects", "asserted"),
    )
    result = agreement(one, two)
    issues = result.disagreements.set_index(["category", "issue"])
    assert {("efficacy", "missed"), ("symptoms", "extra"), ("limited_evidence", "missed")} <= set(
        issues.index
    )
    assert issues.loc[("side_effects", "certainty"), "gold"] == "hedged"
    confusion = {(r.gold, r.pred): r.claims for r in result.confusion.itertuples()}
    assert confusion[("efficacy", "symptoms")] == 1  # same sentence and type, other category
    assert confusion[("limited_evidence", "(none)")] == 1
    assert result.figure("f1", "detection") == pytest.approx(0.8)


def test_sample_is_stratified_seeded_and_blind(codebook, sample_claims):
    """Strata by predicted category and by how sure the coder was, sharing
    the sample equally; weights that give back the corpus's sizes; the
    paragraph and heading beside each sentence."""
    documents, claims = sample_claims
    sentences = segment(documents, codebook)
    sheet = draw_sample(sentences, claims, 25, seed=7)
    assert len(sheet) == 25 and sheet["sample_id"].tolist() == list(range(1, 26))
    assert (sheet[["type", "category", "certainty"]] == "").all().all()  # coded blind
    strata = sheet.groupby("stratum").size()
    assert "none (no claim)" in strata.index and len(strata) > 3
    # the sentences with no claim are most of the corpus, not of the sample
    pool = sentences[sentences["kind"].isin(["text", "list_item"])].drop_duplicates(
        ["doc", "sentence"]
    )
    assert strata["none (no claim)"] / len(sheet) < 0.5
    # each stratum's weights add up to its sentences in the corpus: unbiased totals
    for _, drawn in sheet.groupby("stratum"):
        total = drawn["weight"].sum()
        assert total == pytest.approx(round(total)) and total >= len(drawn)
    assert len(sheet) < sheet["weight"].sum() <= len(pool)
    for r in sheet.itertuples():
        assert r.sentence in r.context  # the paragraph it stands in
    text = documents.set_index("doc")["text"]
    assert all(text[r.doc][r.start : r.end] == r.sentence for r in sheet.itertuples())
    pd.testing.assert_frame_equal(sheet, draw_sample(sentences, claims, 25, seed=7))
    assert not sheet.equals(draw_sample(sentences, claims, 25, seed=8))
    coded = set(claims["start"])
    n_claim = sum(r.start in coded for r in sheet.itertuples())
    assert 0 < n_claim < 25  # sentences with and without predicted claims


def test_coded_sheet_becomes_gold_and_bad_values_name_their_row(codebook):
    sheet = pd.DataFrame(
        [
            {
                "doc": "a.txt",
                "sentence": "IPL helps rosacea.",
                "type": "benefit",
                "category": "efficacy",
                "certainty": "",
                "procedures": "ipl",
                "conditions": "rosacea",
                "note": "",
            },
            {
                "doc": "a.txt",
                "sentence": "IPL is booked online.",
                "type": "",
                "category": "",
                "certainty": "",
                "procedures": "",
                "conditions": "",
                "note": "no claim",
            },
        ]
    )
    gold = read_coded_sheet(sheet, codebook)
    assert gold.to_dict("records") == [
        {
            "doc": "a.txt",
            "sentence": "IPL helps rosacea.",
            "type": "benefit",
            "category": "efficacy",
            "certainty": "asserted",
            "procedures": ["ipl"],
            "conditions": ["rosacea"],
        }
    ]
    bad = sheet.assign(category=["eficacy", ""])
    with pytest.raises(SheetError, match=r"row 2: unknown category 'eficacy'"):
        read_coded_sheet(bad, codebook)
    with pytest.raises(SheetError, match=r"row 2: unknown procedures \['botox'\]"):
        read_coded_sheet(sheet.assign(procedures=["botox", ""]), codebook)


def test_qdpx_validates_is_stable_and_round_trips(codebook, sample_claims, tmp_path):
    xmlschema = pytest.importorskip("xmlschema")
    documents, claims = sample_claims
    first = export_qdpx(documents, claims, codebook, tmp_path / "a.qdpx")
    again = export_qdpx(documents, claims, codebook, tmp_path / "b.qdpx")
    qde = zipfile.ZipFile(first).read("project.qde")
    assert qde == zipfile.ZipFile(again).read("project.qde")  # stable GUIDs
    if SCHEMA.exists():
        xmlschema.XMLSchema(str(SCHEMA)).validate(qde.decode())
    names = zipfile.ZipFile(first).namelist()
    assert sum(n.startswith("sources/") for n in names) == len(documents)
    assert b"cue: " in qde
    gold, unmapped = import_qdpx(first, codebook)
    assert unmapped == []
    result = agreement(to_coding(gold), to_coding(claims))
    assert result.disagreements.empty
    assert (
        result.figure("claims", "gold")
        == result.figure("claims", "pred")
        == claims.groupby(["doc", "sentence", "type", "category"]).ngroups
    )


def test_qdpx_carries_definitions_attributes_and_notes_and_reads_them_back(
    codebook, sample_claims, tmp_path
):
    """NVivo, MAXQDA or ATLAS.ti users get the method with the coding: each
    category's guideline definition and examples as its code description,
    the documents' metadata as cases with attributes, and each selection's
    cue, model probability and rule as its note; the schema holds."""
    from analysis.schema import document_ids
    from analysis.validation.qdpx import read_project_details

    xmlschema = pytest.importorskip("xmlschema")
    documents, claims = sample_claims
    documents = documents.assign(
        kind=["clinic", "news", "clinic", "news", "blog"][: len(documents)],
        year=list(range(2019, 2019 + len(documents))),
    )
    path = export_qdpx(documents, claims, codebook, tmp_path / "p.qdpx")
    qde = zipfile.ZipFile(path).read("project.qde").decode()
    if SCHEMA.exists():
        xmlschema.XMLSchema(str(SCHEMA)).validate(qde)
    details = read_project_details(path)
    codes = details["codes"].set_index("name")["description"]
    for category in codebook.categories:
        assert codes[category.id] == f"{category.label}: {category.description}"
    assert "can be effective in improving keratosis pilaris" in codes["efficacy"]  # an example
    attributes = details["attributes"].set_index("source")
    ids = document_ids(documents)
    for row in documents.itertuples():
        case = attributes.loc[row.doc]
        assert case["case"] == ids[row.doc]
        assert (case["kind"], int(case["year"]), case["title"]) == (row.kind, row.year, row.title)
        assert int(case["words"]) == row.words
    notes = details["notes"]
    assert len(notes) == claims.groupby(["doc", "start", "end", "type", "category"]).ngroups
    assert notes["note"].str.contains(r"model probability: (?:[01]\.\d\d|none)").all()
    assert notes["note"].str.contains("\nrule: ").all()


def test_a_hand_edited_project_is_read_back(codebook, sample_claims, tmp_path):
    """A coder recodes one selection in the QDA tool: efficacy becomes symptoms."""
    documents, claims = sample_claims
    path = export_qdpx(documents, claims, codebook, tmp_path / "p.qdpx")
    archive = zipfile.ZipFile(path)
    qde = archive.read("project.qde").decode()
    from analysis.validation.qdpx import guid

    efficacy, symptoms = guid("code", "category", "efficacy"), guid("code", "category", "symptoms")
    edited = qde.replace(
        f'<CodeRef targetGUID="{efficacy}" />', f'<CodeRef targetGUID="{symptoms}" />', 1
    )
    assert edited != qde
    with zipfile.ZipFile(tmp_path / "edited.qdpx", "w") as out:
        for name in archive.namelist():
            out.writestr(name, edited if name == "project.qde" else archive.read(name))
    gold, _ = import_qdpx(tmp_path / "edited.qdpx", codebook)
    issues = agreement(to_coding(gold), to_coding(claims)).disagreements
    assert sorted(issues["issue"]) == ["extra", "missed"]
    assert set(issues["category"]) == {"efficacy", "symptoms"}


@pytest.mark.skipif(not ATLAS.exists(), reason="shared/refi-qda is not beside the checkout")
def test_an_atlas_ti_project_is_read_and_its_codes_reported(codebook):
    gold, unmapped = import_qdpx(ATLAS, codebook)
    assert gold.empty
    assert "Commits" in unmapped and len(unmapped) == 3


def test_a_file_that_is_not_a_project_is_refused(codebook, tmp_path):
    (tmp_path / "x.qdpx").write_text("not a zip")
    with pytest.raises(QdpxError, match=r"x\.qdpx: not a REFI-QDA project"):
        import_qdpx(tmp_path / "x.qdpx", codebook)


@pytest.mark.slow
def test_sample_code_import_validate_in_four_commands(codebook, tmp_path):
    """The README's loop: sample, code (here: copy the extractor's coding
    into the sheet), import, validate with a report."""
    cli = [sys.executable, "-m", "analysis.cli"]
    sheet, gold = tmp_path / "sample.csv", tmp_path / "gold.jsonl"
    subprocess.run(
        [*cli, "sample", str(config.CORPUS), "--n", "20", "--out", str(sheet)], check=True
    )
    table = pd.read_csv(sheet, keep_default_na=False)
    claims = extract(load_corpus(config.CORPUS)[0], codebook)
    first = claims.drop_duplicates(["doc", "start"]).set_index(["doc", "start"])
    for i, r in table.iterrows():
        if (r.doc, r.start) in first.index:
            c = first.loc[(r.doc, r.start)]
            table.loc[i, ["type", "category", "certainty", "procedures", "conditions"]] = [
                c.type,
                c.category,
                c.certainty,
                c.procedure,
                c.condition,
            ]
    table.to_csv(sheet, index=False)
    subprocess.run([*cli, "sample", "--import", str(sheet), "--out", str(gold)], check=True)
    done = subprocess.run(
        [
            *cli,
            "validate",
            "--gold",
            str(gold),
            "--corpus",
            str(config.CORPUS),
            "--sample",
            str(sheet),
            "--report",
            str(tmp_path / "val"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "category  (doc, sentence, type, category)" in done.stdout
    assert "Krippendorff's alpha" in done.stdout
    html = (tmp_path / "val" / "validation.html").read_text()
    assert html.count('class="plotly-graph-div"') == 2 and "Disagreements" in html


HOSTILE_NAMES = [
    'a&b<"c">.txt',
    "tab\tand\rreturn.txt",
    "ctrl\x01\x0bform\x0cfeed.txt",
    "émoji 🧴 ]]> --.txt",
    "nonchar\ufffe.txt",
]


def test_hostile_names_and_control_characters_round_trip_through_qdpx(codebook, tmp_path):
    """Everything export-qdpx writes, import-qdpx reads: XML escaped, the
    characters XML 1.0 forbids carried and brought back, the project valid."""
    xmlschema = pytest.importorskip("xmlschema")
    text = (
        "Chemical peels can fade\x0cmelasma.\n\n"
        "IPL may cause\x0bswelling\x01 in some people.\n\n"
        "Microneedling can reduce acne scars.\n"
    )
    documents = pd.DataFrame({"doc": HOSTILE_NAMES, "text": [text] * len(HOSTILE_NAMES)}).assign(
        sha256=lambda d: d["doc"].map(lambda n: str(hash(n)))
    )
    claims = extract(documents, codebook)
    assert set(claims["doc"]) == set(HOSTILE_NAMES)
    assert claims["cue"].str.contains("\x0c").any()  # a cue spans the form feed
    path = export_qdpx(documents, claims, codebook, tmp_path / "hostile.qdpx")
    qde = zipfile.ZipFile(path).read("project.qde").decode()
    if SCHEMA.exists():
        xmlschema.XMLSchema(str(SCHEMA)).validate(qde)
    gold, unmapped = import_qdpx(path, codebook)
    assert unmapped == []
    expected = {n.replace("\ufffe", "\ufffd") for n in HOSTILE_NAMES}
    assert set(gold["doc"]) == expected
    assert set(gold["sentence"]) == set(claims["sentence"])
    result = agreement(
        to_coding(gold), to_coding(claims.assign(doc=claims["doc"].str.replace("\ufffe", "\ufffd")))
    )
    assert result.disagreements.empty


def project_with(tmp_path, qde: str, source: bytes):
    """A project of one text source, ``sources/S.txt``."""
    path = tmp_path / "p.qdpx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("project.qde", qde)
        z.writestr("sources/S.txt", source)
    return path


QDE = (
    '<?xml version="1.0" encoding="utf-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="p">'
    '<Sources><TextSource guid="S" name="a.txt" plainTextPath="internal://S.txt">'
    '<PlainTextSelection guid="X" startPosition="{}" endPosition="{}"/>'
    "</TextSource></Sources></Project>"
)


@pytest.mark.parametrize(
    "start,end,said",
    [
        ("ten", "20", "positions 'ten'-'20'"),
        ("30", "20", "positions '30'-'20'"),
        ("-1", "4", "positions '-1'-'4'"),
    ],
)
def test_a_selection_with_bad_positions_is_named(codebook, tmp_path, start, end, said):
    path = project_with(tmp_path, QDE.format(start, end), b"some text")
    with pytest.raises(QdpxError, match=rf"p\.qdpx: selection 'X' has {said}"):
        import_qdpx(path, codebook)


def test_a_zip_bomb_project_is_refused_before_it_inflates(codebook, tmp_path, monkeypatch):
    """The issue's 3 MiB project inflated past 6 GB; here the cap is
    lowered so that a 40 MB member (40 kB packed) is the bomb."""
    from analysis.validation import qdpx

    monkeypatch.setattr(qdpx, "MAX_MEMBER_BYTES", 10_000_000)
    path = project_with(tmp_path, QDE.format(0, 4), b"\x00" * 40_000_000)
    assert path.stat().st_size < 200_000
    with pytest.raises(QdpxError, match=r"sources/S\.txt inflates past 10,000,000 bytes"):
        import_qdpx(path, codebook)


def test_an_encrypted_project_is_named(codebook, tmp_path):
    """zipfile cannot write an encrypted member: the flag bit is set by hand."""
    path = project_with(tmp_path, QDE.format(0, 4), b"some text")
    data = bytearray(path.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        while at >= 0:
            data[at + flag_at] |= 1
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    with pytest.raises(QdpxError, match="encrypted"):
        import_qdpx(path, codebook)
