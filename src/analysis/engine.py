"""Beyond one machine: extraction on a Dask cluster.

:func:`extract_dask` splits the corpus's files into partitions, extracts
each partition on a Dask worker (:func:`analysis.cache.extract_corpus` on its
files) and writes the claims table as partitioned Parquet, one file per
partition, in corpus order. The partitions are written to ``.OUT.partial``
beside the output and replace it whole once all are written, so an
interrupted run leaves the last complete output in place; an output folder
holding other files is refused before any work. A second copy of a text is dropped across
partitions as the local engine drops it, so both engines give the same
claims. Without a scheduler address a ``LocalCluster`` on this machine is
started; with one (``tcp://host:8786``) the workers must reach the corpus
folder and the codebook at the same paths (a shared drive).

Read the result with ``pandas.read_parquet(folder)``, or, when it does not fit
comfortably in memory, query it in place with DuckDB:
``duckdb.sql("select type, count(*) from 'claims/*.parquet' group by type")``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.codebook import Codebook, load_codebook
from analysis.corpus import scan
from analysis.errors import CorpusError, OutputError
from analysis.schema import PROBLEM_COLUMNS
from analysis.tables import check_output

PART = re.compile(r"part-\d{5}\.parquet")


def _extract_partition(
    root: str, files: list[str], codebook_path: str, model_path: str, limits: config.Limits
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Runs on a worker: (claims, documents, problems) of some files."""
    from analysis.cache import extract_corpus

    # checked by the client; the worker codes with the client's model
    codebook = load_codebook(codebook_path, check_patterns=False, model=model_path)
    # one process per partition: Dask's workers are the parallelism
    return extract_corpus(root, codebook, files=[Path(f) for f in files], limits=limits, workers=1)


def _write_partition(claims: pd.DataFrame, drop: set[str], path: str) -> int:
    """Runs on a worker: write a partition's claims less the duplicates."""
    from analysis.tables import write_table

    kept = claims[~claims["doc"].isin(drop)].reset_index(drop=True)
    write_table(kept, path)
    return len(kept)


def extract_dask(
    corpus: str | Path,
    codebook: Codebook,
    out: str | Path,
    scheduler: str | None = None,
    partitions: int = 0,
    limits: config.Limits = config.LIMITS,
) -> tuple[int, pd.DataFrame, int]:
    """Extract ``corpus`` on Dask into ``out/part-NNNNN.parquet``:
    (claim rows written, problems table, documents)."""
    from dask import delayed
    from dask.distributed import Client, LocalCluster

    root = Path(corpus).resolve()
    if not root.is_dir():
        raise CorpusError(f"{root}: no such corpus folder")
    found, skipped = scan(root)
    files = [str(p) for p in found]
    out = Path(out)
    _check_replaceable(out)
    # The new partitions go to a folder beside the output and replace it
    # whole once all are written: an interrupted run leaves the last
    # complete output in place.
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    cluster = None if scheduler else LocalCluster(n_workers=2, threads_per_worker=1)
    try:
        with Client(scheduler or cluster) as client:
            n = partitions or max(1, 4 * len(client.scheduler_info()["workers"]))
            chunks = _contiguous(files, n)
            model = codebook.model.path if codebook.model else "none"
            parts = [
                delayed(_extract_partition)(str(root), c, codebook.path, model, limits)
                for c in chunks
            ]
            results = client.compute(parts, sync=True)
            drop, problems, n_docs = _duplicates(results)
            writes = [
                delayed(_write_partition)(claims, drop, str(staging / f"part-{i:05d}.parquet"))
                for i, (claims, _, _) in enumerate(results)
            ]
            written = sum(client.compute(writes, sync=True))
    finally:
        if cluster is not None:
            cluster.close()
    _replace(out, staging)
    skipped_rows = pd.DataFrame(skipped, columns=PROBLEM_COLUMNS)
    return written, pd.concat([skipped_rows, problems], ignore_index=True), n_docs


def _check_replaceable(out: Path) -> None:
    """Refuse, before any work, an output folder that holds anything but
    the partitions of an earlier run: replacing it would delete that."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: is a file; name a folder for the Parquet partitions")
    others = [p.name for p in out.iterdir() if not PART.fullmatch(p.name)] if out.exists() else []
    if others:
        raise OutputError(
            f"{out}: holds {', '.join(sorted(others)[:3])}"
            f"{' ...' if len(others) > 3 else ''}, not only part-NNNNN.parquet files of an "
            "earlier run; name a new folder"
        )
    check_output(out, table=False)


def _replace(out: Path, staging: Path) -> None:
    """Put the complete ``staging`` folder in the place of ``out``."""
    old = out.with_name(f".{out.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    staging.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _contiguous(files: list[str], n: int) -> list[list[str]]:
    """``files`` cut into ``n`` runs in order, so partitions keep corpus order
    (an empty corpus is one empty partition: an empty claims table)."""
    size = max(1, -(-len(files) // max(n, 1)))
    return [files[i : i + size] for i in range(0, len(files), size)] or [[]]


def _duplicates(results: list) -> tuple[set[str], pd.DataFrame, int]:
    """Documents whose text an earlier partition already had, as problems."""
    seen: dict[str, str] = {}
    drop: set[str] = set()
    problems = []
    n_docs = 0
    for _, documents, part_problems in results:
        problems.append(part_problems)
        for doc, sha in zip(documents["doc"], documents["sha256"], strict=True):
            first = seen.setdefault(sha, doc)
            if first != doc:
                drop.add(doc)
                problems.append(
                    pd.DataFrame(
                        [
                            {
                                "doc": doc,
                                "problem": f"same text as {first}",
                                "action": "skipped: counted once",
                            }
                        ]
                    )
                )
            else:
                n_docs += 1
    table = (
        pd.concat(problems, ignore_index=True)
        if problems
        else pd.DataFrame(columns=PROBLEM_COLUMNS)
    )
    return drop, table, n_docs
