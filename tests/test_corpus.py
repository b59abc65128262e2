from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.corpus import CorpusError, load_corpus


def test_loads_text_markdown_html_jsonl_csv(tmp_path):
    (tmp_path / "a.txt").write_text("IPL helps rosacea.\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# Peels\n\nChemical peels help melasma.\n")
    (tmp_path / "c.html").write_text(
        "<html><head><title>Laser guide</title><script>var x = 1;</script></head><body>"
        "<nav>Home | About | Contact</nav><article><h1>Laser guide</h1>"
        + "<p>Laser resurfacing can reduce the appearance of acne scars in many patients. "
        "Most people need several sessions to see the full effect of the treatment.</p>"
        * 3
        + "</article><footer>Copyright</footer></body></html>"
    )
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"id": "x1", "title": "PRP", "text": "PRP can help hair loss."}) + "\n"
    )
    (tmp_path / "e.csv").write_text('id,text\nr1,"Dermaplaning exfoliates, gently."\n')
    docs, problems = load_corpus(tmp_path)
    assert problems.empty
    assert list(docs["doc"]) == ["a.txt", "c.html", "d.jsonl#x1", "e.csv#r1", "sub/b.md"]
    html = docs.set_index("doc").loc["c.html"]
    assert "acne scars" in html.text and "var x" not in html.text and "About" not in html.text
    assert html.title == "Laser guide"
    assert docs.set_index("doc").loc["d.jsonl#x1", "title"] == "PRP"
    assert docs["sha256"].str.len().eq(64).all()


def test_bad_files_are_listed_not_fatal(tmp_path):
    (tmp_path / "good.txt").write_text("IPL helps rosacea.")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02" * 10)
    (tmp_path / "latin.txt").write_bytes("Un caf\xe9 cr\xe8me tr\xe8s chaud.".encode("latin-1"))
    (tmp_path / "notext.csv").write_text("id,body_html\n1,x\n")
    (tmp_path / "rows.jsonl").write_text('{"text": "IPL helps."}\nnot json\n{"text": ""}\n')
    docs, problems = load_corpus(tmp_path)
    assert set(docs["doc"]) == {"good.txt", "latin.txt", "rows.jsonl#1"}
    reasons = dict(zip(problems["doc"], problems["problem"], strict=True))
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "not UTF-8: decoded as" in reasons["latin.txt"]
    assert "caf\xe9 cr\xe8me" in docs.set_index("doc").loc["latin.txt", "text"]
    assert "no text column" in reasons["notext.csv"]
    assert "not JSON" in reasons["rows.jsonl#2"]
    assert "empty" in reasons["rows.jsonl#3"]
    assert all(p.startswith(str(tmp_path)) or "#" in d for d, p in reasons.items() if "#" not in d)


def test_missing_folder():
    with pytest.raises(CorpusError, match="no such corpus folder"):
        load_corpus("/nonexistent/corpus")


def test_a_time_budget_whose_first_alarm_is_swallowed_still_ends_the_block():
    """An exception raised by the alarm while a finalizer or a garbage-
    collector callback runs is swallowed; the alarm rings again, and none
    rings once the block has ended."""
    import time

    from analysis.corpus import Overtime, time_budget

    start, swallowed = time.monotonic(), []
    with pytest.raises(Overtime), time_budget(0.1):
        try:
            while time.monotonic() - start < 5:
                pass
        except Overtime:  # as "Exception ignored in ..." would
            swallowed.append(time.monotonic() - start)
        while time.monotonic() - start < 5:
            pass
    assert swallowed and time.monotonic() - start < 1
    with time_budget(0.1):
        pass
    time.sleep(0.3)  # a stray alarm would raise here


def test_mojibake_is_looked_for_around_characters_outside_ascii_as_ftfy_does():
    """The test for mojibake run only around characters outside ASCII
    answers as ftfy's over the whole text, on samples of each kind of
    mojibake and on random mixes of its characters; texts are repaired as
    ftfy repairs them."""
    import random

    import ftfy
    from ftfy.badness import BADNESS_RE, MOJIBAKE_CATEGORIES, is_bad

    from analysis.readers import _mojibake_reach, decode, may_hold_mojibake

    assert _mojibake_reach(BADNESS_RE) is not None  # the fast path is the one taken
    samples = [
        "sÃ³",
        "voilÃ le travail",
        "the laserâ€™s results",
        "вЂ™ and ГўВЂВ™s",
        "Ã the start",
        "plain ASCII text, nothing else.",
        "The laser’s results — “good” for café owners…",
        "× ² after",
        "x" * 50 + "Ã" + " " + "y" * 50,
        "a Ã word",
        "ab ГўВЂВ™s",
    ]
    rng = random.Random(0)
    every = sorted(set("".join(MOJIBAKE_CATEGORIES.values())))
    # the characters the sequences name one by one, and a few of each category
    named = "ÂÃÎÐØÙŒœ€™²³×°µàâäêóìîïòôúùûπ±√≈‚вЂВГРСўβΆΞΟΒΓā\xa0\x85"
    plain = "abXY .,?!\n'-"
    for _ in range(40_000):
        alphabet = named + "".join(rng.sample(every, 12))
        samples.append(
            "".join(
                rng.choice(alphabet) if rng.random() < 0.4 else rng.choice(plain)
                for _ in range(rng.randint(1, 24))
            )
        )
    assert sum(map(is_bad, samples)) > 1000  # both answers are tested
    for text in samples:
        assert may_hold_mojibake(text) == is_bad(text), repr(text)
    for text in samples[:11]:
        assert decode(text.encode("utf-8"), Path("t.txt"))[0] == ftfy.fix_encoding(text)


def test_words_are_counted_a_chunk_at_a_time_as_runs_of_non_space():
    import random
    import re

    from analysis.corpus import word_count

    rng = random.Random(0)
    for _ in range(2000):
        text = "".join(
            rng.choice("ab \n\t\u00a0\u2003\x1c\x85x") for _ in range(rng.randint(0, 40))
        )
        for chunk in (1, 2, 3, 7, 1 << 20):
            assert word_count(text, chunk) == len(re.findall(r"\S+", text)), (text, chunk)
