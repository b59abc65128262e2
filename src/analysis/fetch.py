"""Corpus from addresses: download pages politely into a corpus folder.

:func:`read_addresses` takes a list of addresses: a text file with one
address a line (``#`` comments allowed), or a ``.csv``/``.tsv`` table with
a ``url`` column whose other columns (kind of source, outlet, ...) become
the articles' metadata. :func:`fetch` downloads each page with httpx:

- politely: robots.txt is obeyed (RFC 9309: a missing one allows all, an
  unreachable one forbids all), one request at a time with
  ``config.FETCH_DELAY`` seconds between two requests to one host, a user
  agent that names the project, timeouts, and retries with exponential
  backoff on time-outs, connection errors and 429/5xx answers (a
  ``Retry-After`` is honoured);
- keeping what was served: the raw HTML (or PDF, or text) under
  ``OUT/<host>/``, read later by :mod:`analysis.readers` like any file;
- with its metadata: ``OUT/metadata.csv`` gets a row per page (``doc, url,
  final_url, title, site, author, date, fetched, status`` and the address
  list's own columns), read by :mod:`analysis.metadata`;
- incrementally: an address whose page is already in the folder is not
  fetched again.

A page that fails is a row of the problems table (``doc`` is the address,
``problem`` the reason), never an error; it is fetched again next time.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import time
import urllib.robotparser
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

import analysis
from analysis import config
from analysis.errors import FetchError
from analysis.readers import decode
from analysis.schema import FETCH_COLUMNS, PROBLEM_COLUMNS
from analysis.tables import write_table

SUFFIXES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}
RETRY_STATUS = {429, 500, 502, 503, 504}
USER_AGENT = (
    f"claimscope/{analysis.__version__} (research corpus builder; "
    "+https://github.com/claimscope/claimscope)"
)


def read_addresses(path: str | Path) -> pd.DataFrame:
    """The addresses to fetch: a ``url`` column and any metadata columns.
    Lines that are no http(s) address are refused, naming the line."""
    path = Path(path)
    try:
        text, _ = decode(path.read_bytes(), path)
    except OSError as exc:
        raise FetchError(f"{path}: cannot read the list of addresses ({exc.strerror})") from None
    if path.suffix.lower() in (".csv", ".tsv"):
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
        if not rows or "url" not in rows[0]:
            raise FetchError(f"{path}: the table needs a `url` column (one address a row)")
        table = pd.DataFrame(rows).fillna("")
        lines = [(n, str(u).strip()) for n, u in enumerate(table["url"], 2)]
    else:
        lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)]
        lines = [(n, u) for n, u in lines if u and not u.startswith("#")]
        table = pd.DataFrame({"url": [u for _, u in lines]})
    bad = [f"line {n}: {u!r}" for n, u in lines if urlsplit(u).scheme not in ("http", "https")]
    if bad:
        raise FetchError(
            f"{path}: not http(s) addresses: {'; '.join(bad[:5])}"
            + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        )
    table["url"] = [u for _, u in lines]
    return table.drop_duplicates("url").reset_index(drop=True)


def doc_name(url: str, suffix: str) -> str:
    """Where a page is kept in the corpus: ``<host>/<path slug>-<hash><suffix>``."""
    parts = urlsplit(url)
    host = re.sub(r"[^a-z0-9.-]+", "_", parts.netloc.lower()) or "unknown"
    slug = re.sub(r"[^a-z0-9]+", "-", parts.path.lower()).strip("-")[:60] or "index"
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:8]
    return f"{host}/{slug}-{digest}{suffix}"


class Politeness:
    """One request at a time, ``delay`` seconds apart per host, and each
    host's robots.txt, read once."""

    def __init__(self, client, delay: float, sleep: Callable[[float], None] = time.sleep):
        self.client, self.delay, self.sleep = client, delay, sleep
        self.last: dict[str, float] = {}
        self.robots: dict[str, urllib.robotparser.RobotFileParser | str] = {}

    def wait(self, url: str) -> None:
        host = urlsplit(url).netloc
        since = time.monotonic() - self.last.get(host, -1e9)
        if since < self.delay:
            self.sleep(self.delay - since)
        self.last[host] = time.monotonic()

    def allowed(self, url: str) -> str:
        """ "" when robots.txt lets this user agent fetch ``url``, else why not."""
        import httpx

        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self.robots:
            self.wait(root)
            try:
                answer = self.client.get(f"{root}/robots.txt")
            except httpx.HTTPError as exc:
                self.robots[root] = f"robots.txt unreachable ({type(exc).__name__}): not fetched"
            else:
                if answer.status_code >= 500:
                    self.robots[root] = f"robots.txt answered {answer.status_code}: not fetched"
                else:
                    parser = urllib.robotparser.RobotFileParser()
                    lines = answer.text.splitlines() if answer.status_code == 200 else []
                    parser.parse(lines)  # no robots.txt (4xx): everything is allowed
                    self.robots[root] = parser
        rules = self.robots[root]
        if isinstance(rules, str):
            return rules
        return "" if rules.can_fetch(USER_AGENT, url) else "robots.txt forbids this address"


