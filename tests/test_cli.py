from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from analysis import config
from analysis.cli import build_parser, main
from analysis.schema import CLAIM_COLUMNS
from analysis.tables import read_table


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_extract_writes_the_format_of_the_suffix(tmp_path, suffix):
    out = tmp_path / f"claims{suffix}"
    assert main(["extract", str(config.CORPUS), "--out", str(out)]) == 0
    claims = read_table(out)
    required = set(CLAIM_COLUMNS)  # the contract, from its one home
    assert required <= set(claims.columns)
    assert len(claims) > 100
    texts = {p.name: p.read_text() for p in config.CORPUS.iterdir()}
    for row in claims.head(50).itertuples():
        assert texts[row.doc][int(row.start) : int(row.end)] == row.sentence


def test_extract_refuses_an_unknown_format(tmp_path, capsys):
    assert main(["extract", str(config.CORPUS), "--out", str(tmp_path / "claims.xls")]) == 2
    assert "unknown table format .xls;" in capsys.readouterr().err


def test_bad_codebook_is_an_error_not_a_traceback(tmp_path, capsys):
    bad = tmp_path / "codebook.yml"
    bad.write_text("version: [")
    code = main(
        ["extract", str(config.CORPUS), "--out", str(tmp_path / "c.csv"), "--codebook", str(bad)]
    )
    assert code == 2 and "not valid YAML" in capsys.readouterr().err


