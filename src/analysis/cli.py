"""The ``analysis`` command: extract claims, build reports, explain a coding.

    analysis extract CORPUS --out claims.csv
    analysis fetch ADDRESSES --out CORPUS
    analysis report [--corpus DIR] [--out DIR] [--by COLUMN]
    analysis explain CORPUS [--doc NAME] [--all]
    analysis check-codebook [PATH]
    analysis sample CORPUS --n N --out sample.csv
    analysis sample --import sample.csv --out gold.jsonl
    analysis validate --gold GOLD.jsonl (--pred CLAIMS | --corpus DIR | --gold OTHER.jsonl)
    analysis export-qdpx CORPUS --out project.qdpx
    analysis import-qdpx project.qdpx --out gold.jsonl
    analysis train GOLD.jsonl... --corpus DIR... [--sites SOURCES.tsv] --out MODEL

Every error names the file or entry and what to do; the exit code is 0 on
success, 1 when a report failed, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis import config


def number(minimum: float = 0.0, above: bool = False):
    """An argparse type: a finite number of at least (or above) ``minimum``;
    inf, nan and negatives are refused with a message, not a traceback."""
    import math

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or value < minimum or (above and value == minimum):
            bound = f"more than {minimum:g}" if above else f"at least {minimum:g}"
            raise argparse.ArgumentTypeError(f"{text!r}: give a finite number, {bound}")
        return value

    return parse


def whole(minimum: int = 0):
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of at least {minimum}")
        return value

    return parse


def _codebook_option(parser: argparse.ArgumentParser, model: bool = True) -> None:
    parser.add_argument(
        "--codebook",
        default=str(config.CODEBOOK),
        metavar="PATH",
        help="codebook YAML with synonyms, cues and rules (default: %(default)s)",
    )
    if not model:
        return
    parser.add_argument(
        "--model",
        default=str(config.MODEL),
        metavar="PATH",
        help="learned coder made by `analysis train` (default: the shipped one); "
        "'none' codes with the codebook's rules alone",
    )


def _metadata_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metadata",
        metavar="FILE",
        help="article metadata table (.csv or .tsv: a doc column, the document's path in the "
        "corpus, and any columns); default: the corpus's own metadata.csv",
    )


def _limits_option(parser: argparse.ArgumentParser) -> None:
    from analysis.config import LIMITS

    parser.add_argument(
        "--max-document-mb",
        type=number(0, above=True),
        default=LIMITS.document_chars / 1e6,
        metavar="N",
        help="skip a document whose text is over N million characters (default: %(default)g)",
    )
    parser.add_argument(
        "--document-seconds",
        type=number(0, above=True),
        default=LIMITS.document_seconds,
        metavar="S",
        help="skip a document that takes over S seconds to read (default: %(default)g)",
    )


def _limits(args: argparse.Namespace):
    from analysis.config import Limits
    from analysis.errors import ParameterError

    if args.max_document_mb <= 0 or args.document_seconds <= 0:
        raise ParameterError("--max-document-mb and --document-seconds must be above 0")
    return Limits(int(args.max_document_mb * 1e6), args.document_seconds)


def _load_codebook(args: argparse.Namespace, check_patterns: bool = True):
    from analysis.codebook import load_codebook

    return load_codebook(args.codebook, check_patterns, model=args.model)


PRINTED_PROBLEMS = 20  # per action; the problems table has them all


def _print_problems(problems, table: str = "") -> None:
    """The problems table on stderr, at most PRINTED_PROBLEMS rows of each
    action (a large corpus has a reference list set aside in most articles)."""
    from analysis.escape import visible

    if not len(problems):
        return
    print(f"{len(problems)} problem(s): files, rows or text not read as given:", file=sys.stderr)
    for action, rows in problems.groupby("action", sort=False):
        for p in rows.head(PRINTED_PROBLEMS).itertuples():
            print(visible(f"  {p.doc}: {p.problem} ({action})"), file=sys.stderr)
        if len(rows) > PRINTED_PROBLEMS:
            where = f"; all in {table}" if table else ""
            print(
                f"  ... and {len(rows) - PRINTED_PROBLEMS} more ({action}){where}", file=sys.stderr
            )


def _add_workers(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers",
        type=whole(1),
        default=config.WORKERS,
        metavar="N",
        help=f"code a corpus of {config.PARALLEL_DOCUMENTS} files or more in N processes "
        "(default: %(default)s, the machine's cores up to 2; the claims are the same)",
    )


def cmd_extract(args: argparse.Namespace) -> int:
    from analysis.cache import extract_corpus
    from analysis.tables import check_output, write_table

    if args.engine != "dask":  # refuse a bad output before extracting anything
        check_output(args.out)
        for extra in (args.documents, args.problems):
            if extra:
                check_output(extra)
    codebook = _load_codebook(args)
    if args.engine == "dask":
        from analysis.engine import extract_dask

        written, problems, n_docs = extract_dask(
            args.corpus,
            codebook,
            args.out,
            scheduler=args.scheduler,
            partitions=args.partitions,
            limits=_limits(args),
        )
        _print_problems(problems)
        print(
            f"{n_docs} documents, {written} claim rows (codebook {codebook.version}) -> {args.out}/"
        )
        return 0
    claims, documents, problems = extract_corpus(
        args.corpus,
        codebook,
        args.cache or None,
        metadata=args.metadata or None,
        limits=_limits(args),
        workers=args.workers,
    )
    _print_problems(problems, args.problems)
    write_table(claims, args.out)
    if args.documents:
        write_table(documents, args.documents)
    if args.problems:
        write_table(problems, args.problems)
    print(
        f"{len(documents)} documents, {len(claims)} claim rows "
        f"(codebook {codebook.version}, {_coder(codebook)}) -> {args.out}"
    )
    return 0


def add_extract(sub) -> None:
    p = sub.add_parser("extract", help="extract the claims of a corpus into a table")
    p.add_argument(
        "corpus",
        metavar="CORPUS",
        help="folder of .txt, .md, .html, .pdf, .docx, .jsonl or .csv files",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="claims table to write; the format follows the suffix: .csv, .parquet or .jsonl "
        "(with --engine dask: a folder of Parquet partitions)",
    )
    p.add_argument(
        "--cache",
        metavar="DIR",
        help="keep each document's claims here by content and codebook hash; "
        "a re-run extracts only what changed",
    )
    p.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local: this machine; dask: partitions on a Dask cluster (default: %(default)s)",
    )
    _add_workers(p)
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --engine dask: the scheduler to use (tcp://host:8786); "
        "default: a LocalCluster on this machine",
    )
    p.add_argument(
        "--partitions",
        type=whole(0),
        default=0,
        metavar="N",
        help="with --engine dask: how many partitions (default: 4 per worker)",
    )
    p.add_argument(
        "--documents",
        metavar="FILE",
        help="also write the documents table (titles, hashes, metadata columns) here",
    )
    p.add_argument(
        "--problems",
        metavar="FILE",
        help="also write the problems table (what was skipped or repaired, and why) here",
    )
    _metadata_option(p)
    _limits_option(p)
    _codebook_option(p)
    p.set_defaults(func=cmd_extract)


def _coder(codebook) -> str:
    model = codebook.model
    return f"model {model.version}" if model else "rules alone"


def cmd_report(args: argparse.Namespace) -> int:
    from analysis.report import build_reports, check_apart, check_pages

    check_apart(Path(args.corpus), Path(args.out))  # before anything is loaded
    check_pages(args.by)
    run = build_reports(  # loads the codebook and model only if something changed
        corpus=args.corpus,
        out=args.out,
        codebook=args.codebook,
        model=args.model,
        notebooks=args.notebooks,
        images=args.images,
        jobs=args.jobs,
        rebuild=args.rebuild,
        min_claims=args.min_claims,
        by=args.by,
        metadata=args.metadata or None,
        limits=_limits(args),
        validation=args.validation or None,
        covariates=args.covariates,
        workers=args.workers,
    )
    _print_problems(run.problems, str(Path(args.out) / "data" / "problems.csv"))
    print(f"error rates from {run.provenance['error_rates_from']}")
    from analysis.escape import visible

    ok = run.jobs[run.jobs["status"] == "ok"]
    print(
        f"{len(ok)} of {len(run.jobs)} reports written ({int(run.jobs['rerun'].sum())} run, "
        f"the rest unchanged); open {run.out / 'index.html'}"
    )
    for job in run.failed.itertuples():
        print(visible(f"FAILED {job.name}: {job.error}"), file=sys.stderr)
    return 1 if len(run.failed) else 0


def add_report(sub) -> None:
    p = sub.add_parser("report", help="extract, then write the HTML reports and index.html")
    p.add_argument(
        "--corpus",
        default=str(config.CORPUS),
        metavar="DIR",
        help="corpus folder (default: %(default)s)",
    )
    p.add_argument(
        "--out",
        default=str(config.REPORTS),
        metavar="DIR",
        help="reports folder (default: %(default)s)",
    )
    p.add_argument(
        "--notebooks",
        default=str(config.NOTEBOOKS),
        metavar="DIR",
        help="folder with overview.ipynb and deep_dive.ipynb (default: %(default)s)",
    )
    p.add_argument(
        "--images",
        action="store_true",
        help="also write every chart as PNG and SVG under OUT/images/ (kaleido, system Chromium)",
    )
    p.add_argument(
        "--jobs",
        type=whole(1),
        default=config.JOBS,
        metavar="N",
        help="run N notebooks at once, in N processes (default: %(default)s)",
    )
    _add_workers(p)
    p.add_argument(
        "--min-claims",
        type=whole(1),
        default=config.MIN_DEEP_DIVE_CLAIMS,
        metavar="N",
        help="a pair gets a deep-dive page, and a bar in the overview's balance chart, when "
        "its articles make N claims about it (default: %(default)s; the chart says how many "
        "pairs it leaves out, and the overview's tables list every pair)",
    )
    p.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="COLUMN",
        help="also compare groups of articles by this metadata column (a page per column; "
        "repeat for more): shares of articles per group and per claim category with "
        "intervals and tests, and a regression per outcome (data/compare_COLUMN_*.csv)",
    )
    p.add_argument(
        "--covariates",
        type=lambda text: [c.strip() for c in text.split(",") if c.strip()],
        default=[],
        metavar="COLUMNS",
        help="comma-separated covariates of the --by regressions beside the group: words, "
        "year (of an ISO date column) or metadata columns (e.g. words,year)",
    )
    p.add_argument(
        "--validation",
        metavar="GOLD",
        help="a gold file (.jsonl) coding some of this corpus's articles whole (every claim "
        "in them): every page then states the coder's error on them, and corrects its counts "
        "with it (default: the coder's cross-validation folds). A sample of sentences is not "
        "enough: measure it with `analysis validate --sample`",
    )
    _metadata_option(p)
    _limits_option(p)
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="forget the caches: extract every document and run every notebook again",
    )
    _codebook_option(p)
    p.set_defaults(func=cmd_report)


def cmd_explain(args: argparse.Namespace) -> int:
    from analysis.cache import extract_corpus
    from analysis.explain import explain_documents

    codebook = _load_codebook(args)
    source = Path(args.corpus)
    # A single file is read as it would be in a folder (HTML through the
    # article extractor), so that explain shows the coding extract makes.
    root, files = (source.parent, [source]) if source.is_file() else (source, None)
    _, documents, problems = extract_corpus(root, codebook, files=files, keep_text=True)
    _print_problems(problems)
    if args.doc:
        documents = documents[documents["doc"] == args.doc]
        if documents.empty:
            print(f"{args.corpus}: no document named {args.doc!r}", file=sys.stderr)
            return 2
    print(explain_documents(documents, codebook, show_all=args.all))
    return 0


def add_explain(sub) -> None:
    p = sub.add_parser(
        "explain", help="show each sentence's coding: cues, certainty and attribution"
    )
    p.add_argument("corpus", metavar="CORPUS", help="a corpus folder or one text file")
    p.add_argument("--doc", metavar="NAME", help="only this document (its path in the corpus)")
    p.add_argument(
        "--all", action="store_true", help="also list sentences that carry no claim, and why"
    )
    _codebook_option(p)
    p.set_defaults(func=cmd_explain)


def cmd_check_codebook(args: argparse.Namespace) -> int:
    from analysis.codebook import load_codebook

    codebook = load_codebook(args.path)
    cues = sum(len(c.cues) for c in codebook.categories)
    print(
        f"{codebook.path}: ok, version {codebook.version}, "
        f"{len(codebook.procedures.labels)} procedures, {len(codebook.conditions.labels)} conditions, "
        f"{len(codebook.categories)} categories, {cues} cues"
    )
    return 0


def add_check_codebook(sub) -> None:
    p = sub.add_parser("check-codebook", help="validate a codebook before a run")
    p.add_argument(
        "path",
        nargs="?",
        default=str(config.CODEBOOK),
        metavar="PATH",
        help="codebook YAML (default: %(default)s)",
    )
    p.set_defaults(func=cmd_check_codebook)


def _extract(corpus: str, args: argparse.Namespace):
    """(documents with their texts, claims, codebook) of a corpus folder,
    problems printed: for the commands that need the texts."""
    from analysis.cache import extract_corpus

    codebook = _load_codebook(args)
    claims, documents, problems = extract_corpus(corpus, codebook, keep_text=True)
    _print_problems(problems)
    return documents, claims, codebook


def _write_gold(gold, out: str) -> None:
    from analysis.tables import write_table

    if not out.endswith(".jsonl"):
        from analysis.errors import TableFormatError

        raise TableFormatError(f"{out}: gold files are JSON Lines; name it *.jsonl")
    write_table(gold, out)


def cmd_sample(args: argparse.Namespace) -> int:
    from analysis.codebook import load_codebook
    from analysis.segment import segment
    from analysis.tables import read_table, write_table
    from analysis.validation.sample import code_list, draw_sample, read_coded_sheet

    if args.import_sheet:
        codebook = load_codebook(args.codebook, model=None)
        gold = read_coded_sheet(read_table(args.import_sheet), codebook, args.import_sheet)
        _write_gold(gold, args.out)
        print(f"{len(gold)} coded claims -> {args.out}")
        return 0
    if not args.corpus:
        print("error: give a CORPUS to sample from, or --import SHEET", file=sys.stderr)
        return 2
    documents, claims, codebook = _extract(args.corpus, args)
    sheet = draw_sample(segment(documents, codebook), claims, args.n, args.seed)
    write_table(sheet, args.out)
    codes = Path(args.out).with_suffix(".codes.csv")
    write_table(code_list(codebook), codes)
    print(
        f"{len(sheet)} sentences -> {args.out}; the values to code with -> {codes}\n"
        "Fill type, category, certainty, procedures and conditions (ids, | between several); "
        "copy a row for a second claim in the same sentence; leave type empty for no claim."
    )
    return 0


def add_sample(sub) -> None:
    p = sub.add_parser("sample", help="draw sentences for a human to code, or read the coding back")
    p.add_argument("corpus", nargs="?", metavar="CORPUS", help="corpus folder to sample from")
    p.add_argument(
        "--n", type=whole(1), default=100, help="sentences to draw (default: %(default)s)"
    )
    p.add_argument("--seed", type=whole(0), default=0, help="random seed (default: %(default)s)")
    p.add_argument(
        "--import",
        dest="import_sheet",
        metavar="SHEET",
        help="read a coded sheet (.csv) and write it as a gold file (--out *.jsonl)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="the coding sheet (.csv) to write; with --import, the gold file (.jsonl)",
    )
    _codebook_option(p)
    p.set_defaults(func=cmd_sample)


def cmd_validate(args: argparse.Namespace) -> int:
    from analysis.tables import read_table, write_table
    from analysis.validation.agreement import (
        agreement,
        format_methods,
        format_scores,
        read_coding,
        reliability_intervals,
        to_coding,
    )

    golds = args.gold
    given = sum(bool(x) for x in (args.pred, args.corpus, len(golds) == 2))
    if len(golds) > 2 or given != 1:
        print(
            "error: give one --gold and one of --pred CLAIMS, --corpus DIR, "
            "or a second --gold (two coders)",
            file=sys.stderr,
        )
        return 2
    gold = read_coding(golds[0])
    if args.corpus:
        from analysis.cache import extract_corpus

        claims, _, problems = extract_corpus(args.corpus, _load_codebook(args))
        _print_problems(problems)
        pred = to_coding(claims, args.corpus)
    else:
        pred = read_coding(args.pred or golds[1])
    units = read_table(args.sample) if args.sample else None
    result = agreement(gold, pred, units)
    print(format_scores(result))
    methods = reliability_intervals(gold, pred, units)
    print(format_methods(methods))
    if args.out:
        out = Path(args.out)
        for name in ("scores", "reliability", "confusion", "disagreements"):
            write_table(getattr(result, name), out / f"{name}.csv")
        write_table(methods, out / "methods.csv")
        print(f"tables -> {out}")
    if args.report:
        from analysis.validation.report import build_validation_report

        html, error = build_validation_report(gold, pred, units, args.report)
        if error:
            print(f"FAILED validation report: {error}", file=sys.stderr)
            return 1
        print(f"report -> {html}")
    return 0


def add_validate(sub) -> None:
    p = sub.add_parser(
        "validate", help="agreement of a coding with a human gold file (or of two coders)"
    )
    p.add_argument(
        "--gold",
        action="append",
        required=True,
        metavar="GOLD",
        help="a human coding (.jsonl); give it twice to measure two coders' agreement",
    )
    p.add_argument(
        "--pred", metavar="CLAIMS", help="claims table to measure (.csv/.parquet/.jsonl)"
    )
    p.add_argument("--corpus", metavar="DIR", help="extract this corpus and measure the claims")
    p.add_argument(
        "--sample",
        metavar="SHEET",
        help="the coding sheet: only its sentences count, and each counts even when uncoded",
    )
    p.add_argument("--out", metavar="DIR", help="also write the tables as CSV to this folder")
    p.add_argument("--report", metavar="DIR", help="also write validation.html to this folder")
    _codebook_option(p)
    p.set_defaults(func=cmd_validate)


def cmd_train(args: argparse.Namespace) -> int:
    from analysis.codebook import load_codebook
    from analysis.coding.learned import files_of
    from analysis.train import format_cv, read_sites, read_training, train

    codebook = load_codebook(args.codebook, model=None)
    sites = read_sites(args.sites) if args.sites else None
    training = read_training(args.gold, args.corpus, codebook, sites)
    for warning in training.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    labelled = int((training.table["labels"].str.len() > 0).sum())
    print(
        f"{training.table['doc'].nunique()} coded articles from "
        f"{training.table['group'].nunique()} sites, {len(training.table)} sentences "
        f"({labelled} with claims)"
    )
    model, cv = train(training, codebook, args.out)
    print(format_cv(cv))
    arrays, manifest = files_of(args.out)
    print(f"model {model.version} (sha256 {model.sha256[:12]}) -> {arrays}, {manifest}")
    return 0


def add_train(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train the learned coder on coded articles; print its cross-validated figures",
    )
    p.add_argument(
        "gold", nargs="+", metavar="GOLD", help="gold files (.jsonl) coding the --corpus folders"
    )
    p.add_argument(
        "--corpus",
        nargs="+",
        required=True,
        metavar="DIR",
        help="the corpus folder each gold file codes, in the same order",
    )
    p.add_argument(
        "--sites",
        action="append",
        metavar="TSV",
        help="a table with file and url columns: articles of one site are left out together "
        "in cross-validation (default: one group per corpus folder)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="where to write the model (PATH.npz and PATH.json, PATH as given); pass it as --model",
    )
    _codebook_option(p, model=False)
    p.set_defaults(func=cmd_train)


def cmd_export_qdpx(args: argparse.Namespace) -> int:
    from analysis.validation.qdpx import export_qdpx

    documents, claims, codebook = _extract(args.corpus, args)
    path = export_qdpx(documents, claims, codebook, args.out, name=Path(args.corpus).name)
    print(f"{len(documents)} sources, {len(claims)} claim rows -> {path}")
    return 0


def add_export_qdpx(sub) -> None:
    p = sub.add_parser("export-qdpx", help="write the coding as a REFI-QDA project (.qdpx)")
    p.add_argument("corpus", metavar="CORPUS", help="corpus folder")
    p.add_argument("--out", required=True, metavar="FILE", help="the .qdpx file to write")
    _codebook_option(p)
    p.set_defaults(func=cmd_export_qdpx)


def cmd_import_qdpx(args: argparse.Namespace) -> int:
    from analysis.codebook import load_codebook
    from analysis.validation.qdpx import import_qdpx

    gold, unmapped = import_qdpx(args.project, load_codebook(args.codebook, model=None))
    _write_gold(gold, args.out)
    print(f"{len(gold)} coded claims -> {args.out}")
    if unmapped:
        print(
            f"{len(unmapped)} code(s) map to no category, certainty, procedure or condition "
            f"of the codebook and were left out: {', '.join(unmapped)}",
            file=sys.stderr,
        )
    return 0


def add_import_qdpx(sub) -> None:
    p = sub.add_parser("import-qdpx", help="read a REFI-QDA project's coding as a gold file")
    p.add_argument("project", metavar="PROJECT", help="a .qdpx file (NVivo, MAXQDA, ATLAS.ti, ...)")
    p.add_argument("--out", required=True, metavar="FILE", help="the gold file (.jsonl) to write")
    _codebook_option(p)
    p.set_defaults(func=cmd_import_qdpx)


def cmd_fetch(args: argparse.Namespace) -> int:
    from analysis.fetch import fetch, read_addresses

    for name in ("delay", "timeout"):
        if getattr(args, name) < 0:
            from analysis.errors import ParameterError

            raise ParameterError(f"--{name} must be 0 or more seconds")
    addresses = read_addresses(args.addresses)
    try:
        fetched, problems = fetch(
            addresses,
            args.out,
            delay=args.delay,
            timeout=args.timeout,
            retries=args.retries,
            allow_private=args.allow_private,
        )
    except KeyboardInterrupt:
        print(
            f"interrupted: the pages fetched so far are in {args.out}/ and its metadata.csv; "
            "run the same command again to fetch the rest",
            file=sys.stderr,
        )
        return 130
    _print_problems(problems)
    print(
        f"{len(fetched)} of {len(addresses)} addresses fetched this time, {len(problems)} failed "
        f"(fetched again next time) -> {args.out}/ and {args.out}/metadata.csv"
    )
    return 0


def add_fetch(sub) -> None:
    p = sub.add_parser(
        "fetch", help="download pages from a list of addresses into a corpus folder, politely"
    )
    p.add_argument(
        "addresses",
        metavar="ADDRESSES",
        help="a text file of addresses (one a line), or a .csv/.tsv with a url column "
        "whose other columns become the articles' metadata",
    )
    p.add_argument("--out", required=True, metavar="CORPUS", help="corpus folder to fill")
    p.add_argument(
        "--allow-private",
        action="store_true",
        help="fetch from loopback, private and link-local addresses too (an intranet, a test "
        "server); refused by default, redirects included",
    )
    p.add_argument(
        "--delay",
        type=number(0),
        default=config.FETCH_DELAY,
        metavar="S",
        help="seconds between two requests to one host (default: %(default)s)",
    )
    p.add_argument(
        "--timeout",
        type=number(0, above=True),
        default=config.FETCH_TIMEOUT,
        metavar="S",
        help="seconds before a request is given up (default: %(default)s)",
    )
    p.add_argument(
        "--retries",
        type=int,
        choices=range(0, 6),
        default=config.FETCH_RETRIES,
        metavar="N",
        help="retries after a time-out or a 429/5xx answer, with backoff (default: %(default)s)",
    )
    p.set_defaults(func=cmd_fetch)


# The commands, in the order --help lists them: adding one is a cmd_ and an add_
# function and an entry here.
COMMANDS = (
    add_fetch,
    add_extract,
    add_report,
    add_explain,
    add_check_codebook,
    add_sample,
    add_validate,
    add_train,
    add_export_qdpx,
    add_import_qdpx,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="analysis",
        description="Count benefit, risk and uncertainty claims about skin procedures.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from analysis.errors import ClaimscopeError
    from analysis.escape import visible

    config.leave_out_unused_modules()  # this process is ours

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or an option argparse refused (it said why)
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    try:
        return args.func(args)
    except ClaimscopeError as exc:  # (a message may quote a file name or corpus text)
        print(visible(f"error: {exc}"), file=sys.stderr)
        return 2
    except OSError as exc:  # a missing input, a full disk, a folder one cannot write
        where = f"{exc.filename}: " if exc.filename else ""
        print(visible(f"error: {where}{exc.strerror or exc}"), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
