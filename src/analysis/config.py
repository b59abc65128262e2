"""Defaults for every step, in one place.

The paths assume the repository layout (``data/``, ``notebooks/`` beside
``src/``); every command takes options to point elsewhere.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
CORPUS = DATA / "corpus"
CODEBOOK = DATA / "codebook.yml"
# The shipped learned coder (analysis.coding.learned), inside the package; rebuilt by
# `make model` from the coded articles in ../shared/annotation.
MODEL = Path(__file__).resolve().parent / "models" / "coder"
NOTEBOOKS = REPO / "notebooks"
REPORTS = REPO / "reports"
# A report run's work files (per-document cache, executed notebooks) go to a
# folder beside the reports: reports/ -> reports.work/.
WORK_SUFFIX = ".work"

# The file formats a corpus may hold are the readers of analysis.readers.READERS.
# Column names tried, in order, for the text of a .jsonl/.csv corpus row.
TEXT_COLUMNS = ("text", "body", "content", "article", "article_text", "full_text", "body_text")
# Among encodings that fit a non-UTF-8 file equally well, the ones English
# web pages are written in win (charset-normalizer's names).
PREFERRED_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")
ID_COLUMNS = ("doc", "id", "url", "name")
TITLE_COLUMNS = ("title", "headline")
# (Column names match whatever their case: "Text", "BODY" are text columns.)
# A CSV cell may hold a whole article: cells up to this many characters are read.
MAX_CSV_CELL = 2**31 - 1
# A document's title is its first line, unless that line is a page's
# furniture (scraped pages open with these); only the first lines are tried.
NOT_TITLES = frozenset(
    [
        "menu",
        "main menu",
        "home",
        "skip to content",
        "skip to main content",
        "search",
        "close",
        "navigation",
        "toggle navigation",
        "open menu",
        "share",
        "log in",
        "sign in",
        "cart",
        "back",
        # a site's sections, scraped as a page's title
        "guide",
        "guides",
        "blog",
        "news",
        "articles",
        "resources",
        "faq",
        "faqs",
        "services",
        "treatments",
        "about",
        "about us",
        "contact",
        "contact us",
        "book now",
        "shop",
    ]
)
TITLE_LINES = 6
# Lines a page's template repeats that are no title either: a date or a
# byline alone, opening hours, a breadcrumb.
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
TITLE_FURNITURE = (
    rf"^(posted|published|updated)?\s*(on\s+)?({_MONTH}\s+\d{{1,2}},?\s+\d{{4}}"
    rf"|\d{{1,2}}\s+{_MONTH}\s+\d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})(\s*(by|\||-|·)\s*.*)?$",
    r"^(written |posted )?by\s+\S+(\s+\S+)?$",
    r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b.*\b\d{1,2}(:\d{2})?\s*(am|pm)\b",
    r"^(home|blog|news|guides?|articles?)\s*(/|>|»|›)",
)
# Folders of a corpus deeper than this are not read (and listed as problems).
MAX_FOLDER_DEPTH = 64
# A packed file (.docx) that unpacks to more than this is refused (a zip bomb).
MAX_UNPACKED_BYTES = 200_000_000


class Limits(NamedTuple):
    """What reading one document may cost; a document over a limit is
    skipped with its reason, the others go on. A user raises them with
    ``--max-document-mb`` and ``--document-seconds``."""

    # characters of one document's text: a long article has 50,000; this is a book
    document_chars: int = 2_000_000
    # seconds to read one document (an HTML page through the article
    # extractor, a PDF): enforced where the run has the main thread (the
    # commands, a notebook), not on a Dask worker's thread
    document_seconds: float = 30.0


LIMITS = Limits()
# An HTML page's markup, scripts and styles taken out, may be this many
# times the text limit: the article extractor's time grows faster than its size.
MARKUP_PER_CHAR = 4
# A file that holds one article, this many times larger in bytes than the
# text limit, is skipped before it is read (a page's scripts and styles
# may weigh far more than its text).
FILE_BYTES_PER_CHAR = {".txt": 10, ".md": 10, ".markdown": 10, ".html": 50, ".htm": 50}

# Article metadata (analysis.metadata): the corpus's own table, the column
# naming each row's document, the corpus's own columns no metadata may
# replace, and the columns read as dates.
METADATA_FILES = ("metadata.csv", "metadata.tsv")
METADATA_KEYS = ("doc", "file", "path")
RESERVED_COLUMNS = ("doc", "text", "sha256", "source")
DATE_COLUMNS = ("date", "published", "modified", "fetched")

# A procedure x condition pair gets a deep-dive report when its articles make
# at least this many claims about it (one sentence listing eight conditions
# makes no eight reports); the overview shows every pair.
MIN_DEEP_DIVE_CLAIMS = 3

# Kernel papermill runs the notebooks with, and how many run at once
# (processes; `analysis report --jobs N`).
KERNEL = "python3"
JOBS = 2
# Notebooks run one after another in one kernel, its namespace emptied between
# them (analysis.execute): starting a kernel and importing pandas, plotly and
# the package is about a second of a page's two. At most this many share one:
# the processes' last batches end close together, a kernel's memory stays
# bounded, and a worker that dies takes few pages with it.
PAGES_PER_KERNEL = 10
# Processes for the work that keeps a core busy: the folds of training, and
# for the commands (`--workers`), coding a corpus of PARALLEL_DOCUMENTS files
# or more (each worker starts in about a second: a smaller corpus is coded in
# the calling process).
WORKERS = min(2, os.cpu_count() or 1)
PARALLEL_DOCUMENTS = 300
# Optional modules the project's own processes (the command line, a
# report's workers and kernels) leave out: papermill, nbconvert and plotly
# load nbformat, whose jsonschema then imports rfc3987_syntax (pulled in by
# jupyter-events) and builds its grammars, 1 s of every such process's start,
# for an IRI format check nothing here uses (jsonschema skips that check).
# A process that imports the package as a library is left as it is.
UNUSED_MODULES = ("rfc3987_syntax",)


def leave_out_unused_modules() -> None:
    """Make this process, one of the project's own, skip ``UNUSED_MODULES``."""
    for name in UNUSED_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[assignment]


