"""Readers: one function per file format, registered by suffix in :data:`READERS`.

A reader takes a file's bytes, its path (for messages), its name
relative to the corpus root and the :class:`~analysis.config.Limits` of one
document, and yields documents (dicts with ``doc,
title, text, source`` and any metadata columns the file carries) or
:class:`Problem` rows for what it skipped or repaired. It raises
:class:`CorpusError` when the whole file is unreadable. Adding a format is
one function and one entry of :data:`READERS`; :mod:`analysis.corpus` walks
the folder, :mod:`analysis.explain` reads a single file through the same
registry.

- ``.txt``: text; ``.md``: text with optional YAML front matter (metadata);
- ``.html``/``.htm``: the article found by trafilatura's extractor;
- ``.pdf``: the text layer (pdfminer.six), lines joined into paragraphs;
- ``.docx``: the paragraphs of a Word document (python-docx);
- ``.csv``/``.jsonl``: one document per row with a text column; the other
  columns are metadata.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import itertools
import json
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from analysis import config
from analysis.bounded import TooLarge, inflate, zip_size
from analysis.errors import CorpusError


class Problem(NamedTuple):
    """A row of the problems table: what was skipped or repaired, and where."""

    doc: str
    problem: str
    action: str = "skipped"


Document = dict[str, str]
Reader = Callable[[bytes, Path, str, config.Limits], Iterator[Document | Problem]]

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
SENTENCE_END = tuple(".!?:;\"')]”’")
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)


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
        from charset_normalizer.md import mess_ratio

        candidates = from_bytes(data)
        best = candidates.best()
        if best is None:
            raise CorpusError(f"{path}: binary or undecodable file, not text") from None
        # Short texts fit several code pages equally well (the detector may
        # not even list the likeliest); among the best fits, take the one the
        # corpus's language is usually written in.
        text, name = str(best), best.encoding
        for preferred in config.PREFERRED_ENCODINGS:
            try:
                candidate = data.decode(preferred)
            except UnicodeDecodeError:
                continue
            if mess_ratio(candidate) <= best.chaos:
                text, name = candidate, preferred
                break
        repairs.append(f"not UTF-8: decoded as {name}")
    # mojibake only: quotes and widths stay as written
    fixed = ftfy.fix_encoding(text) if may_hold_mojibake(text) else text
    if fixed != text:
        repairs.append("mojibake repaired")
    return fixed, repairs


NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def may_hold_mojibake(text: str) -> bool:
    """Whether ftfy's test for mojibake (``ftfy.badness.is_bad``, the first
    thing ``ftfy.fix_encoding`` asks: no, and the text is returned as it
    is) finds any. Every sequence it looks for holds a character outside
    ASCII, so it is run only around those: mostly a few quotes and dashes
    in a page of ASCII text (a seventeenth of the time it took over the
    benchmark's whole generated pages). Should an ftfy release look for a
    sequence of ASCII alone, the whole text is searched, as ftfy does."""
    from ftfy.badness import BADNESS_RE, is_bad

    reach = _mojibake_reach(BADNESS_RE)
    if reach is None:
        return is_bad(text)
    windows: list[list[int]] = []  # around each run of such characters, overlaps merged
    for run in NON_ASCII.finditer(text):
        start, end = max(run.start() - reach, 0), min(run.end() + reach, len(text))
        if windows and start <= windows[-1][1]:
            windows[-1][1] = end
        else:
            windows.append([start, end])
    return any(BADNESS_RE.search(text, start, end) for start, end in windows)


@functools.cache
def _mojibake_reach(pattern: re.Pattern[str]) -> int | None:
    """How far a match of ``pattern`` can reach past a character outside
    ASCII (one less than its longest match), if every match holds one;
    else None. Read off the pattern's parse: every alternative must hold a
    character, or a set of characters, outside ASCII."""
    from re import _constants as C  # noqa: N812 - the parser's own names
    from re import _parser as parser

    def non_ascii(op: object, av: object) -> bool:
        if op is C.LITERAL:
            return av > 0x7F  # type: ignore[operator]
        if op is C.IN:
            return all(
                (o is C.LITERAL and a > 0x7F) or (o is C.RANGE and a[0] > 0x7F)
                for o, a in av  # type: ignore[attr-defined]
            )
        return False

    parsed = parser.parse(pattern.pattern, pattern.flags)
    items = list(parsed)
    if len(items) == 1 and items[0][0] is C.SUBPATTERN:
        items = list(items[0][1][-1])
    alternatives = items[0][1][1] if len(items) == 1 and items[0][0] is C.BRANCH else [items]
    if not all(any(non_ascii(op, av) for op, av in seq) for seq in alternatives):
        return None
    longest = parsed.getwidth()[1]
    return longest - 1 if longest < 100 else None


def _decoded(data: bytes, path: Path, rel: str) -> Iterator[Problem | str]:
    """The repairs of decoding as problems, then the text."""
    text, repairs = decode(data, path)
    for repair in repairs:
        yield Problem(rel, f"{path}: {repair}", "repaired")
    yield text


def lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time: no list of them all and no copy
    of the text (as ``splitlines`` or ``io.StringIO`` would make), so a
    200 MB article or a 96 MB ``.jsonl`` is never cut up whole."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        yield text[start:end]
        start = end + 1


def first_lines(text: str, n: int) -> Iterator[str]:
    """The first ``n`` lines of a text (see :func:`lines`)."""
    return itertools.islice(lines(text), n)


FURNITURE = [re.compile(p, re.IGNORECASE) for p in config.TITLE_FURNITURE]


def is_furniture(line: str) -> bool:
    """A line a page's template repeats, not a title: a menu word
    or a site's section (``config.NOT_TITLES``: "Guides", "Blog"), a date or
    byline alone, opening hours, a breadcrumb (``config.TITLE_FURNITURE``)."""
    plain = re.sub(r"[^\w\s]", "", line).strip().lower()
    return plain in config.NOT_TITLES or any(p.search(line.strip()) for p in FURNITURE)


def first_heading(text: str) -> str:
    """The first line of a text that reads as a title: no sentence end, at
    most 120 characters, and not a page's furniture (:func:`is_furniture`),
    which scraped pages open with."""
    for line in first_lines(text, config.TITLE_LINES):
        line = line.strip()
        if not line or is_furniture(line):
            continue
        return line if len(line) <= 120 and line[-1] not in ".!?:" else ""
    return ""


def opening(text: str, words: int = 10) -> str:
    """A stand-in title for a text with no heading: its first words, cut
    with an ellipsis (a reader recognises an article by them, not by a hash)."""
    for line in first_lines(text, 50):
        cut = line.split()
        if len(cut) >= 3 and re.sub(r"[^\w\s]", "", line).strip().lower() not in config.NOT_TITLES:
            return " ".join(cut[:words]).rstrip(",;:") + ("…" if len(cut) > words else "")
    return ""


def metadata_value(value: object) -> str:
    """A metadata value as the text the documents table holds."""
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(metadata_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value).strip()


def document(rel: str, text: str, title: str = "", **metadata: object) -> Document:
    """A document of ``rel``: its title, given or read off the text."""
    record = {
        "doc": rel,
        "title": (title if title and not is_furniture(title) else "")
        or first_heading(text)
        or opening(text)
        or Path(rel).stem,
        "text": text,
        "source": rel,
    }
    for key, value in metadata.items():
        record[str(key).strip()] = metadata_value(value)
    return record


def read_text(
    data: bytes, path: Path, rel: str, limits: config.Limits = config.LIMITS
) -> Iterator[Document | Problem]:
    """A plain text file."""
    *problems, text = _decoded(data, path, rel)
    yield from problems
    yield document(rel, text)


def read_markdown(
    data: bytes, path: Path, rel: str, limits: config.Limits = config.LIMITS
) -> Iterator[Document | Problem]:
    """A Markdown file; YAML front matter (``---`` lines) becomes metadata."""
    import yaml

    *problems, text = _decoded(data, path, rel)
    yield from problems
    match = FRONT_MATTER.match(text)
    if match is None:
        yield document(rel, text)
        return
    body = text[match.end() :]
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        yield Problem(rel, f"{path}: front matter is not YAML{line}; ignored", "repaired")
        meta = {}
    if not isinstance(meta, dict):
        yield Problem(rel, f"{path}: front matter is not a mapping of names to values; ignored")
        meta = {}
    title = metadata_value(meta.pop("title", "")) if "title" in meta else ""
    yield document(rel, body, title, **{str(k): v for k, v in meta.items()})


def read_html(
    data: bytes, path: Path, rel: str, limits: config.Limits = config.LIMITS
) -> Iterator[Document | Problem]:
    """An HTML page: the article text and title trafilatura finds."""
    import trafilatura

    *problems, html = _decoded(data, path, rel)
    yield from problems
    html = without_inert_elements(html)
    cap = limits.document_chars * config.MARKUP_PER_CHAR
    if len(html) > cap:
        raise CorpusError(
            f"{path}: {len(html):,} characters of markup (scripts and styles left out), over "
            f"the limit of {cap:,}; raise it with --max-document-mb"
        )
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
    yield document(rel, text, title)


INERT = re.compile(r"<(script|style|noscript|template|svg)\b|<!--", re.IGNORECASE)
COMMENT_END = re.compile("-->")
INERT_END = {
    tag: re.compile(rf"</{tag}\s*>", re.IGNORECASE)
    for tag in ("script", "style", "noscript", "template", "svg")
}


def without_inert_elements(html: str) -> str:
    """The page without what holds no article text (scripts, styles,
    inline images, comments), in one pass: most of a page's weight, which
    the article extractor would otherwise parse. JSON-LD metadata stays. An
    element left open runs to the end of the page, as a browser reads it."""
    parts, pos = [], 0
    while match := INERT.search(html, pos):
        parts.append(html[pos : match.start()])
        tag = (match.group(1) or "").lower()
        end = (
            INERT_END[tag].search(html, match.end())
            if tag
            else COMMENT_END.search(html, match.end())
        )
        if end is None:
            return "".join(parts)
        if tag == "script" and "ld+json" in html[match.end() : html.find(">", match.end())].lower():
            parts.append(html[match.start() : end.end()])  # metadata: title, author, date
        pos = end.end()
    parts.append(html[pos:])
    return "".join(parts)


def check_pdf_streams(data: bytes, path: Path, cap: int) -> None:
    """Refuse a PDF whose compressed streams inflate past ``cap`` bytes in
    all (a few kilobytes deflated twice can hold gigabytes), counted by the
    one capped reader before pdfminer inflates anything. A file the scan
    cannot parse is left to pdfminer, which says what is wrong with it."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser
    from pdfminer.pdftypes import LITERALS_FLATE_DECODE, PDFStream

    try:
        document = PDFDocument(PDFParser(io.BytesIO(data)))
        objects = [objid for xref in document.xrefs for objid in xref.get_objids()]
    except Exception:  # noqa: BLE001 - damaged or encrypted: pdfminer's read says so
        return
    left = cap
    for objid in dict.fromkeys(objects):
        try:
            stream = document.getobj(objid)
        except Exception:  # noqa: BLE001
            continue
        if not isinstance(stream, PDFStream):
            continue
        raw = stream.rawdata if stream.rawdata is not None else stream.data or b""
        try:
            for name, _ in stream.get_filters():
                if name not in LITERALS_FLATE_DECODE:
                    break  # images and the like: no filter of theirs inflates a bomb
                raw = inflate(raw, left)
        except TooLarge:
            raise CorpusError(
                f"{path}: its compressed streams inflate to over {cap:,} bytes, the limit "
                "(a PDF bomb?)"
            ) from None
        except zlib.error:
            continue  # a damaged stream: pdfminer skips it too
        left -= len(raw)
        if left < 0:
            raise CorpusError(
                f"{path}: its compressed streams inflate to over {cap:,} bytes, the limit "
                "(a PDF bomb?)"
            )


def read_pdf(
    data: bytes, path: Path, rel: str, limits: config.Limits = config.LIMITS
) -> Iterator[Document | Problem]:
    """A PDF's text layer: pdfminer's text boxes are paragraphs, their lines
    joined; a paragraph cut by a page break is joined again."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextBox, LTTextLine
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    check_pdf_streams(data, path, config.MAX_UNPACKED_BYTES)
    try:
        pages = list(extract_pages(io.BytesIO(data), laparams=LAParams()))
    except (PDFPasswordIncorrect, PDFEncryptionError):
        raise CorpusError(f"{path}: the PDF is encrypted; save a copy without a password") from None
    except Exception as exc:  # pdfminer raises many kinds on a damaged file
        raise CorpusError(f"{path}: not a readable PDF ({type(exc).__name__})") from None
    paragraphs: list[str] = []
    for page in pages:
        for n, box in enumerate(b for b in page if isinstance(b, LTTextBox)):
            lines = [line.get_text().strip() for line in box if isinstance(line, LTTextLine)]
            text = re.sub(r"\s+", " ", " ".join(line for line in lines if line)).strip()
            text = re.sub(r"(\w)- (\w)", r"\1-\2", text)  # a hyphen at a line's end
            if not text:
                continue
            # a paragraph cut by a page break goes on in lower case
            continued = n == 0 and paragraphs and not paragraphs[-1].endswith(SENTENCE_END)
            if continued and text[0].islower():
                paragraphs[-1] += " " + text
                continue
            paragraphs.append(text)
    if not paragraphs:
        raise CorpusError(
            f"{path}: the PDF has no text layer (a scanned document?); "
            "run OCR on it first (e.g. ocrmypdf)"
        )
    yield document(rel, "\n".join(paragraphs))


def read_docx(
    data: bytes, path: Path, rel: str, limits: config.Limits = config.LIMITS
) -> Iterator[Document | Problem]:
    """A Word document's paragraphs, one a line; its title from the document
    properties or its first heading."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            size = zip_size(package, config.MAX_UNPACKED_BYTES)
        if size > config.MAX_UNPACKED_BYTES:
            raise CorpusError(
                f"{path}: unpacks to over {config.MAX_UNPACKED_BYTES:,} bytes, the limit "
                "(a zip bomb?)"
            )
        word = docx.Document(io.BytesIO(data))
    except (
        zipfile.BadZipFile,
        PackageNotFoundError,
        KeyError,
        ValueError,
        RuntimeError,  # an encrypted member
        EOFError,
        zlib.error,  # a damaged one
        SyntaxError,  # its XML: truncated, nested too deep, an entity bomb (lxml's errors)
    ) as exc:
        if isinstance(exc, CorpusError):
            raise
        raise CorpusError(
            f"{path}: not a Word .docx file (an encrypted or older .doc file? "
            "save it as .docx without a password)"
        ) from None
    lines = [p.text.strip() for p in word.paragraphs if p.text.strip()]
    title = (word.core_properties.title or "").strip()
    yield document(rel, "\n".join(lines), title)


def _csv_rows(raw: str, rel: str, delimiter: str = ",") -> Iterator[tuple[int, dict] | Problem]:
    """Rows of a CSV text; stops at bad quoting with a problem."""
    csv.field_size_limit(config.MAX_CSV_CELL)  # an article is more than csv's 128 kB default
    reader = csv.reader(io.StringIO(raw, newline=""), strict=True, delimiter=delimiter)
    try:
        header = next(reader)
        for row in reader:
            if row:
                yield reader.line_num, dict(zip(header, row, strict=False))
    except StopIteration:
        return
    except csv.Error as exc:
        yield Problem(
            f"{rel}#{reader.line_num}", f"line {reader.line_num}: {exc}; rest of file skipped"
        )


def _jsonl_rows(raw: str, rel: str) -> Iterator[tuple[int, dict] | Problem]:
    for n, line in enumerate(lines(raw), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Problem(f"{rel}#{n}", f"line {n} is not JSON: {exc.msg}")
            continue
        if not isinstance(row, dict):
            yield Problem(f"{rel}#{n}", f"line {n} is not a JSON object")
            continue
        yield n, row


def read_document_table(
    data: bytes, path: Path, rel: str, limits: config.Limits = config.LIMITS
) -> Iterator[Document | Problem]:
    """A .csv or .jsonl file of documents, one a row: the first text column
    of ``config.TEXT_COLUMNS``, an id and a title column when present; every
    other column is metadata."""
    *problems, raw = _decoded(data, path, rel)
    del data  # the bytes are no longer needed: only the text is held from here on
    yield from problems
    rows = []
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        items = _jsonl_rows(raw, rel)
    else:
        items = _csv_rows(raw, rel, "\t" if suffix == ".tsv" else ",")
    for item in items:
        if isinstance(item, Problem):
            yield item
        else:
            rows.append(item)
    del raw, items  # each row holds its own text now
    columns = list(dict.fromkeys(c for _, r in rows for c in r))
    named = {str(c).strip().lower(): c for c in reversed(columns)}  # first of a name wins

    def column(names: tuple[str, ...]) -> str | None:
        return next((named[n] for n in names if n in named), None)

    text_col = column(config.TEXT_COLUMNS)
    if text_col is None:
        raise CorpusError(
            f"{path}: no text column; name one of {', '.join(config.TEXT_COLUMNS)} (in any case)"
        )
    id_col = column(config.ID_COLUMNS)
    title_col = column(config.TITLE_COLUMNS)
    reserved = {text_col, id_col, title_col, *config.RESERVED_COLUMNS}
    extra = [c for c in columns if c not in reserved]
    keys: dict[str, int] = {}
    for n, row in rows:
        key = str(row.get(id_col) or n) if id_col else str(n)
        keys[key] = keys.get(key, 0) + 1
        if keys[key] > 1:  # a repeated id: the row is kept under a name of its own
            yield Problem(
                f"{rel}#{key}~{keys[key]}",
                f"{path}: row {n} repeats the id {key!r}; kept as {key}~{keys[key]}",
                "repaired",
            )
            key = f"{key}~{keys[key]}"
        doc = f"{rel}#{key}"
        text = row.get(text_col)
        if not isinstance(text, str) or not text.strip():
            yield Problem(doc, f"row {n} has an empty `{text_col}`")
            continue
        title = str(row.get(title_col) or "") if title_col else ""
        record = document(doc, text, title, **{c: row.get(c) for c in extra})
        record["source"] = rel
        yield record


READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".md": read_markdown,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
    ".docx": read_docx,
    ".markdown": read_markdown,
    ".csv": read_document_table,
    ".tsv": read_document_table,
    ".jsonl": read_document_table,
}
