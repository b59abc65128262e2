"""Errors: one base class, one subclass per situation a user can fix.

Every mistake a user can make (a bad corpus file, codebook entry, table,
flag value, metadata column, model file) raises a subclass of
:class:`ClaimscopeError` whose message names the file, entry or line and
says what to do. ``analysis.cli.main`` catches the base class once and
prints the message, never a traceback. They subclass ``ValueError`` too, so
code that caught ``ValueError`` keeps working.
"""

from __future__ import annotations


class ClaimscopeError(ValueError):
    """Base of every error a user can fix; the message says what and where."""


class CorpusError(ClaimscopeError):
    """A corpus file cannot be read; the message names the file."""


class CodebookError(ClaimscopeError):
    """The codebook cannot be used; the message names the file and the entry."""


class ModelError(ClaimscopeError):
    """A model cannot be read or does not fit this codebook; the message names the file."""


class TableFormatError(ClaimscopeError):
    """A table file cannot be read or written: its suffix or its columns."""


class SheetError(ClaimscopeError):
    """A coded sheet holds a value the codebook does not know."""


class QdpxError(ClaimscopeError):
    """A project file that cannot be read; the message names it."""


class TrainingError(ClaimscopeError):
    """Training inputs that do not fit together; the message says which."""


class GroupingError(ClaimscopeError):
    """The documents have no such metadata column to compare groups by."""


class FetchError(ClaimscopeError):
    """A list of addresses or a fetch option that cannot be used."""


class ParameterError(ClaimscopeError):
    """A command's option or a notebook's parameter has a value it cannot take."""


class OutputError(ClaimscopeError):
    """An output path that cannot be written; checked before the work."""


class ReportError(ClaimscopeError):
    """A report folder that cannot be written now (another run holds it)."""
