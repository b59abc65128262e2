"""The ``analysis`` command: extract claims, build reports, explain a coding.

    analysis extract CORPUS --out claims.csv
    analysis report [--corpus DIR] [--out DIR]
    analysis explain CORPUS [--doc NAME] [--all]
    analysis check-codebook [PATH]

Every error names the file or entry and what to do; the exit code is 0 on
success, 1 when a report failed, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis import config


def _codebook_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--codebook",
        default=str(config.CODEBOOK),
        metavar="PATH",
        help="codebook YAML with synonyms, cues and rules (default: %(default)s)",
    )


def _print_problems(problems) -> None:
    if len(problems):
        print(f"skipped {len(problems)} file(s) or row(s):", file=sys.stderr)
        for p in problems.itertuples():
            print(f"  {p.doc}: {p.problem} ({p.action})", file=sys.stderr)


def cmd_extract(args: argparse.Namespace) -> int:
    from analysis.codebook import load_codebook
    from analysis.corpus import load_corpus
    from analysis.extract import extract
    from analysis.tables import write_table

    codebook = load_codebook(args.codebook)
    documents, problems = load_corpus(args.corpus)
    _print_problems(problems)
    claims = extract(documents, codebook)
    write_table(claims, args.out)
    print(
        f"{len(documents)} documents, {len(claims)} claim rows "
        f"(codebook {codebook.version}) -> {args.out}"
    )
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from analysis.report import build_reports

    run = build_reports(
        corpus=args.corpus,
        out=args.out,
        codebook=args.codebook,
        notebooks=args.notebooks,
        images=args.images,
    )
    _print_problems(run.problems)
    ok = run.jobs[run.jobs["status"] == "ok"]
    print(f"{len(ok)} of {len(run.jobs)} reports written; open {run.out / 'index.html'}")
    for job in run.failed.itertuples():
        print(f"FAILED {job.name}: {job.error}", file=sys.stderr)
    return 1 if len(run.failed) else 0


def cmd_explain(args: argparse.Namespace) -> int:
    from analysis.codebook import load_codebook
    from analysis.corpus import load_corpus
    from analysis.explain import explain_documents

    codebook = load_codebook(args.codebook)
    source = Path(args.corpus)
    if source.is_file():
        import pandas as pd

        from analysis.corpus import read_text, sha256

        text = read_text(source)
        documents = pd.DataFrame(
            [{"doc": source.name, "title": "", "text": text, "sha256": sha256(text), "source": ""}]
        )
    else:
        documents, problems = load_corpus(source)
        _print_problems(problems)
    if args.doc:
        documents = documents[documents["doc"] == args.doc]
        if documents.empty:
            print(f"{args.corpus}: no document named {args.doc!r}", file=sys.stderr)
            return 2
    print(explain_documents(documents, codebook, show_all=args.all))
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="analysis",
        description="Count benefit, risk and uncertainty claims about skin procedures.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("extract", help="extract the claims of a corpus into a table")
    p.add_argument(
        "corpus", metavar="CORPUS", help="folder of .txt, .md, .html, .jsonl or .csv files"
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="claims table to write; the format follows the suffix: .csv, .parquet or .jsonl",
    )
    _codebook_option(p)
    p.set_defaults(func=cmd_extract)

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
    _codebook_option(p)
    p.set_defaults(func=cmd_report)

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

    p = sub.add_parser("check-codebook", help="validate a codebook before a run")
    p.add_argument(
        "path",
        nargs="?",
        default=str(config.CODEBOOK),
        metavar="PATH",
        help="codebook YAML (default: %(default)s)",
    )
    p.set_defaults(func=cmd_check_codebook)
    return parser


def main(argv: list[str] | None = None) -> int:
    from analysis.codebook import CodebookError
    from analysis.corpus import CorpusError
    from analysis.tables import TableFormatError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CodebookError, CorpusError, TableFormatError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