def codebook_with(tmp_path, old: str, new: str):
    """The shipped codebook with one entry changed."""
    text = config.CODEBOOK.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "codebook.yml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "old,new,said",
    [
        ("  hedge:\n", "  hedges:\n", "certainty.hedge is missing"),
        ('  label: "^', '  labels: "^', "not_claims.label is missing"),
    ],
)
def test_a_renamed_codebook_entry_is_named_not_a_traceback(tmp_path, capsys, old, new, said):
    assert main(["check-codebook", str(codebook_with(tmp_path, old, new))]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err


def test_a_codebook_check_reports_every_bad_entry_at_once(tmp_path, capsys):
    path = codebook_with(tmp_path, "{population}", "{populace}")
    text = path.read_text(encoding="utf-8").replace("scope: forward}", "scope: forwards}", 1)
    text = text.replace('  percentage: "', '  percentage: "(', 1)
    path.write_text(text, encoding="utf-8")
    assert main(["check-codebook", str(path)]) == 2
    err = capsys.readouterr().err
    assert "3 entries to fix" in err
    assert "unknown macro {populace}" in err
    assert "certainty.hedge[0].scope: forward, phrase or clause" in err
    assert "quantities.percentage: pattern does not compile" in err


def test_validate_names_the_missing_columns_of_a_prediction(tmp_path, capsys):
    pred = tmp_path / "pred.csv"
    pred.write_text("a,b\n1,2\n")
    gold = tmp_path / "gold.jsonl"
    gold.write_text("")
    code = main(["validate", "--gold", str(gold), "--pred", str(pred)])
    err = capsys.readouterr().err
    assert code == 2 and "missing columns ['category', 'doc', 'sentence', 'type']" in err


def test_sample_refuses_no_sentences(tmp_path, capsys):
    code = main(["sample", str(config.CORPUS), "--n", "0", "--out", str(tmp_path / "s.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "--n" in err and "at least 1" in err


@pytest.mark.parametrize(
    "option",
    [
        ["report", "--jobs", "0"],
        ["report", "--min-claims", "-3"],
        ["report", "--max-document-mb", "inf"],
        ["report", "--document-seconds", "nan"],
        ["fetch", "urls.txt", "--out", "c", "--timeout", "-1"],
        ["fetch", "urls.txt", "--out", "c", "--delay", "nan"],
    ],
)
def test_numeric_options_refuse_inf_nan_and_negatives(option, capsys):
    code = main(option)
    err = capsys.readouterr().err
    assert code == 2 and option[-2] in err and "Traceback" not in err


def test_every_user_error_derives_from_one_base():
    from analysis import errors

    classes = [
        c for c in vars(errors).values() if isinstance(c, type) and c.__module__ == errors.__name__
    ]
    assert len(classes) > 5
    assert all(issubclass(c, errors.ClaimscopeError) for c in classes)


@pytest.mark.parametrize("command", ["extract", "report", "explain", "check-codebook", "fetch"])
def test_help_explains_every_option(command):
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        if action.dest != "help":
            assert action.help, f"{command} {action.dest} has no help"
    result = subprocess.run(
        [sys.executable, "-m", "analysis.cli", command, "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "usage" in result.stdout


def test_check_codebook(capsys):
    assert main(["check-codebook"]) == 0
    assert "ok, version" in capsys.readouterr().out


def test_explain_marks_cues(tmp_path, capsys):
    doc = tmp_path / "a.txt"
    doc.write_text("IPL may reduce redness in rosacea.\nWhat is IPL?\n")
    assert main(["explain", str(doc), "--all"]) == 0
    out = capsys.readouterr().out
    assert (
        "[[reduce redness" in out and "hedged by 'may'" in out and "[question] What is IPL?" in out
    )


def test_tables_round_trip(tmp_path):
    df = pd.DataFrame({"doc": ["a"], "condition": [""], "start": [3]})
    for suffix in (".csv", ".parquet", ".jsonl"):
        from analysis.tables import write_table

        back = read_table(write_table(df, tmp_path / f"t{suffix}"))
        assert back["condition"].tolist() == [""] and int(back["start"].iloc[0]) == 3


@pytest.mark.parametrize(
    ("encoding", "separator"),
    [("utf-16", "\t"), ("cp1252", ";"), ("utf-8-sig", ","), ("utf-8", "|")],
)
def test_a_table_is_read_in_the_encoding_and_separator_a_spreadsheet_saved(
    tmp_path, encoding, separator
):
    """Coding sheets, --sites and metadata go through one reader: a
    spreadsheet's UTF-16 or Windows-1252, with its tab or semicolon, reads
    back cell for cell; a damaged row names its file and line."""
    from analysis.errors import TableFormatError
    from analysis.tables import read_table

    rows = ["doc;type;note", "caf\u00e9.txt;risk;\u201ccan\u201d =1+1", "b.txt;;NA"]
    path = tmp_path / "sheet.csv"
    path.write_bytes("\r\n".join(r.replace(";", separator) for r in rows).encode(encoding))
    table = read_table(path, typed=False)
    assert table.columns.tolist() == ["doc", "type", "note"]
    assert table["doc"].tolist() == ["caf\u00e9.txt", "b.txt"]
    assert table["note"].tolist() == ["\u201ccan\u201d =1+1", "NA"]
    path.write_text('doc,type\na,"risk\nb,c,d,e\n', encoding="utf-8")
    with pytest.raises(TableFormatError, match="sheet.csv"):
        read_table(path)


def test_many_problems_print_a_few_of_each_kind_and_the_table_keeps_them_all(tmp_path, capsys):
    from analysis.cli import PRINTED_PROBLEMS
    from analysis.tables import read_table

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(PRINTED_PROBLEMS + 5):
        (corpus / f"empty{i:02d}.txt").write_text("")
    (corpus / "a.txt").write_text("Microneedling may cause redness and swelling afterwards.\n")
    out = tmp_path / "claims.csv"
    assert (
        main(["extract", str(corpus), "--out", str(out), "--problems", str(tmp_path / "p.csv")])
        == 0
    )
    err = capsys.readouterr().err
    assert "... and 5 more" in err and str(tmp_path / "p.csv") in err
    assert len([line for line in err.splitlines() if "empty" in line]) == PRINTED_PROBLEMS
    assert len(read_table(tmp_path / "p.csv")) == PRINTED_PROBLEMS + 5


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx", ".parquet", ".jsonl"])
def test_one_reader_gives_back_every_cell_the_project_wrote(tmp_path, suffix):
    """Every table the project reads back (its own outputs, metadata, coding
    sheets, sources, address lists) goes through tables.read_table: a cell
    that looks like a number or a formula comes back as written."""
    from analysis.tables import read_table, write_table

    cells = {"doc": ["a.txt", "b.txt"], "id": ["007", "12"], "note": ["=1+1", "NA"]}
    path = write_table(pd.DataFrame(cells), tmp_path / f"t{suffix}")
    assert read_table(path, typed=False).astype(str).to_dict("list") == cells


def test_the_command_line_leaves_out_the_modules_nothing_uses():
    """The command's own process leaves out config.UNUSED_MODULES (1 s of
    grammar building at jsonschema's import) and still checks a codebook
    against its schema; a process that imports the package is left as it is."""
    script = (
        "import sys\n"
        "from analysis.cli import main\n"
        "assert 'rfc3987_syntax' not in sys.modules\n"
        "main(['check-codebook', '--help'])\n"
        "assert sys.modules['rfc3987_syntax'] is None\n"
        "from analysis.codebook import schema_errors\n"
        "assert schema_errors({'version': 1})  # jsonschema still validates\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]
