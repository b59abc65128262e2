"""Read and write tables by file suffix, atomically.

The formats are the entries of :data:`FORMATS`, by suffix (``.csv``,
``.parquet``, ``.jsonl``): adding one is one entry. A table is written to a
temporary file beside its target and renamed into place
(:func:`analysis.files.atomic_write`), so an interrupted run never leaves a
half-written file that a later run would trust.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from analysis.errors import OutputError, ParameterError, TableFormatError
from analysis.files import atomic_write


class TableFormat(NamedTuple):
    """How one table format is read (``read(path, typed)``) and written
    (``write(df, tmp_path)``)."""

    read: Callable[[Path, bool], pd.DataFrame]
    write: Callable[[pd.DataFrame, Path], None]


# CSV and XLSX are opened in spreadsheets: their text cells are defused on
# the way out and restored on the way in (:func:`defuse`, :func:`restore`).
def read_delimited(path: Path, separator: str | None = None, typed: bool = True) -> pd.DataFrame:
    """A CSV or TSV as a spreadsheet may have saved it: in any encoding the
    corpus reader decodes (a byte order mark's, UTF-8, else Windows-1252 or
    the like, :func:`analysis.readers.decode`), with the separator it used
    (comma, semicolon, tab or bar, sniffed from its first lines unless
    given), its cells read as written (no "NA" becomes missing; with
    ``typed``, a column of numbers is read as numbers). A damaged row is an
    error naming the file and the line."""
    import csv
    import io

    from analysis.errors import CorpusError
    from analysis.readers import decode

    try:
        text, _ = decode(path.read_bytes(), path)
    except CorpusError as exc:
        raise TableFormatError(f"{exc} (a table must be text)") from None
    if separator is None:
        head = "\n".join(text.splitlines()[:20])
        try:
            separator = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
        except csv.Error:
            separator = ","
    try:
        table = pd.read_csv(
            io.StringIO(text), sep=separator, keep_default_na=False, na_values=[], dtype=str
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise TableFormatError(f"{path}: not a table this project can read ({exc})") from None
    return restored(table.apply(_numbers) if typed else table)


def _numbers(column: pd.Series) -> pd.Series:
    """A column of numbers (or of True/False) written as text read back as
    such, as pandas reads a CSV; any other column stays text as written."""
    if column.empty or (column == "").any():
        return column
    if column.isin(["True", "False"]).all():
        return column == "True"
    try:
        return pd.to_numeric(column)
    except (ValueError, TypeError):
        return column


FORMATS: dict[str, TableFormat] = {
    ".csv": TableFormat(
        read=lambda path, typed: read_delimited(path, None, typed),
        write=lambda df, tmp: spreadsheet_safe(df).to_csv(tmp, index=False),
    ),
    ".tsv": TableFormat(
        read=lambda path, typed: read_delimited(path, "\t", typed),
        write=lambda df, tmp: spreadsheet_safe(df).to_csv(tmp, index=False, sep="\t"),
    ),
    ".parquet": TableFormat(
        read=lambda path, typed: pd.read_parquet(path),
        write=lambda df, tmp: df.to_parquet(tmp, index=False),
    ),
    ".xlsx": TableFormat(
        read=lambda path, typed: read_workbook(path, typed),
        write=lambda df, tmp: spreadsheet_safe(df).to_excel(tmp, index=False, engine="openpyxl"),
    ),
    ".jsonl": TableFormat(
        read=lambda path, typed: read_json_lines(path),
        write=lambda df, tmp: df.to_json(tmp, orient="records", lines=True, force_ascii=False),
    ),
}


# A workbook a project reads (a coding sheet, a metadata table) unpacks to no more.
MAX_WORKBOOK_BYTES = 50_000_000


def read_workbook(path: Path, typed: bool = True) -> pd.DataFrame:
    """The first sheet of an .xlsx, its parts' size counted as they inflate
    first (a small file can hold a huge shared-strings part), its XML read
    by openpyxl (which uses defusedxml); without ``typed``, every cell as
    text."""
    import zipfile

    from analysis.bounded import zip_size

    try:
        with zipfile.ZipFile(path) as package:
            size = zip_size(package, MAX_WORKBOOK_BYTES)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise TableFormatError(f"{path}: not an .xlsx workbook ({exc})") from None
    if size > MAX_WORKBOOK_BYTES:
        raise TableFormatError(
            f"{path}: unpacks to over {MAX_WORKBOOK_BYTES:,} bytes, the limit (a zip bomb?)"
        )
    try:
        cells = {} if typed else {"dtype": str, "keep_default_na": False}  # "NA" stays "NA"
        table = pd.read_excel(path, engine="openpyxl", **cells)
        return restored(table if typed else table.fillna(""))
    except (KeyError, ValueError, SyntaxError, zipfile.BadZipFile) as exc:
        raise TableFormatError(f"{path}: not a readable .xlsx workbook ({exc})") from None


def read_json_lines(path: Path) -> pd.DataFrame:
    """A JSON Lines table, one record a line; a line that is no JSON record
    is an error naming the file and the line."""
    import json

    rows = []
    with open(path, encoding="utf-8-sig", errors="strict") as f:
        try:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise TableFormatError(f"{path}: line {n} is not JSON ({exc})") from None
                if not isinstance(row, dict):
                    raise TableFormatError(f"{path}: line {n} is not a record (a JSON object)")
                rows.append(row)
        except UnicodeDecodeError as exc:
            raise TableFormatError(f"{path}: not UTF-8 text ({exc.reason})") from None
    return pd.DataFrame(rows)


def restored(df: pd.DataFrame) -> pd.DataFrame:
    """A table read from CSV or XLSX with its defused cells restored."""
    return _each_text_cell(df, restore)


def _check_suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise TableFormatError(
            f"{path}: unknown table format {suffix or '(none)'}; use one of {', '.join(FORMATS)}"
        )
    return suffix


# A cell a spreadsheet would run as a formula (CSV/formula injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: object) -> object:
    """A text cell a spreadsheet would run as a formula ("=HYPERLINK(...)"
    in a scraped title), prefixed with an apostrophe as OWASP advises: shown
    as text, never run. A text that already starts with an apostrophe
    before such a character gets one more, so that :func:`restore` gives
    back exactly what was written."""
    if isinstance(value, str) and (
        value.startswith(FORMULA_START) or value[:1] == "'" and value[1:2] in (*FORMULA_START, "'")
    ):
        return "'" + value
    return value


def restore(value: object) -> object:
    """The cell :func:`defuse` was given."""
    if isinstance(value, str) and value[:1] == "'" and value[1:2] in (*FORMULA_START, "'"):
        return value[1:]
    return value


# The first characters of the only cells defuse or restore change.
CHANGED_START = (*FORMULA_START, "'")


def _each_text_cell(df: pd.DataFrame, change: Callable[[object], object]) -> pd.DataFrame:
    """``df`` with ``change`` (:func:`defuse` or :func:`restore`) applied to
    its headers and to each text cell that starts with one of
    ``CHANGED_START`` (any other it gives back as it is)."""
    out = df.copy()
    out.columns = [change(str(c)) for c in out.columns]
    for column in out.columns:
        values = out[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            try:
                may = values.str[:1].isin(CHANGED_START).any()
            except AttributeError:  # a column of no text at all (every cell empty)
                may = True
            if may:
                out[column] = values.map(change)
    return out


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """The table with every text cell and header defused (:func:`defuse`)."""
    return _each_text_cell(df, defuse)


def write_for_spreadsheets(df: pd.DataFrame, path: str | Path) -> Path:
    """A table for people to open in Excel or LibreOffice: CSV with a byte
    order mark (Excel then reads UTF-8) or XLSX; formulas are defused as in
    every CSV and XLSX this project writes."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        safe = spreadsheet_safe(df)
        return atomic_write(path, lambda tmp: safe.to_csv(tmp, index=False, encoding="utf-8-sig"))
    return write_table(df, path)


