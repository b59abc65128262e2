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
row per file or row that was skipped or repaired: ``doc, problem, action``.
One bad file never stops the others. Text that is not UTF-8 is decoded from
the encoding charset-normalizer detects (Windows-1252, Latin-1, UTF-16 with
its BOM), mojibake is repaired by ftfy, and each such repair is listed. The
loader stays inside the corpus folder: a link that points outside it is
skipped, and nothing a file names is ever fetched.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from analysis import config

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
WORDS = re.compile(r"[^\W\d_]{2,}(?:\s+[^\W\d_]{2,}){2,}")  # three words in a row

DOCUMENT_COLUMNS = ["doc", "title", "text", "sha256", "source"]
# Lone UTF-16 surrogates: in scraped text (half an emoji) and in file names
# that are not UTF-8 (Python's surrogateescape); no encoder writes them.
SURROGATES = re.compile("[\ud800-\udfff]")
PROBLEM_COLUMNS = ["doc", "problem", "action"]


class CorpusError(ValueError):
    """A corpus file cannot be read; the message names the file."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def corpus_files(root: Path) -> list[Path]:
    """Files under ``root`` the loader reads, sorted for a stable order."""
    suffixes = config.TEXT_SUFFIXES + config.HTML_SUFFIXES + config.TABLE_SUFFIXES
    return sorted(
        p for p in root.rglob("*") if p.suffix.lower() in suffixes and not p.name.startswith(".")
    )


def decode(data: bytes, path: Path) -> tuple[str, list[str]]:
    """Text of a file's bytes and the repairs made: a BOM's encoding, else
    UTF-8, else the encoding charset-normalizer detects; mojibake fixed."""
    import ftfy

    repairs = []
    encoding = next((enc for bom, enc in BOMS if data.startswith(bom)), None)
    if encoding is None and b"\x00" in data[:8192]:
        raise CorpusError(f"{path}: binary file, not text")
    try:
        text = data.decode(encoding or "utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        candidates = from_bytes(data)
        best = candidates.best()
        if best is None:
            raise CorpusError(f"{path}: binary or undecodable file, not text") from None
        # Short texts fit several code pages equally well; among the best
        # fits, take the one the corpus's language is usually written in.
        best = next(
            (
                m
                for m in candidates
                if m.encoding in config.PREFERRED_ENCODINGS and m.chaos <= best.chaos
            ),
            best,
        )
        text = str(best)
        repairs.append(f"not UTF-8: decoded as {best.encoding}")
    fixed = ftfy.fix_encoding(text)  # mojibake only: quotes and widths stay as written
    if fixed != text:
        repairs.append("mojibake repaired")
    return fixed, repairs


def read_text(path: Path) -> str:
    """Decode a text file (see :func:`decode`), dropping the repair notes."""
    return decode(path.read_bytes(), path)[0]


def inside(path: Path, root: Path) -> bool:
    """Whether ``path``, links followed, stays inside ``root``."""
    try:
        path.resolve(strict=True).relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return True


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


def _csv_rows(raw: str, rel: str) -> Iterator[tuple[int, dict] | tuple[str, str]]:
    """Rows of a CSV text; stops at bad quoting with a (doc, problem)."""
    reader = csv.reader(io.StringIO(raw, newline=""), strict=True)
    try:
        header = next(reader)
        for row in reader:
            if row:
                yield reader.line_num, dict(zip(header, row, strict=False))
    except StopIteration:
        return
    except csv.Error as exc:
        yield (f"{rel}#{reader.line_num}", f"line {reader.line_num}: {exc}; rest of file skipped")


def _table_rows(raw: str, path: Path, rel: str) -> Iterator[dict[str, str] | tuple[str, str]]:
    """Documents of a .jsonl/.csv corpus file; (doc, problem) for a bad row."""
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
        rows = []
        for item in _csv_rows(raw, rel):
            if isinstance(item[0], str):
                yield item  # bad quoting
            else:
                rows.append(item)
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
    problems: list[dict[str, str]] = []
    records = list(iter_documents(root, problems))
    return (
        pd.DataFrame(records, columns=DOCUMENT_COLUMNS),
        pd.DataFrame(problems, columns=PROBLEM_COLUMNS),
    )


def iter_documents(
    root: str | Path, problems: list[dict[str, str]], files: list[Path] | None = None
) -> Iterator[dict[str, str]]:
    """The documents under ``root`` one at a time (rows of the documents
    table), so that a large corpus is never held whole; each problem is
    appended to ``problems`` as a row of the problems table. ``files``
    restricts the walk to some of the corpus's files (a partition); a
    second copy of a text is skipped, within what is walked."""
    root = Path(root)
    if not root.is_dir():
        raise CorpusError(f"{root}: no such corpus folder")
    seen: dict[str, str] = {}

    def problem(doc: str, what: str, action: str = "skipped") -> None:
        row = {"doc": doc, "problem": what, "action": action}
        problems.append({k: SURROGATES.sub("\ufffd", v) for k, v in row.items()})

    def once(record: dict[str, str]) -> Iterator[dict[str, str]]:
        if any(SURROGATES.search(record[k]) for k in ("doc", "title", "text")):
            # half an emoji or a name in another encoding: nothing downstream
            # could write it, so it is replaced and the document kept
            record = {k: SURROGATES.sub("\ufffd", v) for k, v in record.items()}
            record["sha256"] = sha256(record["text"])
            problem(
                record["doc"], "characters that are no text (lone surrogates) replaced", "repaired"
            )
        first = seen.setdefault(record["sha256"], record["doc"])
        if first != record["doc"]:
            problem(record["doc"], f"same text as {first}", "skipped: counted once")
        else:
            yield record

    for path in corpus_files(root) if files is None else files:
        rel = SURROGATES.sub("\ufffd", path.relative_to(root).as_posix())
        if rel != path.relative_to(root).as_posix():
            problem(rel, f"{rel}: the file name is not UTF-8; shown with \ufffd", "repaired")
        suffix = path.suffix.lower()
        if path.is_symlink() and not path.exists():
            problem(rel, f"{path}: broken link")
            continue
        if not inside(path, root):
            problem(rel, f"{path}: link points outside the corpus folder")
            continue
        try:
            text, repairs = decode(path.read_bytes(), path)
            for repair in repairs:
                problem(rel, f"{path}: {repair}", "repaired")
            if suffix in config.TABLE_SUFFIXES:
                for item in _table_rows(text, path, rel):
                    if isinstance(item, tuple):
                        problem(*item)
                    else:
                        yield from once(item)
                continue
            title = ""
            if suffix in config.HTML_SUFFIXES:
                text, title = html_to_text(text, path)
            if not text.strip():
                raise CorpusError(f"{path}: empty file")
            if not WORDS.search(text):
                raise CorpusError(f"{path}: no sentence in the file")
            record = _record(rel, title or first_heading(text) or path.stem, text, rel)
        except (CorpusError, OSError) as exc:
            problem(rel, str(exc))
            continue
        yield from once(record)
