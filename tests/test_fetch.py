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
    fetched, problems = fetch(addresses, corpus, delay=0.01, timeout=0.5, retries=1, backoff=0.01)
    reasons = dict(zip(problems["doc"], problems["problem"], strict=True))
    assert reasons[f"{site}/missing.html"] == "HTTP 404 Not Found"
    assert reasons[f"{site}/slow"].startswith("timed out")
    assert reasons[f"{site}/private/secret.html"] == "robots.txt forbids this address"
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
    first, _ = fetch(addresses, corpus, delay=0.01, timeout=0.5, retries=0, backoff=0.01)
    Site.log = []
    again, problems = fetch(addresses, corpus, delay=0.01, timeout=0.5, retries=0, backoff=0.01)
    requested = {p for p, _ in Site.log} - {"/robots.txt"}
    # only the failures are asked for again (the flaky page now answers)
    assert requested == {"/missing.html", "/slow", "/flaky.html", "/image.png"}
    assert list(again["url"]) == [f"{site}/flaky.html"]
    metadata = pd.read_csv(corpus / "metadata.csv")
    assert len(metadata) == len(first) + 1 and metadata["doc"].is_unique


def test_requests_to_one_host_are_spaced(tmp_path, site):
    addresses = pd.DataFrame({"url": [f"{site}/a{i}.html" for i in range(3)]})
    start = time.monotonic()
    fetch(addresses, tmp_path / "c", delay=0.3, timeout=2, retries=0)
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


def test_fetch_then_compare_groups_from_the_command_line(tmp_path, site, capsys):
    corpus, reports = tmp_path / "corpus", tmp_path / "reports"
    code = main(
        ["fetch", str(addresses_file(tmp_path, site)), "--out", str(corpus), "--delay", "0.01"]
        + ["--timeout", "0.5", "--retries", "1"]
    )
    assert code == 0
    assert "4 failed" in capsys.readouterr().out
    code = main(["report", "--corpus", str(corpus), "--out", str(reports), "--by", "kind"])
    assert code == 0
    page = (reports / "compare_kind.html").read_text(encoding="utf-8")
    assert "Fisher&#x27;s exact test" in page or "Fisher's exact test" in page
    assert "95 % CI" in page and "small group" in page
    assert "compare_kind.html" in (reports / "index.html").read_text(encoding="utf-8")


def test_report_refuses_a_column_the_corpus_lacks(tmp_path, capsys):
    code = main(["report", "--out", str(tmp_path / "r"), "--by", "outlet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no column 'outlet'" in err and "metadata.csv" in err