def check_output(path: str | Path, table: bool = True) -> Path:
    """Refuse, before any work is done, an output that cannot be written:
    an unknown table suffix (``table``), a path that is a folder, a folder
    that cannot be made or written to."""
    path = Path(path)
    if table:
        _check_suffix(path)
        if path.is_dir():
            raise OutputError(f"{path}: is a folder; name a file to write")
    folder = path.parent if table else path
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot make the output folder ({exc.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{folder}: the output folder is not writable")
    return path


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` to ``path`` in the format its suffix names."""
    path = Path(path)
    write = FORMATS[_check_suffix(path)].write
    return atomic_write(path, lambda tmp: write(df, tmp))


def read_table(path: str | Path, typed: bool = True) -> pd.DataFrame:
    """The one reader of every table the project reads back: one written
    by :func:`write_table`, a folder of Parquet partitions (``analysis
    extract --engine dask``), or a user's table (metadata, coding sheets,
    sources, address lists) as a spreadsheet saved it. Without ``typed``,
    the cells of a CSV, TSV or XLSX are text exactly as written (no column
    becomes numbers)."""
    path = Path(path)
    if path.is_dir():
        return pd.read_parquet(path)
    read = FORMATS[_check_suffix(path)].read
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such table")
    return read(path, typed)


def query(sql: str, **tables: str | Path) -> pd.DataFrame:
    """Run SQL with DuckDB over tables on disk without loading them into
    pandas first: each keyword names a view of a Parquet file, a folder of
    Parquet partitions (``analysis extract --engine dask``), or a CSV file.

        query("select type, count(*) as n from claims group by type",
              claims="reports/data/claims.parquet")
    """
    import duckdb

    with duckdb.connect() as con:
        for name, path in tables.items():
            if not name.isidentifier():
                raise ParameterError(f"{name!r}: a table name must be an identifier")
            path = Path(path)
            source = str(path / "*.parquet") if path.is_dir() else str(path)
            read = con.read_csv if path.suffix.lower() == ".csv" else con.read_parquet
            read(source).create_view(name)
        return con.execute(sql).df()