def _get(url: str, polite: Politeness, retries: int, backoff: float):
    """The answer to ``url``, retried on time-outs, connection errors and
    429/5xx; (response, body, reason): reason is "" on success."""
    import httpx

    reason, wait = "", 0.0
    for attempt in range(retries + 1):
        if attempt:
            polite.sleep(wait)
        polite.wait(url)
        wait = backoff * 2**attempt  # unless the server says how long
        try:
            with polite.client.stream("GET", url) as answer:
                received = bytearray()  # grows in place: no copy of the page per chunk
                for chunk in answer.iter_bytes():
                    received += chunk
                    if len(received) > config.FETCH_MAX_BYTES:
                        return answer, b"", f"larger than {config.FETCH_MAX_BYTES:,} bytes"
                body = bytes(received)
        except httpx.TimeoutException:
            reason = "timed out"
        except httpx.TooManyRedirects:
            return None, b"", "too many redirects"
        except httpx.HTTPError as exc:
            reason = f"connection failed ({type(exc).__name__})"
        else:
            if answer.status_code not in RETRY_STATUS:
                if answer.status_code >= 400:
                    return answer, b"", f"HTTP {answer.status_code} {answer.reason_phrase}"
                return answer, body, ""
            reason = f"HTTP {answer.status_code} {answer.reason_phrase}"
            after = answer.headers.get("retry-after", "")
            if after.isdigit():
                wait = min(float(after), config.FETCH_MAX_RETRY_AFTER)
    return None, b"", f"{reason} (after {retries + 1} attempts)"


def _page_metadata(body: bytes, suffix: str, url: str) -> dict[str, str]:
    """Title, site, author and date of an HTML page (trafilatura's metadata)."""
    meta = {"title": "", "site": urlsplit(url).netloc, "author": "", "date": ""}
    if suffix != ".html":
        return meta
    import trafilatura

    found = trafilatura.extract_metadata(decode(body, Path(url))[0], default_url=url)
    if found is not None:
        meta["title"] = found.title or ""
        meta["site"] = found.sitename or meta["site"]
        meta["author"] = found.author or ""
        meta["date"] = found.date or ""
    return meta


def fetch(
    addresses: pd.DataFrame,
    out: str | Path,
    delay: float = config.FETCH_DELAY,
    timeout: float = config.FETCH_TIMEOUT,
    retries: int = config.FETCH_RETRIES,
    backoff: float = config.FETCH_BACKOFF,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fetch what is missing of ``addresses`` (:func:`read_addresses`) into
    the corpus folder ``out``: (metadata rows of this run's pages, problems)."""
    import httpx

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta_path = out / "metadata.csv"
    known = pd.read_csv(meta_path, dtype=str).fillna("") if meta_path.is_file() else None
    done = set()
    if known is not None and {"doc", "url"} <= set(known.columns):
        done = {u for u, d in zip(known["url"], known["doc"], strict=True) if (out / d).is_file()}
    extra = [c for c in addresses.columns if c != "url"]
    rows, problems = [], []
    client = httpx.Client(
        headers={"User-Agent": USER_AGENT},
        timeout=timeout,
        follow_redirects=True,
        max_redirects=config.FETCH_MAX_REDIRECTS,
    )
    with client:
        polite = Politeness(client, delay)
        for record in addresses.to_dict("records"):
            url = record["url"]
            if url in done:
                continue
            refused = polite.allowed(url)
            if refused:
                problems.append({"doc": url, "problem": refused, "action": "skipped"})
                continue
            answer, body, reason = _get(url, polite, retries, backoff)
            kind = answer.headers.get("content-type", "").split(";")[0].strip() if answer else ""
            suffix = SUFFIXES.get(kind.lower())
            if not reason and suffix is None:
                reason = f"not an article: content type {kind or 'unknown'}"
            if reason:
                problems.append({"doc": url, "problem": reason, "action": "skipped: fetch again"})
                continue
            doc = doc_name(url, suffix)
            (out / doc).parent.mkdir(parents=True, exist_ok=True)
            (out / doc).write_bytes(body)
            rows.append(
                {
                    "doc": doc,
                    "url": url,
                    "final_url": str(answer.url),
                    **_page_metadata(body, suffix, url),
                    "fetched": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "status": str(answer.status_code),
                    **{c: record[c] for c in extra},
                }
            )
    fetched = pd.DataFrame(rows, columns=FETCH_COLUMNS + extra)
    if rows:
        table = fetched if known is None else pd.concat([known, fetched], ignore_index=True)
        write_table(table.drop_duplicates("doc", keep="last").fillna(""), meta_path)
    problem_table = pd.DataFrame(problems, columns=PROBLEM_COLUMNS)
    write_table(problem_table, out / ".fetch" / "problems.csv")
    return fetched, problem_table
