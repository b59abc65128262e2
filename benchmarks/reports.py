"""Report speed: cold runs with a kernel per page against pages sharing one,
re-runs with nothing changed, and ``analysis --help``, each a whole process.

    python benchmarks/reports.py                       # the bundled corpus, 3 rounds
    python benchmarks/reports.py --corpus ../shared/annotation/dev/corpus --rounds 2

Each round builds the report cold into a new folder twice, alternated (the
machine's speed drifts: compare within a round): once with every page in a
kernel of its own (``config.PAGES_PER_KERNEL = 1``, as before pages shared
kernels) and once as shipped; then re-runs the second with nothing changed.
Prints the seconds, the pages, and the ratios. Targets (issue 25): a re-run
<= 1.5 s, ``--help`` <= 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis import config

RUN = (
    "import sys; from analysis import config; config.PAGES_PER_KERNEL = {pages}; "
    "from analysis.cli import main; sys.exit(main({args!r}))"
)


def timed(args: list[str], pages: int = config.PAGES_PER_KERNEL) -> float:
    """Seconds of one ``analysis`` command, whole process."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", RUN.format(pages=pages, args=args)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=config.CORPUS)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            row = {}
            for label, pages in (("kernel each", 1), ("shared", config.PAGES_PER_KERNEL)):
                out = Path(tmp) / f"round{r}-{pages}"
                row[label] = timed(
                    ["report", "--corpus", str(args.corpus), "--out", str(out)], pages
                )
            row["re-run"] = timed(["report", "--corpus", str(args.corpus), "--out", str(out)])
            row["--help"] = timed(["--help"])
            row["pages"] = sum(1 for page in out.glob("*.html") if page.name != "index.html")
            rows.append(row)
            print(
                f"round {r + 1}: {row['pages']} pages; cold, a kernel per page "
                f"{row['kernel each']:.1f} s, pages sharing a kernel ({config.PAGES_PER_KERNEL} "
                f"at most) {row['shared']:.1f} s ({row['shared'] / row['kernel each']:.2f}x); "
                f"re-run with nothing changed {row['re-run']:.2f} s; --help {row['--help']:.2f} s",
                flush=True,
            )
    median = {k: statistics.median(row[k] for row in rows) for k in rows[0] if k != "pages"}
    print(
        f"median of {len(rows)} rounds: cold {median['kernel each']:.1f} -> {median['shared']:.1f} s "
        f"({median['shared'] / median['kernel each']:.2f}x); re-run {median['re-run']:.2f} s "
        f"(target <= 1.5); --help {median['--help']:.2f} s (target <= 0.5)"
    )


if __name__ == "__main__":
    main()
