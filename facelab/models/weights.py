"""Weights I/O: one location for shipped weights and one loader for each kind of file, every failure a clear
error that names the file (missing, truncated, not a Keras file, a config that is missing or unreadable)."""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

from ..config import WEIGHTS_DIR  # noqa: F401 (the shipped weights, cards and configs: package data, all in the wheel)
from ..errors import BadInputError, FacelabError


def weights_path(name, suffix: str = ".keras") -> Path:
    """A shipped file by stem (``"affect_expression_cnn"`` -> ``facelab/weights/affect_expression_cnn.keras``) or
    a path given as it is (anything with a suffix or a folder part)."""
    path = Path(name)
    if path.suffix or len(path.parts) > 1:
        return path
    return WEIGHTS_DIR / f"{name}{suffix}"


def _require(path: Path, retrain: str | None) -> Path:
    if not path.is_file():
        how = f"; retrain them with `{retrain}` (see the model card)" if retrain else ""
        where = "shipped weights are missing from the installed package" if path.parent == WEIGHTS_DIR else "not found"
        raise FacelabError(f"{path}: {where}{how}")
    return path


def load_keras(name, retrain: str | None = None):
    """A ``.keras`` model for inference (uncompiled; Keras's safe mode refuses lambda layers)."""
    import keras

    path = _require(weights_path(name), retrain)
    if not zipfile.is_zipfile(path):
        raise BadInputError(path, "not a Keras .keras file (a .keras file is a zip archive; this one is truncated "
                                  "or of another format)")
    try:
        return keras.saving.load_model(path, compile=False)
    except (ValueError, OSError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        raise BadInputError(path, f"cannot load this Keras model: {str(exc).splitlines()[0][:300]}") from None


def load_json(name, retrain: str | None = None) -> dict:
    """A shipped JSON file (an inference config, a training summary): never a silent default when it is missing."""
    path = _require(weights_path(name, ".json"), retrain)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInputError(path, f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadInputError(path, "expected a JSON object")
    return data


def load_npz(name, retrain: str | None = None):
    """A shipped ``.npz`` (numpy arrays, no pickle)."""
    import numpy as np

    path = _require(weights_path(name, ".npz"), retrain)
    try:
        return dict(np.load(path, allow_pickle=False))
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise BadInputError(path, f"not a readable .npz file ({exc})") from None


def file_version(path) -> str:
    """A short content hash of a weights file: the version a gallery records beside the embeddings it made."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]
