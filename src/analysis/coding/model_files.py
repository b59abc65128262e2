"""Where a model lies on disk: ``NAME.npz`` (its arrays) and ``NAME.json``
(its manifest). Kept apart from :mod:`analysis.coding.learned` so that what
only needs the paths (a report run checking whether anything changed) does
not load scikit-learn."""

from __future__ import annotations

from pathlib import Path


def files_of(path: str | Path) -> tuple[Path, Path]:
    """The model's arrays and manifest: ``PATH.npz`` and ``PATH.json`` (a
    path given with either suffix names the same model)."""
    base = Path(path)
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


def model_files(path: str | Path | None) -> tuple[Path, ...]:
    """The files of the model at ``path``; none for no model ("none")."""
    if path is None or str(path).lower() == "none":
        return ()
    return files_of(path)
