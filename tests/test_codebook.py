from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis import config
from analysis.codebook import CodebookError, load_codebook

GUIDELINE_CATEGORIES = {
    "benefit": {
        "efficacy",
        "collagen",
        "barrier",
        "inflammation",
        "absorption",
        "hydration",
        "symptoms",
        "texture",
        "exfoliation",
        "practical",
    },
    "risk": {
        "infection",
        "side_effects",
        "flare",
        "contraindication",
        "scarring_pigment",
        "improper_use",
    },
    "uncertainty": {"limited_evidence", "long_term_unknown", "variable_results", "not_a_cure"},
}


def test_codebook_has_every_guideline_category(codebook):
    for t, categories in GUIDELINE_CATEGORIES.items():
        assert {c.id for c in codebook.categories if c.type == t} == categories


def test_codebook_has_version_and_hash(codebook):
    assert re.fullmatch(r"\d+\.\d+\.\d+", codebook.version)
    assert len(codebook.sha256) == 64


def test_synonyms_resolve(codebook):
    assert codebook.procedures.canonical("Derma Roller") == "microneedling"
    assert codebook.procedures.canonical("micro needling") == "microneedling"
    assert codebook.conditions.canonical("Atopic Eczema") == "atopic_dermatitis"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "codebook.yml"
    path.write_text(text)
    return path


def broken(tmp_path: Path, old: str, new: str) -> Path:
    text = config.CODEBOOK.read_text()
    assert old in text
    return write(tmp_path, text.replace(old, new, 1))


def test_invalid_yaml_names_the_file(tmp_path):
    path = write(tmp_path, "version: [1\n")
    with pytest.raises(CodebookError, match=r"codebook\.yml: not valid YAML"):
        load_codebook(path)


