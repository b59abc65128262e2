"""Files written whole or not at all.

A file is written to a temporary file beside its target and renamed into
place (:func:`atomic_write`), so an interrupted run never leaves a
half-written file that a later run would trust. Tables go through
:mod:`analysis.tables`; pages, assets and state through :func:`write_text`.
This module imports nothing but the standard library (a report's worker
process writes pages without loading pandas).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from analysis.errors import OutputError


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file, then rename it to ``path``.
    A file-system error (a full disk) is an :class:`OutputError` naming
    ``path``, whose previous version is left as it was."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; reports are for sharing
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(
                f"{path}: cannot be written ({exc.strerror or exc}); "
                + ("the previous version is left as it was" if path.exists() else "nothing written")
            ) from None
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
