"""Extraction speed against spaCy and the scan floor, at two corpus sizes.

    python benchmarks/extraction.py            # 500 and 5,000 documents
    python benchmarks/extraction.py --docs 1000 --small 100

Generates a corpus from the bundled one (deterministic: paragraphs
recombined, procedure and condition names swapped for others of the codebook
so that every pair occurs), then times on one core, each in its own process
so that its peak memory is its own:

- claimscope: the full extraction with the shipped learned coder, streamed
  from disk (analysis.cache), in one process;
- claimscope-all: the same as a user runs it, with every core the machine
  lends (config.WORKERS processes for a large corpus);
- rules: the same with the codebook's rules alone (--model none), so that
  the learned coder's cost is a ratio within one run;
- baseline A: spacy.blank("en") with a sentencizer and a PhraseMatcher over
  the codebook's procedure and condition synonyms and cue heads;
- baseline B: one Aho-Corasick scan (pyahocorasick) of the same phrases.

Prints words per second, the ratios, and peak memory (max RSS). Needs the
bench extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from itertools import product
from pathlib import Path

from analysis import config
from analysis.codebook import load_codebook
from analysis.corpus import corpus_files, decode
from analysis.prefilter import literal_heads

WORDS_PER_DOC = 1000


def read_text(path: Path) -> str:
    return decode(path.read_bytes(), path)[0]


def generate(root: Path, n_docs: int, seed: int = 13) -> None:
    """``n_docs`` articles of about WORDS_PER_DOC words from the bundled corpus."""
    codebook = load_codebook(config.CODEBOOK)
    paragraphs = [
        line
        for path in sorted(config.CORPUS.iterdir())
        for line in read_text(path).splitlines()
        if len(line.split()) >= 5
    ]
    pairs = list(product(codebook.procedures.labels, codebook.conditions.labels))
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n_docs):
        procedure, condition = pairs[i % len(pairs)]
        lines, words = [], 0
        while words < WORDS_PER_DOC:
            line = rng.choice(paragraphs)
            lines.append(line)
            words += len(line.split())
        text = "\n\n".join(lines)
        text = codebook.procedures.pattern.sub(procedure.replace("_", " "), text)
        text = codebook.conditions.pattern.sub(condition.replace("_", " "), text)
        (root / f"doc_{i:05d}.txt").write_text(text, encoding="utf-8")


def phrases() -> list[str]:
    """Procedure and condition synonyms and the cue heads, lower case."""
    codebook = load_codebook(config.CODEBOOK)
    out = set(codebook.procedures.ids_by_key) | set(codebook.conditions.ids_by_key)
    for category in codebook.categories:
        for cue in category.cues:
            out |= literal_heads(cue.pattern) or set()
    return sorted(p for p in out if len(p) >= 3)


def measure(kind: str, corpus: Path) -> dict:
    """Run one extractor over the corpus on one core (but claimscope-all):
    words, seconds."""
    if kind != "claimscope-all":
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    if kind in ("claimscope", "claimscope-all", "rules"):
        from analysis.cache import extract_corpus

        codebook = load_codebook(config.CODEBOOK, model=None if kind == "rules" else config.MODEL)
        workers = config.WORKERS if kind == "claimscope-all" else 1
        start = time.perf_counter()
        claims, documents, _ = extract_corpus(corpus, codebook, workers=workers)
        seconds = time.perf_counter() - start
        found = len(claims)
    else:
        texts = (read_text(p) for p in corpus_files(corpus))
        if kind == "spacy":
            import spacy
            from spacy.matcher import PhraseMatcher

            nlp = spacy.blank("en")
            nlp.add_pipe("sentencizer")
            matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
            matcher.add("CODEBOOK", list(nlp.tokenizer.pipe(phrases())))
            start = time.perf_counter()
            found = 0
            for doc in nlp.pipe(texts):
                found += len(matcher(doc))
            seconds = time.perf_counter() - start
        else:
            import ahocorasick

            automaton = ahocorasick.Automaton()
            for phrase in phrases():
                automaton.add_word(phrase, phrase)
            automaton.make_automaton()
            start = time.perf_counter()
            found = sum(sum(1 for _ in automaton.iter(t.lower())) for t in texts)
            seconds = time.perf_counter() - start
    words = sum(len(read_text(p).split()) for p in corpus_files(corpus))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"kind": kind, "words": words, "seconds": seconds, "found": found, "max_rss_mb": rss}


def run(kind: str, corpus: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, "--corpus", str(corpus)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5000, help="large corpus (default: 5000)")
    parser.add_argument("--small", type=int, default=500, help="small corpus (default: 500)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.corpus)))
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.small, args.docs):
            corpus = Path(tmp) / f"corpus_{n}"
            generate(corpus, n)
            kinds = ("claimscope", "claimscope-all", "rules", "spacy", "ahocorasick")
            results[n] = {k: run(k, corpus) for k in kinds}
    print(
        f"{'documents':>9} {'extractor':<14} {'words':>10} {'seconds':>8} {'words/s':>10} {'max RSS MB':>10}"
    )
    for n, row in results.items():
        for r in row.values():
            print(
                f"{n:>9} {r['kind']:<14} {r['words']:>10,} {r['seconds']:>8.2f} "
                f"{r['words'] / r['seconds']:>10,.0f} {r['max_rss_mb']:>10.0f}"
            )
    for n, row in results.items():
        speed = {k: r["words"] / r["seconds"] for k, r in row.items()}
        print(
            f"{n} documents: claimscope {speed['claimscope']:,.0f} words/s on one core "
            f"(target >= 150,000) = {speed['claimscope'] / speed['spacy']:.2f}x baseline A "
            f"(target >= 0.3), {speed['claimscope'] / speed['ahocorasick']:.2f}x baseline B, "
            f"{speed['claimscope'] / speed['rules']:.2f}x the rules alone; with every core "
            f"{speed['claimscope-all'] / speed['claimscope']:.2f}x one core"
        )
    small, large = (results[n]["claimscope"] for n in (args.small, args.docs))
    growth = (large["words"] / large["seconds"]) / (small["words"] / small["seconds"])
    print(
        f"claimscope throughput at {args.docs} documents is {growth:.2f}x that at {args.small} "
        f"(target within 0.8-1.2); max RSS {small['max_rss_mb']:.0f} -> {large['max_rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
