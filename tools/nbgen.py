"""Build notebooks from a compact list of cells (no outputs stored).

Why a script: notebooks are JSON and hard to review in diffs; each stage keeps
its notebook's source in a `tools/nb_<stage>.py` file that calls `write()`.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def stable_ids(nb, stage: str):
    """Stable cell ids, so regenerating a notebook gives a clean diff."""
    for i, cell in enumerate(nb.cells):
        cell.id = f"{stage}-{i:02d}"
    return nb


def save(cells, path, stage: str, requires=(), title: str = "") -> Path:
    """Write nbformat cells as a notebook: stable cell ids, kernel and facelab metadata, validated.
    Every ``tools/nb_*.py`` source ends here, so all notebooks carry the same metadata."""
    nb = new_notebook(cells=list(cells))
    stable_ids(nb, stage)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["facelab"] = {"stage": stage, "requires": list(requires), "title": title}
    path = Path(path)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return path


def write(path, cells, stage: str, requires=(), title: str = "") -> Path:
    """``cells``: list of ("md" | "code" | "params", source)."""
    built = []
    for kind, src in cells:
        src = src.strip("\n")
        if kind == "md":
            built.append(new_markdown_cell(src))
        else:
            cell = new_code_cell(src)
            if kind == "params":
                cell.metadata["tags"] = ["parameters"]
            built.append(cell)
    return save(built, path, stage, requires, title)
