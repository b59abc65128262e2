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
import zlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

import pandas as pd

import analysis
from analysis import config
from analysis.bounded import GZIP, ZLIB, TooLarge, inflate_stream
from analysis.errors import FetchError
from analysis.readers import decode
from analysis.schema import FETCH_COLUMNS, PROBLEM_COLUMNS
from analysis.tables import read_table, write_table

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


def _valid(url: str) -> bool:
    """An http(s) address with a host fetch can name a folder after."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is no number
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(host)
        and ".." not in host
        and not host.startswith(".")
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
    bad = [f"line {n}: {u!r}" for n, u in lines if not _valid(u)]
    if bad:
        raise FetchError(
            f"{path}: not http(s) addresses: {'; '.join(bad[:5])}"
            + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        )
    table["url"] = [u for _, u in lines]
    return table.drop_duplicates("url").reset_index(drop=True)


class Refused(Exception):
    """A page, or a hop of its redirects, that is not fetched; the message says why."""


def stored(url: str) -> str:
    """An address as it may be kept (in a file name, ``metadata.csv``, a claim
    row's ``doc``): without the user name and password it may carry."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def doc_name(url: str, suffix: str) -> str:
    """Where a page is kept in the corpus: ``<host>/<path slug>-<hash><suffix>``,
    always a plain file name under one folder of ``--out`` (a host of dots or
    of nothing is ``unknown``; no credentials)."""
    url = stored(url)
    parts = urlsplit(url)
    host = re.sub(r"[^a-z0-9.-]+", "_", (parts.hostname or "").lower()).strip(".")
    if not host or not re.search(r"[a-z0-9]", host):
        host = "unknown"
    slug = re.sub(r"[^a-z0-9]+", "-", parts.path.lower()).strip("-")[:60] or "index"
    digest = hashlib.sha1(url.encode("utf-8")).hexdigest()[:8]
    return f"{host}/{slug}-{digest}{suffix}"


def check_address(url: str, allow_private: bool = False) -> None:
    """Refuse an address fetch must not reach: another scheme than http(s),
    no host, or a host that resolves to a loopback, private, link-local or
    reserved address (server-side request forgery), unless ``allow_private``."""
    import ipaddress
    import socket

    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise Refused(f"not a valid address ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise Refused(f"not an http(s) address: {parts.scheme or '(no scheme)'}")
    if not host or ".." in host or host.startswith("."):
        raise Refused("no valid host in the address")
    if allow_private:
        return
    try:
        found = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise Refused(f"host {host} not found ({exc})") from None
    for *_, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise Refused(
                f"{host} is a private, loopback or reserved address ({address}): not fetched "
                "(--allow-private fetches from such hosts)"
            )


class Politeness:
    """One request at a time, ``delay`` seconds apart per host, each host's
    robots.txt read once (capped at ``config.ROBOTS_MAX_BYTES``), and the
    addresses fetch may reach (:func:`check_address`)."""

    def __init__(
        self,
        client,
        delay: float,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = config.FETCH_TIMEOUT,
        allow_private: bool = False,
    ):
        self.client, self.delay, self.sleep = client, delay, sleep
        self.timeout, self.allow_private = timeout, allow_private
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
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        if root not in self.robots:
            try:
                answer, body = follow(
                    f"{root}/robots.txt", self, config.ROBOTS_MAX_BYTES, robots=False
                )
            except Refused as exc:
                self.robots[root] = f"robots.txt not read ({exc}): not fetched"
            else:
                if answer.status_code >= 500:
                    self.robots[root] = f"robots.txt answered {answer.status_code}: not fetched"
                else:
                    parser = urllib.robotparser.RobotFileParser()
                    text = body.decode("utf-8", "replace") if answer.status_code == 200 else ""
                    parser.parse(text.splitlines())  # no robots.txt (4xx): everything is allowed
                    self.robots[root] = parser
        rules = self.robots[root]
        if isinstance(rules, str):
            return rules
        return "" if rules.can_fetch(USER_AGENT, url) else "robots.txt forbids this address"


# Content encodings the body is inflated from, one layer at most.
ENCODINGS = {"gzip": GZIP, "x-gzip": GZIP, "deflate": ZLIB}


def read_body(answer, cap: int, deadline: float) -> bytes:
    """The body of an answer, inflated as its content encoding says, by the
    one capped reader (:mod:`analysis.bounded`): never more than ``cap``
    bytes after inflation, nor past ``deadline`` (a ``time.monotonic()``).
    Stacked or unknown encodings are refused."""
    import httpx

    coding = [
        c.strip().lower()
        for c in answer.headers.get("content-encoding", "").split(",")
        if c.strip() and c.strip().lower() != "identity"
    ]
    if len(coding) > 1:
        raise Refused(f"stacked content encodings ({', '.join(coding)}): refused")
    if coding and coding[0] not in ENCODINGS:
        raise Refused(f"unknown content encoding {coding[0]!r}: refused")

    def in_time() -> None:
        if time.monotonic() > deadline:
            raise Refused("timed out: the whole answer took longer than --timeout")

    try:
        return inflate_stream(
            answer.iter_raw(), cap, ENCODINGS[coding[0]] if coding else None, in_time
        )
    except TooLarge as exc:
        raise Refused(str(exc)) from None
    except zlib.error as exc:
        raise Refused(f"damaged {coding[0]} encoding ({exc})") from None
    except httpx.TimeoutException:
        raise Refused("timed out") from None


def follow(url: str, polite: Politeness, cap: int, robots: bool = True):
    """(answer, body) of ``url``, redirects followed by hand: every hop's
    address checked (:func:`check_address`) and, with ``robots``, its host's
    robots.txt obeyed; the body read by :func:`read_body` within
    ``polite.timeout`` seconds for the whole answer. Refused says why not."""
    import httpx

    for _ in range(config.FETCH_MAX_REDIRECTS + 1):
        check_address(url, polite.allow_private)
        if robots:
            refused = polite.allowed(url)
            if refused:
                raise Refused(f"{refused}: {stored(url)}")
        polite.wait(url)
        deadline = time.monotonic() + polite.timeout
        try:
            with polite.client.stream("GET", url) as answer:
                if answer.is_redirect and "location" in answer.headers:
                    target = urljoin(url, answer.headers["location"])
                    url = target
                    continue
                return answer, read_body(answer, cap, deadline)
        except httpx.TimeoutException:
            raise Refused("timed out") from None
        except httpx.HTTPError as exc:
            raise Refused(f"connection failed ({type(exc).__name__})") from None
    raise Refused("too many redirects")


def _get(url: str, polite: Politeness, retries: int, backoff: float):
    """The answer to ``url``, retried on time-outs, connection errors and
    429/5xx; (response, body, reason): reason is "" on success."""
    reason, wait = "", 0.0
    for attempt in range(retries + 1):
        if attempt:
            polite.sleep(wait)
        wait = backoff * 2**attempt  # unless the server says how long
        try:
            answer, body = follow(url, polite, config.FETCH_MAX_BYTES)
        except Refused as exc:
            reason = str(exc)
            if not reason.startswith(("timed out", "connection failed")):
                return None, b"", reason  # no retry changes a refusal
            continue
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
    """Title, site, author and date of an HTML page (trafilatura's metadata);
    a page that is no HTML at all, whatever it says, gives none."""
    meta = {"title": "", "site": urlsplit(url).hostname or "", "author": "", "date": ""}
    if suffix != ".html":
        return meta
    import trafilatura

    try:
        found = trafilatura.extract_metadata(decode(body, Path(url))[0], default_url=url)
    except Exception:  # noqa: BLE001 - a page's markup, not ours: no metadata
        return meta
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
    allow_private: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fetch what is missing of ``addresses`` (:func:`read_addresses`) into
    the corpus folder ``out``: (metadata rows of this run's pages, problems).
    ``metadata.csv`` is written as each page lands, so an interrupted run
    keeps what it fetched; it is read back through the project's one table
    reader, exactly as written. ``allow_private`` lets fetch reach loopback
    and private hosts (a test server, an intranet)."""
    import httpx

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta_path = out / "metadata.csv"
    known = read_table(meta_path, typed=False) if meta_path.is_file() else None
    done = set()
    if known is not None and {"doc", "url"} <= set(known.columns):
        done = {
            u
            for u, d in zip(known["url"], known["doc"], strict=True)
            if inside(out, d) and (out / d).is_file()
        }
    extra = [c for c in addresses.columns if c != "url"]
    own = [c for c in extra if c in FETCH_COLUMNS]  # the list's values win over the page's
    rows, problems = [], []
    client = httpx.Client(
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": ", ".join(ENCODINGS)},
        timeout=timeout,
        follow_redirects=False,
    )

    def save() -> None:
        fetched = pd.DataFrame(rows, columns=FETCH_COLUMNS + [c for c in extra if c not in own])
        table = fetched if known is None else pd.concat([known, fetched], ignore_index=True)
        write_table(table.drop_duplicates("doc", keep="last").fillna(""), meta_path)

    with client:
        polite = Politeness(client, delay, timeout=timeout, allow_private=allow_private)
        for record in addresses.to_dict("records"):
            url = record["url"]
            if stored(url) in done:
                continue
            answer, body, reason = _get(url, polite, retries, backoff)
            kind = answer.headers.get("content-type", "").split(";")[0].strip() if answer else ""
            suffix = SUFFIXES.get(kind.lower())
            if not reason and suffix is None:
                reason = f"not an article: content type {kind or 'unknown'}"
            if reason:
                problems.append(
                    {"doc": stored(url), "problem": reason, "action": "skipped: fetch again"}
                )
                continue
            doc = doc_name(url, suffix)
            target = out / doc
            if not inside(out, doc):
                problems.append(
                    {
                        "doc": stored(url),
                        "problem": "its file name leaves the corpus folder",
                        "action": "skipped",
                    }
                )
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(target, body)
            meta = _page_metadata(body, suffix, stored(url))
            meta |= {c: str(record[c]) for c in own if str(record[c]).strip()}
            rows.append(
                {
                    "doc": doc,
                    "url": stored(url),
                    "final_url": stored(str(answer.url)),
                    **meta,
                    "fetched": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "status": str(answer.status_code),
                    **{c: record[c] for c in extra if c not in own},
                }
            )
            save()
    fetched = pd.DataFrame(rows, columns=FETCH_COLUMNS + [c for c in extra if c not in own])
    problem_table = pd.DataFrame(problems, columns=PROBLEM_COLUMNS)
    write_table(problem_table, out / ".fetch" / "problems.csv")
    return fetched, problem_table


def inside(out: Path, doc: str) -> bool:
    """Whether ``doc`` names a path inside the corpus folder ``out``."""
    try:
        return (out / doc).resolve().is_relative_to(out.resolve())
    except (OSError, ValueError):
        return False


def write_bytes(path: Path, data: bytes) -> None:
    """A page written whole or not at all (a temporary file renamed into place)."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
