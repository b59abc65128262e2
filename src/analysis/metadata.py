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
``2024-05`` or ``2024-05-17``) by one rule (:func:`normalise_dates`); a
value that is no date by that rule, or an ambiguous one, is kept as written
and listed. A row naming no document of the corpus is listed, never an error.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.readers import CorpusError, Problem

PARTIAL_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")
ISO_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
# Dates whose month is a word: no day-first or month-first to guess.
NAMED_MONTH_FORMS = (
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%B %d %Y",
    "%b %d %Y",
    "%d %B, %Y",
)


def metadata_file(root: Path) -> Path | None:
    """The corpus's own metadata table, when it has one."""
    return next((root / n for n in config.METADATA_FILES if (root / n).is_file()), None)


def read_metadata(path: str | Path) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """The metadata table at ``path``: {doc: {column: value}} and the
    problems of its rows. An unreadable table is a :class:`CorpusError`."""
    path = Path(path)
    from analysis.errors import TableFormatError
    from analysis.tables import read_table

    try:
        table = read_table(path, typed=False)
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read the metadata table ({exc.strerror})") from None
    except TableFormatError as exc:
        raise CorpusError(str(exc)) from None
    table.columns = [str(c).strip() for c in table.columns]
    header = list(table.columns)
    key = next((c for c in config.METADATA_KEYS if c in header), None)
    if key is None:
        raise CorpusError(
            f"{path}: the metadata table has no column naming the documents; "
            f"add one of {', '.join(config.METADATA_KEYS)} (columns found: "
            f"{', '.join(header[:8]) or 'none'})"
        )
    reserved = [c for c in header if c in config.RESERVED_COLUMNS and c != key]
    problems = [
        Problem(path.name, f"{path}: column `{c}` is the corpus's own; ignored", "repaired")
        for c in reserved
    ]
    rows: dict[str, dict[str, str]] = {}
    for n, row in enumerate(table.to_dict("records"), 2):
        # (read_table restores the formula-like cells fetch defused)
        row = {k: str(v).strip() for k, v in row.items() if k}
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
    return rows, problems


def normalise_dates(record: dict[str, str]) -> list[Problem]:
    """Write the record's date columns as ISO dates, in place, by one rule:
    an ISO date or date and time (``2024-05-17``, ``2024-05-17T09:00``) or a
    date with its month named (``17 May 2024``, ``May 17, 2024``) becomes
    ``2024-05-17``; a year or a year and month (``2024``, ``2024-05``) stays
    as it is. Anything else (``01/02/2024``, which is the first of February or
    the second of January, ``May``, ``now``, ``2024-13``) is kept as written
    and listed: nothing is guessed."""
    problems = []
    for column in config.DATE_COLUMNS:
        value = str(record.get(column, "")).strip()
        if not value or PARTIAL_DATE.match(value):
            continue
        found = _date(value)
        if found is None:
            problems.append(
                Problem(
                    record["doc"],
                    f"{record['doc']}: `{column}` {value!r} is not a date in a form that says "
                    "which (2024-05-17, 2024-05, 2024, 17 May 2024); kept as written, left out "
                    "of the time view",
                    "kept",
                )
            )
            continue
        record[column] = found
    return problems


def _date(value: str) -> str | None:
    """``value`` as an ISO date when it is one by the rule of
    :func:`normalise_dates`, else None."""
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(value).date().isoformat()
    except ValueError:
        pass
    for form in NAMED_MONTH_FORMS:
        try:
            return dt.datetime.strptime(value, form).date().isoformat()
        except ValueError:
            continue
    return None


def is_iso_date(value: object) -> bool:
    """Whether a date column's value is an ISO date, full or partial."""
    return bool(ISO_DATE.match(str(value)))


def metadata_columns(documents: pd.DataFrame) -> list[str]:
    """The documents table's metadata columns (all but the corpus's own)."""
    own = {"doc", "title", "text", "sha256", "source", "words"}
    return [c for c in documents.columns if c not in own]
