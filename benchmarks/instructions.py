"""Coding's instruction count against another revision: a figure this shared
machine's noise does not move.

    python benchmarks/instructions.py                  # HEAD against the work tree, 20 documents
    python benchmarks/instructions.py --base main~3 --docs 40

Seconds on this machine move by up to a quarter within a sitting, so a
change worth a few percent is lost in them. Instructions are not: valgrind's
callgrind counts the same total for the same program, inputs and hash seed,
whatever else the machine does. This script checks the ``--base`` revision
out into a temporary git worktree, generates ``--docs`` documents
(:func:`extraction.generate`), and counts, for each side, the instructions of
coding them (:func:`analysis.extract.code_documents` in batches, the codebook
and model loaded and one document coded before counting starts, so imports,
loading and first-use caches are left out), with ``PYTHONHASHSEED=0`` (set
iteration order changes what is done), both sides' packages at paths of
one length (the work tree's ``src`` and ``data`` are copied beside the
base's). Prints both counts and their ratio: the same code counts within
0.05% of itself.

Instructions are not seconds: a regular expression's or numpy's inner loop
runs more instructions a cycle than Python's interpreter. Use it to tell
whether a change does less work; time the result with
``benchmarks/extraction.py``. Needs valgrind (Debian's package) and git; a
side takes about 40 s per 20 documents under callgrind.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info")
# Run under callgrind with instrumentation off until the coding; what is
# counted is what runs inside exec() (--toggle-collect=builtin_exec): the
# coding alone, not the asynchronous switching around it.
CODE = """
import os, subprocess, sys
from pathlib import Path
from analysis import config
from analysis.codebook import load_codebook
from analysis.corpus import corpus_files, decode
from analysis.extract import BATCH, code_documents
codebook = load_codebook(config.CODEBOOK)
items = [(p.name, decode(p.read_bytes(), p)[0]) for p in corpus_files(Path(sys.argv[1]))]
code_documents(items[:1], codebook)
subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)
exec("for start in range(0, len(items), BATCH): code_documents(items[start : start + BATCH], codebook)")
subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True, capture_output=True)
"""


def instructions(src: Path, corpus: Path) -> int:
    """Instructions of coding ``corpus`` with the package at ``src``."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(src)}
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--toggle-collect=builtin_exec",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            CODE,
            str(corpus),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="git revision to compare with (HEAD)")
    parser.add_argument("--docs", type=int, default=20, help="generated documents (20)")
    args = parser.parse_args()
    from extraction import generate

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(base), args.base],
            check=True,
            capture_output=True,
        )
        try:
            corpus = Path(tmp) / "corpus"
            generate(corpus, args.docs)
            # Both sides at paths of one length: a longer path moves every
            # object's address, and with them the order of what is hashed by
            # identity (0.2% more instructions for the same code, measured).
            work = Path(tmp) / "work"
            for folder in ("src", "data"):  # the package and its codebook, as they are now
                shutil.copytree(ROOT / folder, work / folder, ignore=IGNORED)
            before = instructions(base / "src", corpus)
            after = instructions(work / "src", corpus)
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                check=False,
                capture_output=True,
            )
    print(f"coding {args.docs} generated documents, instructions (callgrind, PYTHONHASHSEED=0):")
    print(f"  {args.base:<12} {before:>16,}")
    print(f"  {'work tree':<12} {after:>16,}")
    print(f"  ratio {after / before:.4f} (work tree / {args.base})")


if __name__ == "__main__":
    main()
