"""Corpus in: a folder of articles becomes the documents table.

Reads ``.txt`` and ``.md`` files as text, ``.html``/``.htm`` files through
trafilatura's article extractor, and ``.jsonl``/``.csv`` files with a text
column (one document a row).

Documents table, one row per document:

=========  ==============================================================
doc        path relative to the corpus root (``file.csv#id`` for rows)
title      the page title, the first heading line, or the file name
text       the article text that offsets in the claims table point into
sha256     hash of ``text``: the document's identity for caches
source     the file it came from, relative to the corpus root
=========  ==============================================================

Problems table (:func:`load_corpus` returns it beside the documents), one
row per file or row that was skipped: ``doc, problem, action``. One bad file
never stops the others.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from analysis import config

DOCUMENT_COLUMNS = ["doc", "title", "text", "sha256", "source"]
PROBLEM_COLUMNS = ["doc", "problem", "action"]


class CorpusError(ValueError):
    """A corpus file cannot be read; the message names the file."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def corpus_files(root: Path) -> list[Path]:
    """Files under ``root`` the loader reads, sorted for a stable order."""
    suffixes = config.TEXT_SUFFIXES + config.HTML_SUFFIXES + config.TABLE_SUFFIXES
    return sorted(
        p for p in root.rglob("*") if p.suffix.lower() in suffixes and not p.name.startswith(".")
    )


def read_text(path: Path) -> str:
    """Decode a text file; UTF-8 (with or without BOM), else a clear error."""
    data = path.read_bytes()
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CorpusError(f"{path}: binary file, not text")
    for encoding in ("utf-8-sig", "utf-16"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CorpusError(f"{path}: not UTF-8 text; convert it to UTF-8 and run again")


def html_to_text(html: str, path: Path) -> tuple[str, str]:
    """Article text and title of an HTML page, through trafilatura."""
    import trafilatura

    text = trafilatura.extract(
        html,
        include_comments=False,
        include_tables=False,
        include_links=False,
        favor_precision=True,
    )
    if not text:
        raise CorpusError(f"{path}: no article text found in the HTML")
    meta = trafilatura.extract_metadata(html)
    title = meta.title if meta is not None and meta.title else ""
    return text, title


def first_heading(text: str) -> str:
    """The first line of a text when it reads as a title (no sentence end)."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= 120 and line[-1] not in ".!?:" else ""
    return ""


def _record(doc: str, title: str, text: str, source: str) -> dict[str, str]:
    return {"doc": doc, "title": title, "text": text, "sha256": sha256(text), "source": source}


def _table_rows(path: Path, rel: str) -> Iterator[dict[str, str] | tuple[str, str]]:
    """Documents of a .jsonl/.csv corpus file; (doc, problem) for a bad row."""
    raw = read_text(path)
    if path.suffix.lower() == ".jsonl":
        rows = []
        for n, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield (f"{rel}#{n}", f"line {n} is not JSON: {exc.msg}")
                continue
            if not isinstance(row, dict):
                yield (f"{rel}#{n}", f"line {n} is not a JSON object")
                continue
            rows.append((n, row))
    else:
        reader = csv.DictReader(io.StringIO(raw))
        rows = list(enumerate(reader, 2))
    columns = set().union(*(r.keys() for _, r in rows)) if rows else set()
    text_col = next((c for c in config.TEXT_COLUMNS if c in columns), None)
    if text_col is None:
        raise CorpusError(f"{path}: no text column; name one of {', '.join(config.TEXT_COLUMNS)}")
    id_col = next((c for c in config.ID_COLUMNS if c in columns), None)
    title_col = next((c for c in config.TITLE_COLUMNS if c in columns), None)
    for n, row in rows:
        key = str(row.get(id_col) or n) if id_col else str(n)
        doc = f"{rel}#{key}"
        text = row.get(text_col)
        if not isinstance(text, str) or not text.strip():
            yield (doc, f"row {n} has an empty `{text_col}`")
            continue
        title = str(row.get(title_col) or "") if title_col else ""
        yield _record(doc, title or first_heading(text), text, rel)


def load_corpus(root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read every article under ``root``: (documents, problems) tables."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"{root}: no such corpus folder")
    records: list[dict[str, str]] = []
    problems: list[dict[str, str]] = []
    for path in corpus_files(root):
        rel = path.relative_to(root).as_posix()
        suffix = path.suffix.lower()
        try:
            if suffix in config.TABLE_SUFFIXES:
                for item in _table_rows(path, rel):
                    if isinstance(item, tuple):
                        problems.append({"doc": item[0], "problem": item[1], "action": "skipped"})
                    else:
                        records.append(item)
                continue
            raw = read_text(path)
            if suffix in config.HTML_SUFFIXES:
                text, title = html_to_text(raw, path)
            else:
                text, title = raw, ""
            if not text.strip():
                raise CorpusError(f"{path}: empty file")
            records.append(_record(rel, title or first_heading(text) or path.stem, text, rel))
        except (CorpusError, OSError) as exc:
            problems.append({"doc": rel, "problem": str(exc), "action": "skipped"})
    documents = pd.DataFrame(records, columns=DOCUMENT_COLUMNS)
    return documents, pd.DataFrame(problems, columns=PROBLEM_COLUMNS)