# Extra arguments for each report's kernel.
KERNEL_ARGS = (
    "--IPKernelApp.exec_lines="
    "from analysis.config import leave_out_unused_modules; leave_out_unused_modules()",
    # The kernel runs on this machine's loopback for one notebook: its
    # warning that TCP is unencrypted and its KeyboardInterrupt log line when
    # papermill shuts it down, printed for every report, are noise (errors of
    # the notebook itself reach papermill, not this log).
    "--IPKernelApp.log_level=CRITICAL",
)

# Group comparisons (analysis.compare, `analysis report --by COLUMN`): a group
# of fewer articles than this is flagged as small (shown, never hidden).
MIN_GROUP_ARTICLES = 5
# Group models (analysis.regression): errors are clustered by site from this
# many sites on (fewer clusters give unreliable cluster-robust errors), and
# a Poisson fit whose Pearson chi-square per residual degree of freedom
# exceeds OVERDISPERSION gives way to a negative binomial one.
MIN_CLUSTERS = 10
OVERDISPERSION = 1.5

# analysis fetch: seconds between two requests to one host, per-request
# timeout, retries after a time-out or a 429/5xx answer (waiting BACKOFF,
# then twice that, ...), the largest page kept, redirects followed, and the
# longest Retry-After honoured.
FETCH_DELAY = 2.0
FETCH_TIMEOUT = 20.0
FETCH_RETRIES = 2
FETCH_BACKOFF = 2.0
FETCH_MAX_BYTES = 20_000_000
FETCH_MAX_REDIRECTS = 5
FETCH_MAX_RETRY_AFTER = 60.0
# robots.txt is read up to this many bytes (RFC 9309 asks crawlers to read 500 KiB).
ROBOTS_MAX_BYTES = 512_000

# The coding pipeline (analysis.coding): its components, in order.
CODING_PIPELINE = ("cues", "learned", "certainty", "attribution", "quantity")
# Every seed of the project's randomness (training, sampling).
SEED = 0
# The learned coder's hyperparameters (analysis.coding.estimator.LearnedCoder),
# chosen on the leave-one-site-out folds of the coded dev articles (category
# F1, mean of the 35 folds: words 0.574, words+chars 0.588; C 8 0.587;
# character weight 0.5 0.582); the model's manifest records the ones it was
# trained with.
LEARNED_CODER = {
    "representation": "words+chars",
    "C": 16.0,
    "context_weight": 1.0,
    "neighbour_weight": 0.25,
    "char_weight": 1.0,
}
