"""Extraction of a whole corpus, streamed and cached per document.

:func:`extract_corpus` walks a corpus folder one document at a time
(:func:`analysis.corpus.iter_documents`), extracts each
(:func:`analysis.extract.extract_document`) and returns three tables: the
claims table, the documents table without ``text`` (``doc, title, sha256,
source``) and the problems table. Texts are never held all at once, so
memory grows with the claims, not with the corpus.

With a cache folder, each document's claim rows are kept as JSON under
``CACHE/<key>/<sha256>.json``: the document's content hash, and a key that
changes with the codebook's and the learned coder's content hashes and with
the extractor itself (the
package version and the source of the modules that code a sentence). A
re-run extracts only the documents whose text, or whose coding rules,
changed. Entries are written atomically; delete the folder (or pass
``--rebuild``) to start afresh.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import pandas as pd

import analysis
from analysis import config
from analysis.codebook import Codebook
from analysis.corpus import corpus_files, documents_table, iter_documents
from analysis.extract import BATCH, SET_ASIDE, Extracted, extract_documents, with_ids
from analysis.files import write_text
from analysis.schema import CLAIM_COLUMNS, PROBLEM_COLUMNS
from analysis.workers import die_with_parent

CHUNK_ROWS = 20_000
CODING_MODULES = (
    "codebook.py",
    "extract.py",
    "prefilter.py",
    "segment.py",
    "config.py",
    "coding/__init__.py",
    "coding/attribution.py",
    "coding/certainty.py",
    "coding/clauses.py",
    "coding/cues.py",
    "coding/features.py",
    "coding/learned.py",
    "coding/model_files.py",
    "coding/quantity.py",
    "coding/vectors.py",
    "coding/page.py",
)


def cache_key(codebook: Codebook) -> str:
    """What a cached coding depends on besides the text: codebook, learned
    coder and extractor."""
    model = codebook.model.sha256 if codebook.model else "rules"
    h = hashlib.sha256(f"{codebook.sha256}\n{model}\n{analysis.__version__}\n".encode())
    here = Path(__file__).parent
    for name in CODING_MODULES:
        h.update((here / name).read_bytes())
    return h.hexdigest()[:24]


def extract_corpus(
    root: str | Path,
    codebook: Codebook,
    cache: str | Path | None = None,
    files: list[Path] | None = None,
    keep_text: bool = False,
    metadata: str | Path | None = None,
    limits: config.Limits = config.LIMITS,
    each: Callable[[dict], None] | None = None,
    workers: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(claims, documents, problems) of the corpus at ``root`` (or of some of
    its ``files``), through the cache when one is given. The documents table
    leaves out ``text`` unless ``keep_text`` (for the commands that show or
    segment the texts); it carries the corpus's metadata columns (from
    ``metadata``, default the corpus's ``metadata.csv``); ``each`` is called
    with every document read, text included (the report writes its article
    pages so, one text at a time). Every command reaches claims through here: one
    reader, one deduplication, one coder and one cache key.

    With ``workers`` > 1 (the commands give ``config.WORKERS``), a corpus of
    ``config.PARALLEL_DOCUMENTS`` files or more is coded by that many
    processes while this one reads the next documents; batches come back in
    corpus order, so the tables are the same, and at most ``IN_FLIGHT``
    batches per worker are out at once (memory stays bounded). The workers
    are spawned: a script that asks for them runs its work under
    ``if __name__ == "__main__":``, as :mod:`multiprocessing` requires."""
    folder = Path(cache) / cache_key(codebook) if cache else None
    problems: list[dict[str, str]] = []
    documents: list[dict[str, str]] = []
    chunks: list[pd.DataFrame] = []
    rows: list[dict] = []
    # Documents wait here, in corpus order, until BATCH of them need coding:
    # the learned coder decides a batch at once.
    pending: list[tuple[dict[str, str], Extracted | None]] = []
    out: deque[tuple[list[tuple[dict[str, str], Extracted | None]], Future]] = deque()
    n_workers = 1
    if workers > 1:  # the corpus is walked once more only when workers may pay
        many = files if files is not None else _files(root)
        n_workers = workers if len(many) >= config.PARALLEL_DOCUMENTS else 1

    def collect(limit: int) -> None:
        """Take the oldest batches back while more than ``limit`` are out."""
        nonlocal rows
        while len(out) > limit:
            batch, future = out.popleft()
            coded = iter(future.result())
            for document, cached in batch:
                if cached is None:
                    cached = next(coded)
                    if folder is not None:
                        _store(folder, document, cached)
                rows.extend(cached.rows)
                problems.extend(
                    {"doc": document["doc"], "problem": note, "action": SET_ASIDE}
                    for note in cached.notes
                )
            if len(rows) >= CHUNK_ROWS:  # Python rows cost 3x a table's: keep few of them
                chunks.append(with_ids(pd.DataFrame(rows, columns=CLAIM_COLUMNS)))
                rows = []

    with _coder(codebook, n_workers) as code:

        def flush() -> None:
            todo = [(d["doc"], d["text"]) for d, cached in pending if cached is None]
            # the texts go to the coder; the batch keeps the documents without them
            batch = [({k: v for k, v in d.items() if k != "text"}, c) for d, c in pending]
            out.append((batch, code(todo)))
            pending.clear()
            collect(IN_FLIGHT * n_workers)

        for document in iter_documents(root, problems, files, metadata, limits):
            if each is not None:
                each(document)
            documents.append({k: v for k, v in document.items() if keep_text or k != "text"})
            pending.append((document, _cached(folder, document)))
            if sum(c is None for _, c in pending) >= BATCH or len(pending) >= 4 * BATCH:
                flush()
        flush()
        collect(0)
    chunks.append(with_ids(pd.DataFrame(rows, columns=CLAIM_COLUMNS)))
    return (
        pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0],
        documents_table(documents, text=keep_text),
        pd.DataFrame(problems, columns=PROBLEM_COLUMNS),
    )


