"""Article metadata: what a corpus says about its documents (outlet, kind of
source, date, country, ...), as NVivo classifications or MAXQDA document
variables do.

Three sources land in the documents table as extra columns, one per name:

- a metadata table: ``metadata.csv`` (or ``.tsv``) at the corpus root, or
  any file given with ``--metadata``: one row per document, keyed by a
  ``doc`` column (or ``file``, ``path``: the document's path relative to
  the corpus root), any other columns; :mod:`analysis.fetch` writes one;
- YAML front matter of a ``.md`` file, and the extra columns of a ``.csv``
  or ``.jsonl`` corpus (:mod:`analysis.readers`).

The table's values win over the file's own. Date columns
(``config.DATE_COLUMNS``) are written as ISO dates (``2024``,
``2024-05`` or ``2024-05-17``); a value that is no date is left empty and
listed. A row naming no document of the corpus is listed, never an error.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.readers import CorpusError, Problem, decode
from analysis.tables import restore

PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2})?$")


def metadata_file(root: Path) -> Path | None:
    """The corpus's own metadata table, when it has one."""
    return next((root / n for n in config.METADATA_FILES if (root / n).is_file()), None)


def read_metadata(path: str | Path) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """The metadata table at ``path``: {doc: {column: value}} and the
    problems of its rows. An unreadable table is a :class:`CorpusError`."""
    path = Path(path)
    try:
        text, _ = decode(path.read_bytes(), path)
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read the metadata table ({exc.strerror})") from None
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [c.strip() for c in reader.fieldnames or []]
    key = next((c for c in config.METADATA_KEYS if c in header), None)
    if key is None:
        raise CorpusError(
            f"{path}: the metadata table has no column naming the documents; "
            f"add one of {', '.join(config.METADATA_KEYS)}"
        )
    reserved = [c for c in header if c in config.RESERVED_COLUMNS and c != key]
    problems = [
        Problem(path.name, f"{path}: column `{c}` is the corpus's own; ignored", "repaired")
        for c in reserved
    ]
    rows: dict[str, dict[str, str]] = {}
    try:
        for n, row in enumerate(reader, 2):
            # (a table `analysis fetch` wrote has its formula-like cells defused)
            row = {(k or "").strip(): str(restore((v or "").strip())) for k, v in row.items() if k}
            doc = row.pop(key, "")
            if not doc:
                problems.append(Problem(f"{path.name}#{n}", f"{path}: line {n} names no document"))
                continue
            if doc in rows:
                problems.append(
                    Problem(doc, f"{path}: line {n} repeats document {doc}; first row kept")
                )
                continue
            rows[doc] = {k: v for k, v in row.items() if k not in config.RESERVED_COLUMNS}
    except csv.Error as exc:
        problems.append(Problem(path.name, f"{path}: {exc}; rest of the table skipped"))
    return rows, problems


def normalise_dates(record: dict[str, str]) -> list[Problem]:
    """Write the record's date columns as ISO dates, in place; a value that
    is no date is emptied and returned as a problem."""
    problems = []
    for column in config.DATE_COLUMNS:
        value = record.get(column, "")
        if not value or PARTIAL_DATE.match(value):
            continue
        try:
            stamp = pd.Timestamp(value)
            if pd.isna(stamp):
                raise ValueError(value)
        except (ValueError, TypeError, OverflowError):
            problems.append(
                Problem(
                    record["doc"],
                    f"{record['doc']}: `{column}` {value!r} is not a date; left empty",
                    "repaired",
                )
            )
            record[column] = ""
            continue
        record[column] = stamp.date().isoformat()
    return problems


def metadata_columns(documents: pd.DataFrame) -> list[str]:
    """The documents table's metadata columns (all but the corpus's own)."""
    own = {"doc", "title", "text", "sha256", "source"}
    return [c for c in documents.columns if c not in own]
