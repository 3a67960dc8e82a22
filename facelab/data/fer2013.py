"""FER2013: 48x48 greyscale faces, 7 expression classes, official Training / PublicTest / PrivateTest.

Two sources: the official Kaggle CSV (``emotion,pixels,Usage``) and the npz
cache facelab writes from it (the layout of ``fer2013/fer2013.npz``: arrays
``train_x/train_y/train_ids``, ``val_x/...`` for PublicTest, ``test_x/...`` for
PrivateTest when present, and ``label_names``).
"""
from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadInputError
from ._common import locate

NAME = "fer2013"
LABEL_NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
HOW = ("Download the official fer2013.csv from the Kaggle 'Challenges in Representation Learning: Facial "
       "Expression Recognition Challenge' page (login required), then run "
       "`facelab data prepare fer2013 --csv fer2013.csv` (see datasets/fer2013.md).")


@dataclass
class FerSplit:
    x: np.ndarray  # uint8 (N, 48, 48)
    y: np.ndarray  # int64 (N,)
    ids: np.ndarray  # str (N,)

    def __len__(self) -> int:
        return len(self.y)


def path(root=None) -> Path:
    return locate(NAME, NAME, "fer2013.npz", HOW, root)


def load_fer2013(root=None, npz: str | Path | None = None) -> dict[str, FerSplit]:
    """Splits ``train`` (Training), ``val`` (PublicTest) and, if present, ``test`` (PrivateTest)."""
    file = Path(npz) if npz is not None else path(root) / "fer2013.npz"
    try:
        data = np.load(file, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BadInputError(file, f"not a readable npz file: {exc}") from exc
    out = {}
    for split in ("train", "val", "test"):
        if f"{split}_x" in data.files:
            x, y = data[f"{split}_x"], data[f"{split}_y"].astype(np.int64)
            ids = data[f"{split}_ids"] if f"{split}_ids" in data.files else np.array([f"{split}_{i}" for i in range(len(y))])
            if x.ndim != 3 or x.shape[1:] != (48, 48) or len(x) != len(y):
                raise BadInputError(file, f"{split}_x has shape {x.shape}, expected (N, 48, 48) with N = len({split}_y) = {len(y)}")
            out[split] = FerSplit(x.astype(np.uint8), y, ids)
    if "train" not in out and "val" not in out:
        raise BadInputError(file, "holds neither train_x nor val_x arrays")
    return out


def read_fer_csv(csv_path, usage: str | None = None) -> dict[str, FerSplit]:
    """Read the official CSV layout; a malformed row raises :class:`BadInputError` with its line number.

    ``usage`` (Training / PublicTest / PrivateTest) keeps one split only. Row ids are
    ``<Usage>_row<line>`` since the CSV has no file names.
    """
    csv_path = Path(csv_path)
    if not csv_path.exists():
        raise BadInputError(csv_path, "no such CSV file")
    if usage is not None and usage not in USAGE_TO_SPLIT:
        raise BadInputError(csv_path, f"unknown usage {usage!r}; expected one of {sorted(USAGE_TO_SPLIT)}")
    rows: dict[str, tuple[list, list, list]] = {}
    with open(csv_path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise BadInputError(csv_path, "empty file")
        header = [h.strip() for h in header]
        if header[:2] != ["emotion", "pixels"]:
            raise BadInputError(csv_path, f"line 1: expected the header 'emotion,pixels,Usage', got {','.join(header)!r}")
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) < 2 or (len(header) > 2 and len(row) != len(header)):
                raise BadInputError(csv_path, f"line {lineno}: expected {len(header)} fields, got {len(row)}")
            row_usage = row[2].strip() if len(row) > 2 else "Training"
            if row_usage not in USAGE_TO_SPLIT:
                raise BadInputError(csv_path, f"line {lineno}: unknown Usage {row_usage!r}")
            if usage is not None and row_usage != usage:
                continue
            try:
                label = int(row[0])
            except ValueError:
                raise BadInputError(csv_path, f"line {lineno}: emotion {row[0]!r} is not an integer") from None
            if not 0 <= label < len(LABEL_NAMES):
                raise BadInputError(csv_path, f"line {lineno}: emotion {label} outside 0..6")
            try:
                pixels = np.array(row[1].split(), dtype=np.int64)
            except ValueError:
                raise BadInputError(csv_path, f"line {lineno}: pixels are not all integers") from None
            if pixels.size != 48 * 48:
                raise BadInputError(csv_path, f"line {lineno}: {pixels.size} pixel values, expected 2304 (48x48)")
            if pixels.min() < 0 or pixels.max() > 255:
                raise BadInputError(csv_path, f"line {lineno}: pixel values outside 0..255")
            xs, ys, ids = rows.setdefault(USAGE_TO_SPLIT[row_usage], ([], [], []))
            xs.append(pixels.reshape(48, 48).astype(np.uint8))
            ys.append(label)
            ids.append(f"{row_usage}_row{lineno}")
    if not rows:
        raise BadInputError(csv_path, "no data rows" + (f" with Usage {usage}" if usage else ""))
    return {s: FerSplit(np.stack(x), np.array(y, np.int64), np.array(i)) for s, (x, y, i) in rows.items()}


def prepare_cache(csv_path, out: str | Path | None = None, root=None) -> Path:
    """Turn an official CSV into the npz cache (written atomically: no half-written file on error)."""
    splits = read_fer_csv(csv_path)
    if out is None:
        from ..config import data_home

        out = Path(root or data_home()) / NAME / "fer2013.npz"
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"label_names": np.array(LABEL_NAMES)}
    for s, d in splits.items():
        arrays.update({f"{s}_x": d.x, f"{s}_y": d.y, f"{s}_ids": d.ids})
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=out.parent)
    os.close(fd)
    try:
        np.savez_compressed(tmp, **arrays)
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; a data cache is shared like the data
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out


def train_val_duplicates(splits: dict[str, FerSplit]) -> np.ndarray:
    """Boolean mask over Training: True where the image is an exact pixel copy of a PublicTest image.

    FER2013 repeats ~280 PublicTest faces in Training (SOURCES.md); drop these
    to report without leakage.
    """
    val_keys = {v.tobytes() for v in splits["val"].x}
    return np.array([t.tobytes() in val_keys for t in splits["train"].x])
