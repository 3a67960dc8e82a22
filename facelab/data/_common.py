"""Shared pieces of the data layer: locating a data set and checking its checksums."""
from __future__ import annotations

import codecs
import csv
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..config import data_home
from ..errors import BadInputError, DatasetNotFoundError
from ..preprocess import check_input_file, read_bytes

#: largest line-based text file read whole (pair lists, box lists, checksum lists); the official ones are under 1 MB
MAX_TEXT_BYTES = 64_000_000
#: longest CSV line read (a FER2013 row is about 9 kB); bounds memory before the csv module sees the line
MAX_CSV_LINE_BYTES = 1_000_000


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
    for lineno, line in read_text_lines(sums_file, "a checksum list"):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64 or any(c not in "0123456789abcdefABCDEF" for c in parts[0]):
            raise BadInputError(sums_file, f"line {lineno}: expected '<sha256>  <path>', got {line[:80]!r}")
        digest, rel = parts
        rel = rel.strip().lstrip("*")
        target = root / rel
        if target.resolve() == Path(sums_file).resolve():
            continue  # a list cannot contain its own hash (the Caltech list names itself)
        if not target.is_file():
            missing.append(rel)
            continue
        checked += 1
        if sha256_file(target) != digest.lower():
            mismatched.append(rel)
    return {"ok": not missing and not mismatched and checked > 0, "checked": checked,
            "missing": missing[:10], "n_missing": len(missing),
            "mismatched": mismatched[:10], "n_mismatched": len(mismatched)}


def _bad_utf8(path, data: bytes, exc: UnicodeDecodeError, first_line: int = 1) -> BadInputError:
    line = first_line + data.count(b"\n", 0, exc.start)
    return BadInputError(path, f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8")


def read_text_lines(path, what: str = "a text file") -> list[tuple[int, str]]:
    """``(line number, text)`` for each line of a UTF-8 text file (a BOM is allowed), at most :data:`MAX_TEXT_BYTES`.

    Lines are split at ``\\n`` only (``\\r\\n`` works too), so the numbers are the ones an editor shows;
    bad bytes raise :class:`BadInputError` naming the file and line.
    """
    data = read_bytes(path, MAX_TEXT_BYTES, what)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad_utf8(path, data, exc) from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [(k, line.removesuffix("\r")) for k, line in enumerate(lines, start=1)]


@contextmanager
def csv_rows(path, what: str = "a CSV file") -> Iterator[Iterator[tuple[int, list[str]]]]:
    """Stream ``(line number, fields)`` of a UTF-8 CSV file (a BOM is allowed), turning every reading error into
    :class:`BadInputError` with the file and line.

    Decoding and parsing errors (not UTF-8, binary garbage, an unclosed quote, a field past
    ``csv.field_size_limit()``) surface while iterating, so they are caught around it. The
    line number is the physical line where a record begins (a quoted field may span lines).
    """
    path = Path(path)
    check_input_file(path, what)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise BadInputError(path, f"cannot read {what}: {exc.strerror or exc}") from None
    with f:
        # An incremental decoder on raw lines (not TextIOWrapper, which decodes 8 kB ahead) so a decoding error
        # is met on its own line.
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        state = {"line": 0}

        def text_lines():
            while True:
                raw = f.readline(MAX_CSV_LINE_BYTES + 1)
                if not raw:
                    break
                state["line"] += 1
                if len(raw) > MAX_CSV_LINE_BYTES:
                    raise BadInputError(path, f"line {state['line']}: longer than {MAX_CSV_LINE_BYTES:,} bytes")
                try:
                    yield decoder.decode(raw)
                except UnicodeDecodeError as exc:
                    raise _bad_utf8(path, raw, exc, state["line"]) from None
            try:
                decoder.decode(b"", final=True)  # a character cut at the end of the file
            except UnicodeDecodeError:
                raise BadInputError(path, f"line {state['line']}: not UTF-8 text (the file ends inside a "
                                          f"character); save the file as UTF-8") from None

        reader = csv.reader(text_lines(), strict=True)

        def rows():
            while True:
                start = state["line"] + 1  # where the next record begins
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise BadInputError(path, f"line {start}: not a valid CSV record ({exc})") from None
                yield start, row

        yield rows()
