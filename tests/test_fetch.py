"""analysis fetch against a local HTTP server on the loopback address, never
the internet: pages, a redirect, a 404, a slow page, a flaky page, and a
robots.txt that forbids a path; then a comparison report of the result."""

from __future__ import annotations

import contextlib
import html
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from analysis import config
from analysis.cli import main
from analysis.corpus import load_corpus
from analysis.errors import FetchError
from analysis.fetch import USER_AGENT, fetch, read_addresses
from analysis.tables import read_table

SAMPLES = sorted(config.CORPUS.iterdir())


def article(path: Path) -> bytes:
    """A sample article as a web page, with the metadata trafilatura reads."""
    text = path.read_text(encoding="utf-8")
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.splitlines() if p.strip())
    page = (
        f"<html><head><title>Page {path.stem}</title>"
        '<meta name="author" content="Ann Writer">'
        '<meta property="article:published_time" content="2024-05-17">'
        f"</head><body><nav>Home | Shop</nav><article><h1>Page {path.stem}</h1>{paragraphs}"
        "</article><footer>All rights reserved</footer></body></html>"
    )
    return page.encode("utf-8")


class Site(BaseHTTPRequestHandler):
    pages: dict[str, bytes] = {}
    log: list[tuple[str, str]] = []
    flaky_left = 1

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        Site.log.append((self.path, self.headers.get("User-Agent", "")))
        if self.path == "/robots.txt":
            return self.answer(200, b"User-agent: *\nDisallow: /private/\n", "text/plain")
        if self.path == "/old":
            self.send_response(301)
            self.send_header("Location", "/a0.html")
            self.end_headers()
            return None
        if self.path == "/slow":
            time.sleep(1.5)
            return self.answer(200, Site.pages["/a0.html"], "text/html")
        if self.path == "/flaky.html":
            if Site.flaky_left:
                Site.flaky_left -= 1
                return self.answer(503, b"busy", "text/plain")
            return self.answer(200, Site.pages["/a1.html"], "text/html; charset=utf-8")
        if self.path == "/image.png":
            return self.answer(200, b"\x89PNG....", "image/png")
        if self.path in Site.pages:
            return self.answer(200, Site.pages[self.path], "text/html; charset=utf-8")
        return self.answer(404, b"not here", "text/plain")

    def answer(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # the client may have given up (the slow page), as a real server sees it
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def site():
    Site.pages = {f"/a{i}.html": article(p) for i, p in enumerate(SAMPLES)}
    Site.pages["/private/secret.html"] = article(SAMPLES[0])
    Site.log = []
    Site.flaky_left = 1
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def addresses_file(tmp_path: Path, base: str) -> Path:
    """A list with a kind of source per address, as a researcher keeps it."""
    rows = [(f"{base}/a{i}.html", "clinic" if i % 2 else "news") for i in range(len(SAMPLES))]
    rows += [
        (f"{base}/old", "news"),
        (f"{base}/missing.html", "news"),
        (f"{base}/slow", "news"),
        (f"{base}/private/secret.html", "clinic"),
        (f"{base}/flaky.html", "clinic"),
        (f"{base}/image.png", "clinic"),
    ]
    path = tmp_path / "addresses.csv"
    pd.DataFrame(rows, columns=["url", "kind"]).to_csv(path, index=False)
    return path


def test_fetch_keeps_pages_and_metadata_and_lists_failures(tmp_path, site):
    corpus = tmp_path / "corpus"
    addresses = read_addresses(addresses_file(tmp_path, site))
    fetched, problems = fetch(
        addresses, corpus, delay=0.01, timeout=0.5, retries=1, backoff=0.01, allow_private=True
    )
    reasons = dict(zip(problems["doc"], problems["problem"], strict=True))
    assert reasons[f"{site}/missing.html"] == "HTTP 404 Not Found"
    assert reasons[f"{site}/slow"].startswith("timed out")
    assert reasons[f"{site}/private/secret.html"].startswith("robots.txt forbids this address")
    assert reasons[f"{site}/image.png"] == "not an article: content type image/png"
    assert len(problems) == 4
    # the flaky page answered 503 once, then its page: a retry, not a failure
    assert f"{site}/flaky.html" in set(fetched["url"])
    redirected = fetched.set_index("url").loc[f"{site}/old"]
    assert redirected["final_url"] == f"{site}/a0.html"
    assert len(fetched) == len(SAMPLES) + 2
    page = fetched.set_index("url").loc[f"{site}/a1.html"]
    assert page["title"] == f"Page {SAMPLES[1].stem}"
    assert page["author"] == "Ann Writer" and page["date"] == "2024-05-17"
    assert page["kind"] == "clinic" and page["status"] == "200"
    # raw HTML kept; the private path was never requested; robots.txt read once
    assert (corpus / page["doc"]).read_bytes() == Site.pages["/a1.html"]
    paths = [p for p, _ in Site.log]
    assert "/private/secret.html" not in paths and paths.count("/robots.txt") == 1
    assert {agent for _, agent in Site.log} == {USER_AGENT}
    # the corpus reads the pages with their metadata
    documents, corpus_problems = load_corpus(corpus)
    assert len(documents) == len(SAMPLES)  # the redirect and the flaky page repeat pages
    assert set(corpus_problems["action"]) == {"skipped: counted once"}
    assert set(documents["kind"]) == {"news", "clinic"}
    assert set(documents["date"]) == {"2024-05-17"}


def test_a_rerun_fetches_only_what_is_missing(tmp_path, site):
    corpus = tmp_path / "corpus"
    addresses = read_addresses(addresses_file(tmp_path, site))
    first, _ = fetch(
        addresses, corpus, delay=0.01, timeout=0.5, retries=0, backoff=0.01, allow_private=True
    )
    Site.log = []
    again, problems = fetch(
        addresses, corpus, delay=0.01, timeout=0.5, retries=0, backoff=0.01, allow_private=True
    )
    requested = {p for p, _ in Site.log} - {"/robots.txt"}
    # only the failures are asked for again (the flaky page now answers)
    assert requested == {"/missing.html", "/slow", "/flaky.html", "/image.png"}
    assert list(again["url"]) == [f"{site}/flaky.html"]
    metadata = read_table(corpus / "metadata.csv")
    assert len(metadata) == len(first) + 1 and metadata["doc"].is_unique


def test_requests_to_one_host_are_spaced(tmp_path, site):
    addresses = pd.DataFrame({"url": [f"{site}/a{i}.html" for i in range(3)]})
    start = time.monotonic()
    fetch(addresses, tmp_path / "c", delay=0.3, timeout=2, retries=0, allow_private=True)
    # robots.txt and three pages: three gaps of at least the delay
    assert time.monotonic() - start >= 0.9


def test_an_address_list_with_no_address_is_refused(tmp_path):
    path = tmp_path / "urls.txt"
    path.write_text("# my sample\nhttps://example.org/a\nftp://example.org/b\nnot a url\n")
    with pytest.raises(FetchError, match=r"line 3: 'ftp://example.org/b'; line 4: 'not a url'"):
        read_addresses(path)
    table = tmp_path / "urls.csv"
    table.write_text("address,kind\nhttps://example.org/a,news\n")
    with pytest.raises(FetchError, match="needs a `url` column"):
        read_addresses(table)


@pytest.mark.slow
def test_fetch_then_compare_groups_from_the_command_line(tmp_path, site, capsys):
    corpus, reports = tmp_path / "corpus", tmp_path / "reports"
    code = main(
        ["fetch", str(addresses_file(tmp_path, site)), "--out", str(corpus), "--delay", "0.01"]
        + ["--timeout", "0.5", "--retries", "1", "--allow-private"]
    )
    assert code == 0
    assert "4 failed" in capsys.readouterr().out
    code = main(
        ["report", "--corpus", str(corpus), "--out", str(reports), "--by", "kind"]
        + ["--covariates", "words"]
    )
    assert code == 0
    page = (reports / "compare_kind.html").read_text(encoding="utf-8")
    assert "Fisher&#x27;s exact test" in page or "Fisher's exact test" in page
    assert "95 % CI" in page and "small group" in page
    # per category and per model, on the page and as CSV ready to paste
    assert "Per claim category" in page and "Group models" in page
    categories = read_table(reports / "data" / "compare_kind_categories.csv")
    assert {"group", "category", "share", "low", "high", "p_adjusted"} <= set(categories.columns)
    models = read_table(reports / "data" / "compare_kind_models.csv")
    assert {"outcome", "term", "n", "estimate", "low", "high", "p_value"} <= set(models.columns)
    assert "words" in set(models["term"]) or models["note"].str.startswith("not fitted").all()
    assert "compare_kind.html" in (reports / "index.html").read_text(encoding="utf-8")


def test_report_refuses_a_column_the_corpus_lacks(tmp_path, capsys):
    code = main(["report", "--out", str(tmp_path / "r"), "--by", "outlet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no column 'outlet'" in err and "metadata.csv" in err


# ---------------------------------------------------------------- hostile servers


class Hostile(BaseHTTPRequestHandler):
    """What a hostile or broken server answers."""

    log: list[str] = []
    elsewhere = ""  # the address of another host, for a redirect away
    zeros = 0

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        import gzip

        Hostile.log.append(self.path)
        page = Site.pages["/a0.html"]
        if self.path == "/robots.txt":
            return self.send(200, b"User-agent: *\nAllow: /\n", "text/plain")
        if self.path == "/stacked":  # gzip inside gzip: 3.5 kB that inflates to gigabytes
            return self.send(200, gzip.compress(gzip.compress(page)), "text/html", "gzip, gzip")
        if self.path == "/bomb":  # one layer, far over the cap once inflated
            return self.send(200, gzip.compress(b" " * Hostile.zeros), "text/html", "gzip")
        if self.path == "/gzipped":
            return self.send(200, gzip.compress(page), "text/html; charset=utf-8", "gzip")
        if self.path == "/drip":  # a byte at a time: never a read timeout, never an end
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for _ in range(100):
                    self.wfile.write(b"<")
                    self.wfile.flush()
                    time.sleep(0.1)
            return None
        if self.path == "/away":
            self.send_response(302)
            self.send_header("Location", f"{Hostile.elsewhere}/page.html")
            self.end_headers()
            return None
        if self.path == "/binary":  # labelled a web page, is none
            return self.send(200, bytes(range(256)) * 64, "text/html")
        return self.send(200, page, "text/html; charset=utf-8")

    def send(self, status: int, body: bytes, kind: str, encoding: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Forbidding(Hostile):
    """Another host, whose robots.txt forbids everything."""

    def do_GET(self) -> None:  # noqa: N802
        Hostile.log.append(f"other{self.path}")
        if self.path == "/robots.txt":
            return self.send(200, b"User-agent: *\nDisallow: /\n", "text/plain")
        return self.send(200, Site.pages["/a0.html"], "text/html")


def serve(handler) -> tuple[str, ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


@pytest.fixture
def hostile():
    Site.pages = {"/a0.html": article(SAMPLES[0])}
    Hostile.log = []
    base, server = serve(Hostile)
    other, server2 = serve(Forbidding)
    Hostile.elsewhere = other
    yield base
    for s in (server, server2):
        s.shutdown()
        s.server_close()


def fetched_from(base: str, paths: list[str], tmp_path: Path, **options):
    addresses = pd.DataFrame({"url": [f"{base}{p}" for p in paths]})
    options = {"delay": 0, "timeout": 1.0, "retries": 0, "allow_private": True, **options}
    return fetch(addresses, tmp_path / "corpus", **options)


def test_decoding_is_bounded_and_a_whole_answer_has_a_deadline(tmp_path, hostile, monkeypatch):
    monkeypatch.setattr(config, "FETCH_MAX_BYTES", 2_000_000)
    Hostile.zeros = 50_000_000  # 50 kB of gzip
    start = time.monotonic()
    fetched, problems = fetched_from(hostile, ["/stacked", "/bomb", "/drip", "/gzipped"], tmp_path)
    reasons = dict(zip(problems["doc"], problems["problem"], strict=True))
    assert reasons[f"{hostile}/stacked"].startswith("stacked content encodings")
    assert reasons[f"{hostile}/bomb"] == "larger than 2,000,000 bytes once inflated"
    assert reasons[f"{hostile}/drip"].startswith("timed out: the whole answer")
    assert time.monotonic() - start < 6  # the drip would take 10 s
    # one honest layer of gzip is read
    page = fetched.set_index("url").loc[f"{hostile}/gzipped"]
    assert (tmp_path / "corpus" / page["doc"]).read_bytes() == Site.pages["/a0.html"]


def test_fetch_refuses_private_hosts_and_hosts_whose_robots_forbid_a_redirect(tmp_path, hostile):
    # the loopback is a private address: refused unless allowed (server-side request forgery)
    _, problems = fetched_from(hostile, ["/a0.html"], tmp_path, allow_private=False)
    assert "private, loopback or reserved" in problems["problem"].iloc[0]
    assert Hostile.log == []  # nothing was asked of it, robots.txt neither
    # a redirect to another host obeys that host's robots.txt
    fetched, problems = fetched_from(hostile, ["/away"], tmp_path)
    assert fetched.empty and "robots.txt forbids" in problems["problem"].iloc[0]
    assert "other/robots.txt" in Hostile.log and "other/page.html" not in Hostile.log


def test_stored_addresses_carry_no_password_and_names_stay_in_the_corpus(tmp_path, hostile):
    from analysis.fetch import doc_name

    with_password = hostile.replace("http://", "http://reader:s3cret@") + "/a0.html"
    fetched, problems = fetch(
        pd.DataFrame({"url": [with_password]}), tmp_path / "c", delay=0, allow_private=True
    )
    assert problems.empty and len(fetched) == 1
    kept = (tmp_path / "c" / "metadata.csv").read_text(encoding="utf-8")
    assert "s3cret" not in kept and "reader" not in kept
    assert not any("s3cret" in str(p) for p in (tmp_path / "c").rglob("*"))
    # a host of dots names no folder above the corpus
    assert doc_name("http://../x/page.html", ".html").startswith("unknown/")
    assert doc_name("http://user:pw@..:80/page", ".html").startswith("unknown/")
    for bad in ("http://www..x/", "http://[::1/x", "http://host:port/x", "http:///x"):
        path = tmp_path / "bad.txt"
        path.write_text(bad + "\n")
        with pytest.raises(FetchError, match="not http"):
            read_addresses(path)


def test_a_page_that_is_no_page_and_a_list_with_its_own_titles(tmp_path, hostile):
    """A binary answer labelled text/html is kept and read as a problem, not a
    crash; an address list's own title, site and date columns win."""
    addresses = pd.DataFrame(
        {
            "url": [f"{hostile}/binary", f"{hostile}/a0.html"],
            "title": ["", "My title"],
            "site": ["", "My outlet"],
            "date": ["", "2020-01-02"],
            "kind": ["news", "clinic"],
        }
    )
    fetched, problems = fetch(addresses, tmp_path / "c", delay=0, allow_private=True)
    assert problems.empty
    mine = fetched.set_index("url").loc[f"{hostile}/a0.html"]
    assert (mine["title"], mine["site"], mine["date"]) == ("My title", "My outlet", "2020-01-02")
    documents, corpus_problems = load_corpus(tmp_path / "c")
    assert len(documents) == 1  # the binary page is a problem row of the corpus
    assert corpus_problems["doc"].str.contains("binary").any()


def test_a_rerun_reads_a_metadata_table_a_spreadsheet_saved(tmp_path, hostile):
    """Re-saved with semicolons in Windows-1252, with a hand-entered row and
    a formula-like cell: read back exactly, nothing fetched again, no row lost."""
    corpus = tmp_path / "c"
    addresses = pd.DataFrame({"url": [f"{hostile}/a0.html"], "outlet": ["=HYPERLINK(1)"]})
    fetch(addresses, corpus, delay=0, allow_private=True)
    table = read_table(corpus / "metadata.csv")
    assert table["outlet"].tolist() == ["=HYPERLINK(1)"]
    table = pd.concat([table, table.assign(doc="by-hand.txt", url="", outlet="Café")])
    (corpus / "metadata.csv").write_bytes(table.to_csv(index=False, sep=";").encode("cp1252"))
    Hostile.log = []
    for _ in range(2):
        fetched, _ = fetch(addresses, corpus, delay=0, allow_private=True)
        assert fetched.empty and Hostile.log == []
    again = read_table(corpus / "metadata.csv")
    assert sorted(again["outlet"]) == ["=HYPERLINK(1)", "Café"]


def test_an_interrupted_fetch_keeps_the_metadata_of_what_it_fetched(tmp_path, hostile, monkeypatch):
    import analysis.fetch as fetching

    real = fetching._get
    calls = []

    def interrupted(url, *args):
        calls.append(url)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(url, *args)

    monkeypatch.setattr(fetching, "_get", interrupted)
    addresses = pd.DataFrame({"url": [f"{hostile}/p{i}.html" for i in range(5)]})
    with pytest.raises(KeyboardInterrupt):
        fetch(addresses, tmp_path / "c", delay=0, allow_private=True)
    kept = read_table(tmp_path / "c" / "metadata.csv")
    assert len(kept) == 2 and all((tmp_path / "c" / d).is_file() for d in kept["doc"])
