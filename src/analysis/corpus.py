"""Corpus in: a folder of articles becomes the documents table.

Each file is read by the reader its suffix names in
:data:`analysis.readers.READERS` (text, Markdown, HTML, PDF, Word, and
``.csv``/``.jsonl`` files of one document a row). Hidden files and folders
(``.cache``, ``.fetch``) and the corpus's metadata table are not articles.

Documents table, one row per document:

=========  ==============================================================
doc        path relative to the corpus root (``file.csv#id`` for rows)
title      the page title, the first heading line, or the file name
text       the article text that offsets in the claims table point into
sha256     hash of ``text``: the document's identity for caches
source     the file it came from, relative to the corpus root
words      the number of words of ``text`` (the denominator of claims per 1,000 words)
...        metadata columns, when the corpus has any (:mod:`analysis.metadata`)
=========  ==============================================================

Problems table (:func:`load_corpus` returns it beside the documents), one
row per file or row that was skipped or repaired: ``doc, problem, action``.
One bad file never stops the others. Text that is not UTF-8 is decoded from
the encoding charset-normalizer detects (Windows-1252, Latin-1, UTF-16 with
its BOM), mojibake is repaired by ftfy, and each such repair is listed. The
loader stays inside the corpus folder: a link that points outside it is
skipped, and nothing a file names is ever fetched.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.metadata import metadata_file, normalise_dates, read_metadata
from analysis.readers import READERS, CorpusError, Problem, decode, first_heading
from analysis.schema import DOCUMENT_COLUMNS, PROBLEM_COLUMNS

__all__ = ["CorpusError", "decode", "first_heading", "iter_documents", "load_corpus"]

WORDS = re.compile(r"[^\W\d_]{2,}(?:\s+[^\W\d_]{2,}){2,}")  # three words in a row

# Lone UTF-16 surrogates: in scraped text (half an emoji) and in file names
# that are not UTF-8 (Python's surrogateescape); no encoder writes them.
SURROGATES = re.compile("[\ud800-\udfff]")


def word_count(text: str, chunk: int = 1 << 20) -> int:
    """Words of a text (runs of non-space), listed a chunk at a time (a
    large article is never split whole); a word cut by a chunk's end is
    counted once."""
    count, in_word = 0, False
    for i in range(0, len(text), chunk):
        part = text[i : i + chunk]
        count += len(part.split()) - (in_word and not part[0].isspace())
        in_word = not part[-1].isspace()
    return count


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def text_key(text: str, chunk: int = 1 << 20) -> str:
    """The identity of a text for finding copies: its words, whatever the
    line ends and spacing between them, hashed a chunk at a time (a large
    article is never copied whole to be compared)."""
    h = hashlib.sha256()
    started = in_word = False
    for i in range(0, len(text), chunk):
        part = text[i : i + chunk]
        words = part.split()
        if words:
            joined = " ".join(words)
            if started and (part[0].isspace() or not in_word):
                joined = " " + joined
            h.update(joined.encode("utf-8", "surrogatepass"))
            started = True
        in_word = bool(part) and not part[-1].isspace()
    return h.hexdigest()


def corpus_files(root: Path) -> list[Path]:
    """Files under ``root`` a reader takes, sorted for a stable order (see :func:`scan`)."""
    return scan(root)[0]


def scan(root: Path) -> tuple[list[Path], list[Problem]]:
    """(files a reader takes, problems for the files it leaves). Not read,
    without a word: hidden files and folders, the ``*_files/`` folders of
    pages saved from a browser, report folders (with ``provenance.json``)
    and their ``.work`` folders, and the metadata table. Not read, and
    listed: a file of a format no reader takes, or that is no regular file
    (a named pipe would hang the run), a link to a folder, a folder that
    cannot be listed or lies deeper than ``config.MAX_FOLDER_DEPTH``. The
    walk keeps its own stack: a tree thousands of levels deep is no
    recursion."""
    meta = metadata_file(root)
    files: list[Path] = []
    skipped: list[Problem] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            name = folder.relative_to(root).as_posix()
            skipped.append(Problem(name, f"{folder}: cannot list the folder ({exc.strerror})"))
            continue
        if any(e.name == "provenance.json" for e in entries):
            continue  # a report folder written inside the corpus
        depth = len(folder.relative_to(root).parts) + 1
        for entry in entries:
            path = Path(entry.path)
            name = path.relative_to(root).as_posix()
            if entry.name.startswith(".") or path == meta:
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name.endswith(("_files", config.WORK_SUFFIX)):
                    continue
                if depth >= config.MAX_FOLDER_DEPTH:
                    skipped.append(
                        Problem(
                            name,
                            f"{path}: a folder over {config.MAX_FOLDER_DEPTH} levels deep; "
                            "not read",
                        )
                    )
                    continue
                stack.append(path)
            elif entry.is_symlink() and path.is_dir():
                skipped.append(Problem(name, f"{path}: a link to a folder; not followed"))
            elif path.suffix.lower() not in READERS:
                skipped.append(
                    Problem(
                        name,
                        f"{path}: {path.suffix or 'no'} format is not read; save it as one of "
                        + ", ".join(sorted(READERS)),
                    )
                )
            elif path.exists() and not path.is_file():
                skipped.append(Problem(name, f"{path}: not a regular file (a pipe or device)"))
            else:
                files.append(path)
    return sorted(files), sorted(skipped)


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, links followed, stays inside ``root``."""
    try:
        path.resolve(strict=True).relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