def test_yaml_builds_no_python_objects(tmp_path):
    path = write(tmp_path, "version: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(CodebookError):
        load_codebook(path)


def test_bad_pattern_names_the_entry(tmp_path):
    path = broken(tmp_path, '- "\\\\banti-?inflammatory\\\\b"', '- "(unclosed"')
    with pytest.raises(
        CodebookError, match=r"categories\.inflammation\.cues\[1\].*does not compile"
    ):
        load_codebook(path)


def test_unknown_macro_names_the_entry(tmp_path):
    path = broken(tmp_path, '- "\\\\banti-?inflammatory\\\\b"', '- "{nosuchmacro}"')
    with pytest.raises(CodebookError, match=r"inflammation\.cues\[1\]: unknown macro"):
        load_codebook(path)


def test_synonym_of_two_ids_is_refused(tmp_path):
    path = broken(tmp_path, "synonyms: [rosacea]", "synonyms: [rosacea, eczema]")
    with pytest.raises(CodebookError, match="also a synonym of"):
        load_codebook(path)


def test_prefer_with_unknown_category_is_refused(tmp_path):
    path = broken(tmp_path, "- [symptoms, efficacy]", "- [symptoms, nonsense]")
    with pytest.raises(CodebookError, match=r"prefer\[0\]"):
        load_codebook(path)


def test_missing_file(tmp_path):
    with pytest.raises(CodebookError, match="no such codebook"):
        load_codebook(tmp_path / "nope.yml")


def test_yaml_aliases_are_refused_before_they_expand(tmp_path):
    """The YAML "billion laughs": nine levels of nine aliases would build
    a list of 387 million strings; the check reads the events unexpanded."""
    import time

    from analysis.codebook import CodebookError, load_codebook

    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        prev = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [{', '.join(['*' + prev] * 9)}]")
    bomb = tmp_path / "codebook.yml"
    bomb.write_text("\n".join(lines) + "\n")
    start = time.monotonic()
    with pytest.raises(CodebookError, match="line 1: YAML anchors and aliases"):
        load_codebook(bomb)
    assert time.monotonic() - start < 5


def test_values_of_the_wrong_type_are_listed_at_once_against_the_schema(tmp_path):
    """What the issue found crashing `check-codebook` with a traceback, and a
    misspelt key that would have been ignored without a word."""
    text = config.CODEBOOK.read_text(encoding="utf-8")
    for old, new in [
        ("scope: phrase, words: 3}", "scope: phrase, words: three}"),
        ("    label: Benefits\n", "    label: Benefits\n    certainty: true\n"),
        ("weak: true", "weak: sometimes"),
        ("  negation_window: 6", "  negation_windw: 6"),
        ("topic_share: 0.5", "topic_share: most"),
        ("  microdermabrasion:\n", "  Micro-Derm:\n"),
    ]:
        assert old in text
        text = text.replace(old, new, 1)
    with pytest.raises(CodebookError) as caught:
        load_codebook(write(tmp_path, text))
    said = str(caught.value)
    assert "6 entries to fix" in said
    for line in [
        "certainty.hedge[11].words: expected a whole number, not 'three'",
        "types.benefit.certainty: expected a string, not True",
        "cues[6].weak: expected true or false, not 'sometimes'",
        "certainty: unknown entry negation_windw",
        "attribution.topic_share: expected a number, not 'most'",
        "procedures: 'Micro-Derm' is no id",
    ]:
        assert line in said


def test_a_codebook_whose_sections_have_the_wrong_shape_is_named(tmp_path):
    path = write(tmp_path, "version: '1'\ntypes: [benefit, risk]\nprocedures: 3\n")
    with pytest.raises(CodebookError) as caught:
        load_codebook(path)
    said = str(caught.value)
    assert "types: expected a mapping" in said and "procedures: expected a mapping" in said
    assert "conditions is missing" in said and "certainty is missing" in said


def test_the_shipped_codebook_fits_its_schema():
    import yaml

    from analysis.codebook import schema_errors

    assert schema_errors(yaml.safe_load(config.CODEBOOK.read_text(encoding="utf-8"))) == []


def test_reading_names_compiles_no_pattern(tmp_path, monkeypatch):
    """A report's notebook reads the codebook for its names and labels
    (:func:`load_labels`): the full codebook's names, checked for shape, and
    not one pattern compiled (a third of a second of every report's kernel)."""
    from analysis.codebook import _Compiler, load_labels
    from analysis.figures import codebook_labels
    from analysis.notebook import check_pair

    codebook = load_codebook(config.CODEBOOK, model=None)
    path = str(write(tmp_path, config.CODEBOOK.read_text(encoding="utf-8")))

    def compile_nothing(*args, **kwargs):
        raise AssertionError("a pattern was compiled")

    monkeypatch.setattr(_Compiler, "compile", compile_nothing)
    assert check_pair("Micro-needling", "eczema", path) == ("microneedling", "atopic_dermatitis")
    names = load_labels(path)
    for kind in ("procedures", "conditions"):
        lexicon = getattr(codebook, kind)
        assert getattr(names, kind).labels == lexicon.labels
        assert getattr(names, kind).ids_by_key == lexicon.ids_by_key
    assert names.types == codebook.types
    assert names.categories == {c.id: c.label for c in codebook.categories}
    assert codebook_labels(path) == {
        **codebook.procedures.labels,
        **codebook.conditions.labels,
        **names.categories,
    }
    (tmp_path / "bad").mkdir()
    bad = write(tmp_path / "bad", "version: '1'\ntypes: [benefit, risk]\nprocedures: 3\n")
    with pytest.raises(CodebookError, match="procedures: expected a mapping"):
        load_labels(bad)


def test_names_the_schema_lets_pass_but_cannot_be_read_are_a_named_error(tmp_path, monkeypatch):
    """Where the schema and the names' reader disagree, the error still
    names the file and what could not be read, never a bare KeyError."""
    from analysis import codebook as module

    monkeypatch.setattr(module, "schema_errors", lambda raw: [])
    (tmp_path / "odd").mkdir()
    odd = write(tmp_path / "odd", "version: '1'\ntypes: {}\nprocedures: {}\n")
    with pytest.raises(
        CodebookError, match=r"odd.*names cannot be read \(KeyError: 'conditions'\)"
    ):
        module.load_labels(odd)


def test_reading_a_codebook_builds_no_automaton(tmp_path):
    """The cue automaton is built on first use, by coding, never by reading."""
    path = write(tmp_path, config.CODEBOOK.read_text(encoding="utf-8"))
    codebook = load_codebook(path, check_patterns=False, model=None)
    assert "index" not in vars(codebook.prefilter)
    codebook.prefilter.scan("Microneedling may cause redness.")
    assert "index" in vars(codebook.prefilter)
