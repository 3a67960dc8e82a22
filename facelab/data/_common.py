"""Shared pieces of the data layer: locating a data set and checking its checksums."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import data_home
from ..errors import DatasetNotFoundError


@dataclass
class FaceSet:
    """Images with integer labels and the names behind them.

    ``images`` is a uint8 array (N, H, W) when all images share a size, else a list.
    """

    images: np.ndarray | list
    labels: np.ndarray
    names: list[str]
    paths: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index) -> "FaceSet":
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        imgs = self.images[index] if isinstance(self.images, np.ndarray) else [self.images[i] for i in index]
        paths = [self.paths[i] for i in index] if self.paths else []
        return FaceSet(imgs, self.labels[index], self.names, paths)


def locate(name: str, folder: str, marker: str, how: str, root: Path | None = None) -> Path:
    """The data set's folder under the data home, or a :class:`DatasetNotFoundError` saying where we looked and how to get it."""
    base = Path(root) if root is not None else data_home()
    path = base / folder
    if not (path / marker).exists():
        raise DatasetNotFoundError(name, str(path / marker), how)
    return path


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def verify_sha256sums(root: Path, sums_file: Path) -> dict:
    """Check every line ``<sha256>  <relative path>`` of ``sums_file`` against files under ``root``.

    Returns counts and the first few bad files, so ``facelab data list`` can say what failed.
    """
    checked, missing, mismatched = 0, [], []
    for line in Path(sums_file).read_text().splitlines():
        if not line.strip():
            continue
        digest, rel = line.split(maxsplit=1)
        rel = rel.strip().lstrip("*")
        target = root / rel
        if target.resolve() == Path(sums_file).resolve():
            continue  # a list cannot contain its own hash (the Caltech list names itself)
        if not target.exists():
            missing.append(rel)
            continue
        checked += 1
        if sha256_file(target) != digest.lower():
            mismatched.append(rel)
    return {"ok": not missing and not mismatched and checked > 0, "checked": checked,
            "missing": missing[:10], "n_missing": len(missing),
            "mismatched": mismatched[:10], "n_mismatched": len(mismatched)}