def load_corpus(
    root: str | Path,
    metadata: str | Path | None = None,
    limits: config.Limits = config.LIMITS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read every article under ``root``: (documents, problems) tables."""
    problems: list[dict[str, str]] = []
    records = list(iter_documents(root, problems, metadata=metadata, limits=limits))
    return documents_table(records), pd.DataFrame(problems, columns=PROBLEM_COLUMNS)


def documents_table(records: list[dict[str, str]], text: bool = True) -> pd.DataFrame:
    """The documents table of records: the corpus's own columns, then the
    metadata columns in the order they first appear (empty where unknown)."""
    own = [c for c in DOCUMENT_COLUMNS if text or c != "text"]
    extra = list(dict.fromkeys(k for r in records for k in r if k not in DOCUMENT_COLUMNS))
    table = pd.DataFrame(records, columns=own + extra)
    if extra:
        table[extra] = table[extra].fillna("")
    return table


class Overtime(BaseException):
    """A document's reading ran over its time budget. A BaseException, so
    that no reader's ``except Exception`` swallows it."""


# Seconds between the alarms that follow the first: an exception a signal
# handler raises while a finalizer or a garbage-collector callback runs is
# swallowed (printed as "Exception ignored"), so the alarm rings again until
# the block has ended.
ALARM_REPEAT = 0.05


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise :class:`Overtime` in the block once ``seconds`` have passed,
    and again every ``ALARM_REPEAT`` seconds until it ends (SIGALRM: only
    where the run holds the main thread; elsewhere, such as a Dask worker's
    thread, the block runs unbounded). No alarm outlives the block."""
    if (
        seconds <= 0
        or not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    ended = False

    def expire(signum: int, frame: object) -> None:
        if not ended:
            raise Overtime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, ALARM_REPEAT)
    try:
        yield
    finally:
        ended = True  # from here an alarm raises nothing
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _within_budget(items: Iterator, seconds: float) -> Iterator:
    """``items``, each of them produced within ``seconds``."""
    while True:
        with time_budget(seconds):
            item = next(items, None)
        if item is None:
            return
        yield item


def iter_documents(
    root: str | Path,
    problems: list[dict[str, str]],
    files: list[Path] | None = None,
    metadata: str | Path | None = None,
    limits: config.Limits = config.LIMITS,
) -> Iterator[dict[str, str]]:
    """The documents under ``root`` one at a time (rows of the documents
    table), so that a large corpus is never held whole; each problem is
    appended to ``problems`` as a row of the problems table. ``files``
    restricts the walk to some of the corpus's files (a partition); a
    second copy of a text is skipped, within what is walked. ``metadata``
    is a metadata table (default: the corpus's ``metadata.csv``)."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"{root}: no such corpus folder")
    seen: dict[str, str] = {}

    def problem(doc: str, what: str, action: str = "skipped") -> None:
        row = {"doc": doc, "problem": what, "action": action}
        problems.append({k: SURROGATES.sub("\ufffd", v) for k, v in row.items()})

    meta_path = Path(metadata) if metadata else metadata_file(root)
    table: dict[str, dict[str, str]] = {}
    if meta_path is not None:
        table, meta_problems = read_metadata(meta_path)
        for p in meta_problems:
            problem(*p)
    matched: set[str] = set()

    def once(record: dict[str, str]) -> Iterator[dict[str, str]]:
        if any(SURROGATES.search(record[k]) for k in ("doc", "title", "text")):
            # half an emoji or a name in another encoding: nothing downstream
            # could write it, so it is replaced and the document kept
            record = {k: SURROGATES.sub("\ufffd", v) for k, v in record.items()}
            problem(
                record["doc"], "characters that are no text (lone surrogates) replaced", "repaired"
            )
        if record["doc"] in table:
            matched.add(record["doc"])
            extra = table[record["doc"]]
            record = {**record, **{k: v for k, v in extra.items() if v or k not in record}}
        for p in normalise_dates(record):
            problem(*p)
        record["sha256"] = sha256(record["text"])
        record["words"] = word_count(record["text"])
        # copies that differ in line ends or spacing only are one article
        first = seen.setdefault(text_key(record["text"]), record["doc"])
        if first != record["doc"]:
            problem(record["doc"], f"same text as {first}", "skipped: counted once")
        else:
            yield record

    whole = files is None  # the whole corpus is walked: metadata rows can be checked
    if files is None:
        files, skipped = scan(root)
        for p in skipped:
            problem(*p)
    for path in files:
        rel = SURROGATES.sub("\ufffd", path.relative_to(root).as_posix())
        if rel != path.relative_to(root).as_posix():
            problem(rel, f"{rel}: the file name is not UTF-8; shown with \ufffd", "repaired")
        if path.is_symlink() and not path.exists():
            problem(rel, f"{path}: broken link")
            continue
        if not inside(path, root):
            problem(rel, f"{path}: link points outside the corpus folder")
            continue
        reader = READERS[path.suffix.lower()]
        try:
            size = path.stat().st_size
            per_char = config.FILE_BYTES_PER_CHAR.get(path.suffix.lower())  # one-article files
            if per_char and size > limits.document_chars * per_char:
                raise CorpusError(
                    f"{path}: a file of {size / 1e6:,.0f} MB, too large to be one article "
                    f"(the limit is {limits.document_chars / 1e6:g} million characters of "
                    "text); raise it with --max-document-mb"
                )
            items = reader(path.read_bytes(), path, rel, limits)
            for item in _within_budget(items, limits.document_seconds):
                if isinstance(item, Problem):
                    problem(*item)
                    continue
                if item["doc"] == rel:  # a whole file is one article: check it is one
                    if not item["text"].strip():
                        raise CorpusError(f"{path}: empty file")
                    if not WORDS.search(item["text"]):
                        raise CorpusError(f"{path}: no sentence in the file")
                if len(item["text"]) > limits.document_chars:
                    problem(
                        item["doc"],
                        f"{len(item['text']):,} characters of text, over the limit of "
                        f"{limits.document_chars:,} for one article; raise it with "
                        "--max-document-mb",
                    )
                    continue
                yield from once(item)
        except (CorpusError, OSError) as exc:
            problem(rel, str(exc))
        except Overtime:
            problem(
                rel,
                f"{path}: reading took over {limits.document_seconds:g} s, the limit for one "
                "document (a page built to stall the article extractor?); raise it with "
                "--document-seconds",
            )
    if whole:
        for doc in sorted(set(table) - matched):
            problem(doc, f"{meta_path}: names {doc}, which is not in the corpus; row ignored")
