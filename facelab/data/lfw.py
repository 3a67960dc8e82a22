"""LFW (Labeled Faces in the Wild) in its official layout, with the official pair lists.

Layout: ``lfw/lfw/<Name>/<Name>_NNNN.jpg`` under the data home, beside
``pairsDevTrain.txt``, ``pairsDevTest.txt`` (View 1) and optionally
``pairs.txt`` (View 2). The copy in this workplace is a greyscale re-encoding
(see datasets/lfw.md); colour copies load the same way.
"""
from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..errors import BadInputError
from ..preprocess import read_image, resize as resize_image
from ._common import FaceSet, locate, read_text_lines

NAME = "lfw"
HOW = ("Run `facelab data fetch lfw` on a machine with internet (scikit-learn's official LFW download, "
       "checksums verified), or put the official 'lfw/<Name>/<Name>_NNNN.jpg' folder and the pair lists "
       "into $FACELAB_DATA/lfw/ (see datasets/lfw.md).")


def path(root=None) -> Path:
    return locate(NAME, NAME, "lfw", HOW, root)


def _image_file(images: Path, name: str, number: int) -> Path:
    return images / name / f"{name}_{int(number):04d}.jpg"


def image_path(name: str, number: int, root=None) -> Path:
    return _image_file(path(root) / "lfw", name, number)


def people_counts(root=None) -> Counter:
    """Images per person present on disk."""
    base = path(root) / "lfw"
    return Counter({p.name: sum(1 for _ in p.glob("*.jpg")) for p in base.iterdir() if p.is_dir()})


def load_lfw_people(min_faces_per_person: int = 20, root=None, resize: int | None = None,
                    names: list[str] | None = None, progress: bool = True) -> FaceSet:
    """Everyone with at least ``min_faces_per_person`` images (or exactly ``names``), sorted by name.

    Labels index the sorted names, as scikit-learn's ``fetch_lfw_people`` does.
    ``resize`` gives square images of that side (full 250x250 otherwise).
    """
    counts = people_counts(root)
    chosen = sorted(names) if names is not None else sorted(n for n, c in counts.items() if c >= min_faces_per_person)
    base = path(root) / "lfw"
    files = [(k, f) for k, n in enumerate(chosen) for f in sorted((base / n).glob("*.jpg"))]
    images = []
    for _, f in tqdm(files, desc=f"LFW (>= {min_faces_per_person} per person)", disable=not progress, leave=False):
        img = read_image(f)
        images.append(resize_image(img, resize) if resize else img)
    arr = np.stack(images) if images else np.zeros((0, 250, 250), np.uint8)
    return FaceSet(arr, np.array([k for k, _ in files], dtype=int), chosen, [str(f) for _, f in files])


@dataclass(frozen=True)
class Pair:
    """One verification pair: two image paths, whether they show the same person, and the fold (View 2) or 0."""

    name1: str
    number1: int
    name2: str
    number2: int
    same: bool
    fold: int = 0


def read_pairs(pairs_file, root=None, check_images: bool = True) -> list[Pair]:
    """Parse an official LFW pair list, in either official format.

    * View 1 (``pairsDevTrain.txt`` / ``pairsDevTest.txt``): first line ``N``, then N
      same-person lines ``name i j`` and N different-person lines ``name1 i name2 j``.
    * View 2 (``pairs.txt``): first line ``folds N``, then for each fold N same and N different lines.

    A malformed line, a pair listed twice (in either order) or a pair naming a missing
    image raises :class:`BadInputError` naming the file and line; so does a file that is
    not UTF-8 text (a BOM is accepted).
    """
    pairs_file = Path(pairs_file)
    lines = [(k, ln) for k, ln in read_text_lines(pairs_file, "a pairs file") if ln.strip()]
    if not lines:
        raise BadInputError(pairs_file, "empty pairs file")
    head_line, head_text = lines[0]
    head = head_text.split()
    try:
        if len(head) not in (1, 2):
            raise ValueError
        folds, per_kind = (1, int(head[0])) if len(head) == 1 else (int(head[0]), int(head[1]))
    except ValueError:
        raise BadInputError(pairs_file, f"line {head_line}: expected 'N' or 'folds N', got {head_text[:80]!r}") from None
    if folds < 1 or per_kind < 1:
        raise BadInputError(pairs_file, f"line {head_line}: the pair count and the number of folds must be at least 1, "
                                        f"got {head_text[:80]!r}")
    expected = folds * 2 * per_kind
    if len(lines) - 1 != expected:
        raise BadInputError(pairs_file, f"header announces {expected} pairs ({folds} fold(s) x 2 x {per_kind}) "
                                        f"but the file has {len(lines) - 1}")
    images = path(root) / "lfw" if check_images else None
    pairs, seen = [], {}
    for idx, (lineno, line) in enumerate(lines[1:]):
        fold, within = divmod(idx, 2 * per_kind)
        same_expected = within < per_kind
        pair = _parse_pair(pairs_file, lineno, line, fold)
        if pair.same != same_expected:
            raise BadInputError(pairs_file, f"line {lineno}: a {'same' if pair.same else 'different'}-person pair "
                                            f"where the official order expects the other kind")
        key = tuple(sorted([(pair.name1, pair.number1), (pair.name2, pair.number2)]))  # a pair in either order
        if key in seen:
            raise BadInputError(pairs_file, f"line {lineno}: the same pair as line {seen[key]}; "
                                            f"a pair listed twice would be scored twice")
        seen[key] = lineno
        if check_images:
            for n, i in ((pair.name1, pair.number1), (pair.name2, pair.number2)):
                p = _image_file(images, n, i)
                try:
                    exists = p.is_file()
                except (OSError, ValueError):  # a name too long for the file system, a NUL byte
                    exists = False
                if not exists:
                    raise BadInputError(pairs_file, f"line {lineno}: names image {str(p)[:300]}, which does not exist")
        pairs.append(pair)
    return pairs