IN_FLIGHT = 2  # batches out per worker: one being coded, one waiting


def _files(root: str | Path) -> list[Path]:
    """The files a corpus walk will read (none when ``root`` is no folder:
    the walk says so)."""
    return corpus_files(Path(root)) if Path(root).is_dir() else []


@contextlib.contextmanager
def _coder(codebook: Codebook, workers: int) -> Iterator[Callable[[list], Future]]:
    """A function that codes a batch of (doc, text) and returns a future of
    its :class:`Extracted` list: here, at once, for one worker; else in a
    pool of ``workers`` processes, each given the codebook once, started
    when a first batch needs coding (a corpus the cache holds starts none)."""

    def here(items: list[tuple[str, str]]) -> Future:
        future: Future = Future()
        future.set_result(extract_documents(items, codebook) if items else [])
        return future

    if workers <= 1:
        yield here
        return
    import multiprocessing
    import pickle
    from concurrent.futures import ProcessPoolExecutor

    pools: list[ProcessPoolExecutor] = []

    def there(items: list[tuple[str, str]]) -> Future:
        if not items:
            return here(items)
        if not pools:
            pools.append(
                ProcessPoolExecutor(
                    max_workers=workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(pickle.dumps(codebook), os.getpid()),
                )
            )
        return pools[0].submit(_code_in_worker, items)

    try:
        yield there
    finally:
        for pool in pools:
            pool.shutdown(cancel_futures=True)


# A worker process's codebook, set once when it starts (its own, not shared).
_WORKER: dict[str, Codebook] = {}


def _start_worker(codebook: bytes, parent: int) -> None:
    import pickle

    die_with_parent(parent)  # a kill -9 of the run must not leave it waiting
    _WORKER["codebook"] = pickle.loads(codebook)  # noqa: S301 - our own, from the parent


def _code_in_worker(items: list[tuple[str, str]]) -> list[Extracted]:
    return extract_documents(items, _WORKER["codebook"]) if items else []


def _cached(folder: Path | None, document: dict[str, str]) -> Extracted | None:
    """A document's cached claim rows and notes, or None when it must be coded."""
    if folder is None:
        return None
    try:
        cached = json.loads((folder / f"{document['sha256']}.json").read_text(encoding="utf-8"))
        rows = [{**row, "doc": document["doc"]} for row in cached["rows"]]
        notes = [str(note) for note in cached["notes"]]
    except (OSError, ValueError, TypeError, KeyError):
        return None  # missing, unreadable or of another shape: extract again
    return Extracted(rows, notes)


def _store(folder: Path, document: dict[str, str], extracted: Extracted) -> None:
    entry = folder / f"{document['sha256']}.json"
    rows = [{k: v for k, v in r.items() if k != "doc"} for r in extracted.rows]
    write_text(entry, json.dumps({"rows": rows, "notes": extracted.notes}))
