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