def _parse_pair(pairs_file: Path, lineno: int, line: str, fold: int) -> Pair:
    parts = line.split()
    try:
        if len(parts) == 3:
            pair = Pair(parts[0], int(parts[1]), parts[0], int(parts[2]), True, fold)
        elif len(parts) == 4:
            pair = Pair(parts[0], int(parts[1]), parts[2], int(parts[3]), False, fold)
        else:
            raise ValueError
    except ValueError:  # also a number of more than 4300 digits
        raise BadInputError(pairs_file, f"line {lineno}: expected 'name i j' or 'name1 i name2 j', "
                                        f"got {line[:80]!r}") from None
    if not (1 <= pair.number1 <= _MAX_IMAGE_NUMBER and 1 <= pair.number2 <= _MAX_IMAGE_NUMBER):
        raise BadInputError(pairs_file, f"line {lineno}: image numbers must be 1..{_MAX_IMAGE_NUMBER}, got {line[:80]!r}")
    return pair


#: LFW numbers a person's images _0001 to _0530 (George W. Bush); the file name format allows 4 digits
_MAX_IMAGE_NUMBER = 9999


def pair_paths(pairs: list[Pair], root=None) -> tuple[list[Path], list[Path], np.ndarray]:
    """Image paths of both sides and the same/different labels (1/0)."""
    images = path(root) / "lfw"  # located once, not once per image
    a = [_image_file(images, p.name1, p.number1) for p in pairs]
    b = [_image_file(images, p.name2, p.number2) for p in pairs]
    return a, b, np.array([int(p.same) for p in pairs])


def pair_people(pairs_file, root=None) -> set[str]:
    """Everyone named in a pair list: the identities an embedding must not train on (View 1 rule)."""
    return {n for p in read_pairs(pairs_file, root, check_images=False) for n in (p.name1, p.name2)}


def fetch(target_root: Path) -> dict:
    """Download the official LFW with scikit-learn (it verifies the archive's sha256) into the facelab layout."""
    from sklearn.datasets import fetch_lfw_pairs, fetch_lfw_people

    cache = target_root / "_sklearn_cache"
    fetch_lfw_people(data_home=cache, funneled=False, download_if_missing=True, min_faces_per_person=0, resize=0.1)
    for subset in ("train", "test", "10_folds"):
        fetch_lfw_pairs(data_home=cache, subset=subset, funneled=False, download_if_missing=True, resize=0.1)
    src = cache / "lfw_home"
    dest = target_root / NAME
    dest.mkdir(parents=True, exist_ok=True)
    if not (dest / "lfw").exists():
        shutil.copytree(src / "lfw", dest / "lfw")
    for f in ("pairsDevTrain.txt", "pairsDevTest.txt", "pairs.txt"):
        shutil.copy2(src / f, dest / f)
    n_images = sum(1 for _ in (dest / "lfw").rglob("*.jpg"))
    if n_images != 13233:
        raise BadInputError(dest / "lfw", f"expected the official 13,233 images, found {n_images}")
    for f, n in (("pairsDevTrain.txt", 2200), ("pairsDevTest.txt", 1000), ("pairs.txt", 6000)):
        got = len(read_pairs(dest / f, root=target_root))
        if got != n:
            raise BadInputError(dest / f, f"expected {n} pairs, parsed {got}")
    return {"images": n_images, "path": str(dest)}
