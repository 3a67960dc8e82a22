"""FER2013: 48x48 greyscale faces, 7 expression classes, official Training / PublicTest / PrivateTest.

Two sources: the official Kaggle CSV (``emotion,pixels,Usage``) and the npz
cache facelab writes from it (the layout of ``fer2013/fer2013.npz``: arrays
``train_x/train_y/train_ids``, ``val_x/...`` for PublicTest, ``test_x/...`` for
PrivateTest when present, and ``label_names``).
"""
from __future__ import annotations

import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadInputError
from ..preprocess import check_input_file
from ._common import csv_rows, locate

NAME = "fer2013"
LABEL_NAMES = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
SPLIT_TO_USAGE = {v: k for k, v in USAGE_TO_SPLIT.items()}
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


#: what a damaged npz raises while being opened or read: a truncated zip, a cut deflate stream, a bad array header
_NPZ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error)
_NPZ_ARRAYS = {f"{s}_{a}" for s in SPLIT_TO_USAGE for a in ("x", "y", "ids")} | {"label_names"}


def load_fer2013(root=None, npz: str | Path | None = None, usage: str | None = None) -> dict[str, FerSplit]:
    """The splits the npz holds: ``train`` (Training), ``val`` (PublicTest) and ``test`` (PrivateTest).

    ``usage`` (an official name: Training, PublicTest or PrivateTest) reads that split only,
    and is an error if the npz does not hold it. A damaged file (truncated, not a zip, arrays
    of the wrong shape or labels outside 0..6) raises :class:`BadInputError` naming it.
    """
    file = Path(npz) if npz is not None else path(root) / "fer2013.npz"
    wanted = list(SPLIT_TO_USAGE) if usage is None else [_split_of(usage, file)]
    check_input_file(file, "an npz file")
    out = {}
    try:
        data = np.load(file, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise BadInputError(file, "holds a single array, not the npz arrays train_x, train_y, ...")
        with data:
            unknown = sorted(set(data.files) - _NPZ_ARRAYS)
            if unknown:  # a renamed member must not make a split vanish silently
                raise BadInputError(file, f"unknown array {unknown[0][:40]!r}; a fer2013 npz holds only "
                                          f"{', '.join(sorted(_NPZ_ARRAYS))}")
            for split in SPLIT_TO_USAGE:
                if (f"{split}_x" in data.files) != (f"{split}_y" in data.files):
                    raise BadInputError(file, f"holds only one of {split}_x and {split}_y")
            for split in wanted:
                if f"{split}_x" in data.files:
                    out[split] = _read_split(file, data, split)
            present = [SPLIT_TO_USAGE[s] for s in SPLIT_TO_USAGE if f"{s}_x" in data.files]
    except BadInputError:
        raise
    except _NPZ_ERRORS as exc:
        raise BadInputError(file, f"not a readable npz file (truncated or damaged?): {exc}") from None
    if not present:
        raise BadInputError(file, "holds none of the arrays train_x, val_x, test_x")
    if usage is not None and not out:
        raise BadInputError(file, f"holds no {usage} rows ({wanted[0]}_x); it holds {', '.join(present)}")
    return out


def load_fer2013_usage(usage: str, root=None, npz: str | Path | None = None) -> FerSplit:
    """One split by its official name: ``load_fer2013_usage("PrivateTest")`` is the ``test`` split."""
    return next(iter(load_fer2013(root, npz, usage=usage).values()))


def _split_of(usage: str, file) -> str:
    if usage not in USAGE_TO_SPLIT:
        raise BadInputError(file, f"unknown usage {usage!r}; expected one of {', '.join(USAGE_TO_SPLIT)}")
    return USAGE_TO_SPLIT[usage]


def _read_split(file: Path, data, split: str) -> FerSplit:
    x, y = data[f"{split}_x"], data[f"{split}_y"]
    ids = data[f"{split}_ids"] if f"{split}_ids" in data.files else np.array([f"{split}_{i}" for i in range(len(y))])
    if x.ndim != 3 or x.shape[1:] != (48, 48) or y.ndim != 1 or len(x) != len(y) or len(ids) != len(y):
        raise BadInputError(file, f"{split}_x has shape {x.shape}, expected (N, 48, 48) with N = len({split}_y) "
                                  f"= {len(y)} = len({split}_ids) = {len(ids)}")
    if x.dtype != np.uint8 and (x.dtype.kind not in "iu" or (x.size and (x.min() < 0 or x.max() > 255))):
        raise BadInputError(file, f"{split}_x must hold 8-bit pixels, not {x.dtype} values")
    if y.dtype.kind not in "iu" or (len(y) and (y.min() < 0 or y.max() >= len(LABEL_NAMES))):
        raise BadInputError(file, f"{split}_y must hold integer labels 0..{len(LABEL_NAMES) - 1}")
    return FerSplit(x.astype(np.uint8, copy=False), y.astype(np.int64), ids)


def read_fer_csv(csv_path, usage: str | None = None) -> dict[str, FerSplit]:
    """Read the official CSV layout; a malformed row raises :class:`BadInputError` with its line number.

    ``usage`` (Training / PublicTest / PrivateTest) keeps one split only; every row is still
    checked, so a broken row of another usage is not silently skipped. Row ids are
    ``<Usage>_row<line>`` since the CSV has no file names. The file is read as UTF-8
    (a BOM is accepted) by :func:`csv_rows`, so undecodable bytes, an unclosed quote or
    binary garbage are errors naming the line, never a traceback.
    """
    csv_path = Path(csv_path)
    if usage is not None and usage not in USAGE_TO_SPLIT:
        raise BadInputError(csv_path, f"unknown usage {usage!r}; expected one of {sorted(USAGE_TO_SPLIT)}")
    rows: dict[str, tuple[list, list, list]] = {}
    with csv_rows(csv_path, "a CSV file") as records:
        first = next(records, None)
        if first is None:
            raise BadInputError(csv_path, "empty file")
        header = [h.strip() for h in first[1]]
        if header[:2] != ["emotion", "pixels"] or len(header) > 3 or (len(header) == 3 and header[2] != "Usage"):
            raise BadInputError(csv_path, f"line {first[0]}: expected the header 'emotion,pixels,Usage', "
                                          f"got {','.join(header)[:80]!r}")
        for lineno, row in records:
            if not row:
                continue
            if len(row) != len(header):
                raise BadInputError(csv_path, f"line {lineno}: expected {len(header)} fields, got {len(row)}")
            row_usage = row[2].strip() if len(row) > 2 else "Training"
            if row_usage not in USAGE_TO_SPLIT:
                raise BadInputError(csv_path, f"line {lineno}: unknown Usage {row_usage[:40]!r}")
            label, image = _parse_row(csv_path, lineno, row)
            if usage is not None and row_usage != usage:
                continue
            xs, ys, ids = rows.setdefault(USAGE_TO_SPLIT[row_usage], ([], [], []))
            xs.append(image)
            ys.append(label)
            ids.append(f"{row_usage}_row{lineno}")
    if not rows:
        raise BadInputError(csv_path, "no data rows" + (f" with Usage {usage}" if usage else ""))
    return {s: FerSplit(np.stack(x), np.array(y, np.int64), np.array(i)) for s, (x, y, i) in rows.items()}


def _parse_row(csv_path: Path, lineno: int, row: list[str]) -> tuple[int, np.ndarray]:
    """(label, 48x48 uint8 image) of one CSV row, or a :class:`BadInputError` naming the line."""
    try:
        label = int(row[0])
    except ValueError:
        raise BadInputError(csv_path, f"line {lineno}: emotion {row[0][:40]!r} is not an integer") from None
    if not 0 <= label < len(LABEL_NAMES):
        raise BadInputError(csv_path, f"line {lineno}: emotion {label if abs(label) < 10**9 else row[0][:20] + '...'} "
                                      f"outside 0..6")
    try:
        pixels = np.array(row[1].split(), dtype=np.int64)
    except (ValueError, OverflowError):  # OverflowError: a number past int64
        raise BadInputError(csv_path, f"line {lineno}: pixels are not all integers in 0..255") from None
    if pixels.size != 48 * 48:
        raise BadInputError(csv_path, f"line {lineno}: {pixels.size} pixel values, expected 2304 (48x48)")
    if pixels.min() < 0 or pixels.max() > 255:
        raise BadInputError(csv_path, f"line {lineno}: pixel values outside 0..255")
    return label, pixels.reshape(48, 48).astype(np.uint8)


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
